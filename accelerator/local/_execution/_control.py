"""What the client does to a job's processes: notice a runner that has gone, stop a step or a trial.

Used by ``ml_client.jobs`` (get, list, stream, begin_cancel); nothing here imports the SDK.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from accelerator.local import _mlflow
from accelerator.local._execution import _process
from accelerator.local._execution._records import TERMINAL, JobRecords, now

# How long a job may wait for its runner to be recorded before it is taken for gone.
RUNNER_START_SECONDS = 60.0


def reconcile(records: JobRecords, record: dict[str, Any]) -> dict[str, Any]:
    """A job whose runner has gone without finishing it is Failed, not Running for ever."""
    if record["status"] in TERMINAL:
        return record
    root = record
    while root.get("parent"):
        root = records.get(root["parent"])
    runner = root.get("runner") or {}
    if not runner:
        # Created a moment ago, its runner being started; one never recorded after a minute
        # (the submitting process died in between) is gone, and the job must not stay Queued.
        if _age_seconds(root.get("created")) < RUNNER_START_SECONDS:
            return record
    elif _process.is_alive(runner.get("pid"), runner.get("started")):
        return record
    record = records.get(record["name"])  # it may have finished while we looked
    if record["status"] in TERMINAL:
        return record
    status = "Canceled" if record["status"] == "CancelRequested" else "Failed"
    error = None if status == "Canceled" else "The local runner stopped before the job ended."
    record = records.update(record["name"], status=status, ended=now(), error=error)
    if record.get("mlflow_run_id"):  # the runner would have closed the job's run: close it here
        mlflow_status = "KILLED" if status == "Canceled" else "FAILED"
        _mlflow.end_run(_mlflow.client(records.workspace_dir), record["mlflow_run_id"], mlflow_status)
    return record


def stop_child(record: dict[str, Any]) -> None:
    """Stop the process tree of a pipeline step or a sweep trial (its runner goes on)."""
    process = record.get("process") or {}
    # Only the process that was started: a pid recycled since then is never signalled.
    if process.get("pid") and _process.is_alive(process["pid"], process.get("started")):
        _process.stop_tree(type("P", (), {"pid": process["pid"]})())


def _age_seconds(created: Any) -> float:
    try:
        return (dt.datetime.now(dt.timezone.utc) - dt.datetime.fromisoformat(str(created))).total_seconds()
    except ValueError:
        return float("inf")
