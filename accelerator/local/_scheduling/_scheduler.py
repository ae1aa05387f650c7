"""The scheduler: one detached process per local store that fires enabled schedules when they are due.

``python -m accelerator.local._scheduling._scheduler <store folder>``. The first enabled schedule
starts it (``ensure_running``); it leaves by itself when no schedule in the store is enabled, when
the store is removed, or on SIGTERM (``stop``). Later clients find it through ``scheduler.yaml`` in
the store (pid and start time, so a recycled pid is never taken for it).

At most once per due time: a due time is claimed under the schedule's lock by moving the record's
``next_due`` past it before the job is submitted, and the job's name is made from the due time, so
neither a restart nor a second scheduler can fire it twice. A due time found more than a couple of
minutes late (the scheduler was not running) is skipped, not back-filled, as Azure ML treats a start
time in the past: the next fire is the next calculated time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from filelock import FileLock

from accelerator.local._execution import _process
from accelerator.local._scheduling._records import ScheduleRecords, enabled_anywhere, enabled_schedules
from accelerator.local._scheduling._triggers import LATE_GRACE, Trigger
from accelerator.local._store import read_record, write_record

MODULE = "accelerator.local._scheduling._scheduler"
STATE = "scheduler.yaml"
POLL_VARIABLE = "ACCELERATOR_SCHEDULER_POLL"
_children: list[subprocess.Popen[bytes]] = []
_stopping = False


def _lock(home: Path) -> FileLock:
    home.mkdir(parents=True, exist_ok=True)
    return FileLock(home / ".scheduler.lock", timeout=60)


def state(home: Path) -> dict[str, Any] | None:
    """The running scheduler of the store (pid, started), or None."""
    path = home / STATE
    if not path.is_file():
        return None
    with contextlib.suppress(OSError, ValueError):
        record = read_record(path)
        if _process.is_alive(record.get("pid"), record.get("started")):
            return record
    return None


def ensure_running(home: Path) -> dict[str, Any]:
    """Start the store's scheduler unless it runs; its state."""
    _children[:] = [p for p in _children if p.poll() is None]
    with _lock(home):
        running = state(home)
        if running:
            return running
        log = home / "scheduler.log"
        with open(log, "ab") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", MODULE, str(home)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        _children.append(process)
        import psutil

        record = {"pid": process.pid, "started": psutil.Process(process.pid).create_time()}
        write_record(home / STATE, record)
        return record


def stop(home: Path) -> None:
    """Stop the store's scheduler, if one runs (``make book`` and the tests call this at the end)."""
    running = state(home)
    if running:
        _process.stop_group(running["pid"], running.get("started"))
    _children[:] = [p for p in _children if p.poll() is None]


# -- the process ---------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _parse(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def claim(workspace_dir: Path, name: str, now: dt.datetime) -> tuple[dict[str, Any], dt.datetime] | None:
    """Claim the schedule's due time if it has come: (record, due time), or None.

    Under the schedule's lock, ``next_due`` moves past the claimed time before anything runs.
    """
    records = ScheduleRecords(workspace_dir)
    with records.lock(name):
        if not records.exists(name):
            return None
        record = records.get(name)
        due = _parse(record.get("next_due"))
        if not record.get("is_enabled") or due is None or due > now:
            return None
        trigger = Trigger(record["rest"]["properties"]["trigger"], _parse(record["created"]) or now)
        if now - due > LATE_GRACE:
            following = trigger.next_after(now)
            record["missed"] = int(record.get("missed") or 0) + 1
            record["next_due"] = following.isoformat() if following else None
            records.put(record)
            return None
        following = trigger.next_after(due)
        record["next_due"] = following.isoformat() if following else None
        record["last_due"] = due.isoformat()
        records.put(record)
        return record, due


def _fire(workspace_dir: Path, record: dict[str, Any], due: dt.datetime) -> None:
    from accelerator.local._ml_client import LocalMLClient
    from accelerator.local._scheduling._fire import fire

    scope = record["scope"]
    client = LocalMLClient(
        scope["workspace"],
        resource_group_name=scope["resource_group"],
        subscription_id=scope["subscription"],
        home=workspace_dir.parents[2],
    )
    schedule = client.schedules.get(record["name"])
    try:
        job = fire(client, record, schedule, due)
        print(f"{_now().isoformat()} {record['name']}: started {job.name} for {due.isoformat()}", flush=True)
        error = None
    except Exception:
        error = traceback.format_exc()
        print(f"{_now().isoformat()} {record['name']}: failed for {due.isoformat()}\n{error}", flush=True)
    records = ScheduleRecords(workspace_dir)
    with records.lock(record["name"]):
        if records.exists(record["name"]):
            current = records.get(record["name"])
            current["last_error"] = error
            records.put(current)


def _mine(home: Path) -> bool:
    """Whether the store still exists and names this process as its scheduler."""
    path = home / STATE
    if not path.is_file():
        return False
    with contextlib.suppress(OSError, ValueError):
        return read_record(path).get("pid") == os.getpid()
    return False


def _should_leave(home: Path) -> bool:
    if _stopping or not _mine(home):
        return True
    with _lock(home):
        if enabled_anywhere(home):
            return False
        (home / STATE).unlink(missing_ok=True)
        return True


def _on_sigterm(signum: int, frame: Any) -> None:
    global _stopping
    _stopping = True


def run(home: Path, poll: float) -> int:
    # A scheduler started a moment before its state was written waits for it.
    deadline = time.monotonic() + 10
    while not _mine(home) and time.monotonic() < deadline and not _stopping:
        time.sleep(0.05)
    while not _should_leave(home):
        now = _now()
        for workspace_dir, record in list(enabled_schedules(home)):
            claimed = claim(workspace_dir, record["name"], now)
            if claimed:
                _fire(workspace_dir, *claimed)
        time.sleep(poll)
    with contextlib.suppress(OSError, ValueError):
        if _mine(home):
            (home / STATE).unlink(missing_ok=True)
    return 0


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    home = Path(argv[0]).resolve()
    poll = float(os.environ.get(POLL_VARIABLE) or 1.0)
    return run(home, poll)


if __name__ == "__main__":
    from accelerator.local._scheduling import _scheduler

    sys.exit(_scheduler.main(sys.argv[1:]))
