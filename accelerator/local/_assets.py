"""Versioned records shared by the asset operation groups (environments, data, and later more).

Layout: ``<root>/<name>/<version>.yaml``. Each record keeps the entity as the SDK's YAML shape
under ``entity``, plus what the local backend needs (a content fingerprint, creation order).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

from filelock import FileLock

from accelerator.local._store import join, read_all, read_record, records, segment, write_record
from accelerator.local._system_data import identity

_REQUIRED = ("name", "version", "entity")


class VersionedRecords:
    def __init__(self, root: Path) -> None:
        self.root = root

    def lock(self, name: str) -> FileLock:
        """Held while a version of ``name`` is resolved and written: concurrent clients (two
        notebooks, two processes) then never hand out the same auto-incremented version."""
        folder = join(self.root, name, kind="asset name")
        folder.mkdir(parents=True, exist_ok=True)
        return FileLock(folder / ".lock", timeout=60)

    def path(self, name: str, version: str) -> Path:
        return join(self.root, name, kind="asset name") / f"{segment(str(version), 'version')}.yaml"

    def get(self, name: str, version: str) -> dict[str, Any] | None:
        path = self.path(name, version)
        return read_record(path, _REQUIRED) if path.is_file() else None

    def versions(self, name: str) -> list[dict[str, Any]]:
        """All versions of ``name``, oldest first (creation order, as Azure ML's 'latest' uses)."""
        found = [r for _, r in read_all(records(join(self.root, name, kind="asset name")), _REQUIRED)]
        return sorted(found, key=lambda r: (r.get("created", ""), _version_key(r["version"])))

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and not p.name.startswith(".") and any(records(p))
        )

    def latest_of_each(self) -> list[dict[str, Any]]:
        """The latest readable version of every name; a name whose every record is damaged is left out."""
        found = (self.latest(n) for n in self.names())
        return [r for r in found if r is not None]

    def latest(self, name: str) -> dict[str, Any] | None:
        found = self.versions(name)
        return found[-1] if found else None

    def next_version(self, name: str) -> str:
        """Azure ML auto-increments to one more than the largest integer version."""
        numbers = [int(r["version"]) for r in self.versions(name) if str(r["version"]).isdigit()]
        return str(max(numbers, default=0) + 1)

    def put(self, name: str, version: str, entity: dict[str, Any], **extra: Any) -> dict[str, Any]:
        previous = self.get(name, version)
        created = previous["created"] if previous else dt.datetime.now(dt.timezone.utc).isoformat()
        record = {
            "name": name,
            "version": version,
            "created": created,
            "created_by": previous.get("created_by") if previous else identity(),
            **extra,
            "entity": entity,
        }
        write_record(self.path(name, version), record)
        return record


def _version_key(version: Any) -> tuple[int, str]:
    text = str(version)
    return (int(text), "") if text.isdigit() else (0, text)


def copy_model_files(source: Path, target: Path) -> None:
    """A model version's files (a folder or one file) into ``target``, as ``models.download`` gives
    them on Azure: ``<download_path>/<name>/<folder or file>``; shared by workspaces and registries."""
    target.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target / source.name, dirs_exist_ok=True)
    else:
        shutil.copy2(source, target / source.name)
