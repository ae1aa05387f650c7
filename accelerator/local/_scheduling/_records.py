"""Schedule records: ``<workspace>/schedules/<name>/schedule.yaml``, updated under the schedule's lock.

A record holds the schedule's REST body (what Azure ML stores), whether it is enabled, and the
scheduler's bookkeeping: the next due time and the last one fired. The client and the scheduler
both write it; every read-modify-write holds the schedule's file lock and is written atomically,
so a due time is claimed by one process only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from azure.ai.ml.exceptions import ErrorTarget
from filelock import FileLock

from accelerator.local._exceptions import user_error
from accelerator.local._store import read_record, remove_tree, write_record

# The ARM rule for schedule names (Microsoft.MachineLearningServices/workspaces/schedules).
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}$")
RECORD = "schedule.yaml"


def check_schedule_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise user_error(
            f"Invalid schedule name '{name}'. A schedule name starts with a letter or digit and "
            "contains only letters, digits, '-' and '_', up to 255 characters.",
            ErrorTarget.SCHEDULE,
        )
    return name


class ScheduleRecords:
    def __init__(self, workspace_dir: Path) -> None:
        self.workspace_dir = workspace_dir
        self.root = workspace_dir / "schedules"

    def folder(self, name: str) -> Path:
        return self.root / check_schedule_name(name)

    def exists(self, name: str) -> bool:
        return (self.folder(name) / RECORD).is_file()

    def get(self, name: str) -> dict[str, Any]:
        return read_record(self.folder(name) / RECORD)

    def lock(self, name: str) -> FileLock:
        self.root.mkdir(parents=True, exist_ok=True)
        # Beside the folder, not in it: a delete removes the folder while holding the lock.
        return FileLock(self.root / f".{check_schedule_name(name)}.lock", timeout=60)

    def put(self, record: dict[str, Any]) -> None:
        """Write a record; call with the schedule's lock held."""
        write_record(self.folder(record["name"]) / RECORD, record)

    def delete(self, name: str) -> None:
        remove_tree(self.folder(name))

    def all(self) -> Iterator[dict[str, Any]]:
        if not self.root.is_dir():
            return iter(())
        found = [
            read_record(p / RECORD)
            for p in sorted(self.root.iterdir())
            if not p.name.startswith(".") and (p / RECORD).is_file()
        ]
        return iter(found)


def enabled_anywhere(home: Path) -> bool:
    """Whether any workspace of the store at ``home`` has an enabled schedule."""
    return any(True for _ in enabled_schedules(home))


def enabled_schedules(home: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(workspace folder, record) of every enabled schedule in the store, workspace by workspace."""
    root = home / "workspaces"
    if not root.is_dir():
        return
    for workspace_dir in sorted(p for p in root.glob("*/*") if (p / "workspace.yaml").is_file()):
        for record in ScheduleRecords(workspace_dir).all():
            if record.get("is_enabled"):
                yield workspace_dir, record
