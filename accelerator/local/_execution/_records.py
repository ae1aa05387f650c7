"""Job records: ``<workspace>/jobs/<name>/job.yaml``, with the job's logs and working folder beside it.

The runner and the client both update a record (status, times, children); each update is a
read-modify-write under the job's file lock, written atomically.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock

from accelerator.local._execution._spec import CommandJobRecord, InputSpec, JobRecord, OutputSpec
from accelerator.local._store import join, read_all, read_record, write_record

_REQUIRED = ("name", "type", "status")

IN_PROGRESS = ("NotStarted", "Queued", "Preparing", "Starting", "Running", "Finalizing", "CancelRequested")
TERMINAL = ("Completed", "Failed", "Canceled")
LOG_NAME = "user_logs/std_log.txt"
# Outputs that are a value, not files (a function component's ``-> str``, a control output): the
# step writes the value to a file the runner gives it, and the next step gets the value itself.
PRIMITIVE_TYPES = ("string", "integer", "number", "boolean")


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


class JobRecords:
    """The job records of a workspace. A record is read as the dict it is stored as; its fields are
    those of ``_spec.JobRecord`` and of its kind's record (``CommandJobRecord``, ...)."""

    def __init__(self, workspace_dir: Path) -> None:
        self.workspace_dir = workspace_dir
        self.root = workspace_dir / "jobs"

    def folder(self, name: str) -> Path:
        return join(self.root, name, kind="job name", target="Job")  # ErrorTarget.JOB

    def log(self, name: str) -> Path:
        return self.folder(name) / LOG_NAME

    def exists(self, name: str) -> bool:
        return (self.folder(name) / "job.yaml").is_file()

    def get(self, name: str) -> dict[str, Any]:
        return read_record(self.folder(name) / "job.yaml", _REQUIRED)

    def lock(self, name: str) -> FileLock:
        folder = self.folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        return FileLock(folder / ".lock", timeout=60)

    def create(self, record: JobRecord) -> JobRecord:
        name = record["name"]
        with self.lock(name):
            if self.exists(name):
                raise FileExistsError(name)
            record.setdefault("created", now())
            write_record(self.folder(name) / "job.yaml", record)
        self.log(name).parent.mkdir(parents=True, exist_ok=True)
        self.log(name).touch()
        return record

    def update(self, name: str, **changes: Any) -> dict[str, Any]:
        """Apply ``changes`` to the record. A job that has ended keeps its final status."""
        with self.lock(name):
            record = self.get(name)
            if record["status"] in TERMINAL:
                changes.pop("status", None)
            changed = "status" in changes and changes["status"] != record["status"]
            record.update(changes)
            write_record(self.folder(name) / "job.yaml", record)
        if changed:
            # Azure ML publishes RunStatusChanged on every status change: deliver it to subscribers.
            from accelerator.local._events import publish

            publish(self.workspace_dir, record)
        return record

    def all(self) -> Iterator[dict[str, Any]]:
        """Every job, oldest first."""
        if not self.root.is_dir():
            return iter(())
        paths = [p / "job.yaml" for p in self.root.iterdir() if not p.name.startswith(".")]
        found = [r for _, r in read_all([p for p in paths if p.is_file()], _REQUIRED)]
        return iter(sorted(found, key=lambda r: r.get("created", "")))

    def append_log(self, name: str, text: str) -> None:
        path = self.log(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.log(name)
        if not path.is_file():
            return ""
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def child_record(
    parent: JobRecord,
    name: str,
    *,
    step: str,
    display_name: str,
    command: str,
    code: str | None,
    environment: str | None,
    inputs: dict[str, InputSpec | None],
    outputs: dict[str, OutputSpec],
    environment_variables: dict[str, str] | None = None,
    timeout: float | None = None,
    properties: dict[str, str] | None = None,
) -> CommandJobRecord:
    """The record of a pipeline step or a sweep trial: a command job whose parent is ``parent``."""
    # An optional input left unset has no REST form at all.
    rest_inputs = {
        key: _rest_input(spec)
        for key, spec in inputs.items()
        if spec is not None and not ("value" in spec and spec["value"] is None)
    }
    # A primitive output is a value, not a job output the service lists (the SDK cannot parse one).
    rest_outputs = {
        key: {"jobOutputType": spec["type"], "uri": spec["uri"]}
        for key, spec in outputs.items()
        if spec["type"] not in PRIMITIVE_TYPES
    }
    rest = {
        "name": name,
        "properties": {
            "jobType": "Command",
            "displayName": display_name,
            "experimentName": parent["experiment_name"],
            "command": command,
            "codeId": code,
            "environmentId": environment,
            "computeId": parent.get("compute"),
            "inputs": rest_inputs,
            "outputs": rest_outputs,
            "environmentVariables": environment_variables or {},
            "properties": {"azureml.parentrunid": parent["name"], **(properties or {})},
            "tags": {},
        },
    }
    return {
        "name": name,
        "type": "command",
        "parent": parent["name"],
        "step": step,
        "status": "Queued",
        "display_name": display_name,
        "experiment_name": parent["experiment_name"],
        "tags": {},
        "compute": parent.get("compute"),
        "command": command,
        "code": code,
        "environment": environment,
        "environment_variables": environment_variables or {},
        "inputs": inputs,
        "outputs": outputs,
        "timeout": timeout,
        "properties": {"azureml.parentrunid": parent["name"], **(properties or {})},
        "rest": rest,
    }


def _rest_input(spec: InputSpec) -> dict[str, Any]:
    """A runner input spec in the REST shape the SDK reads a job's inputs from."""
    if "value" in spec:
        return {"jobInputType": "literal", "value": spec["value"]}
    if "job_output" in spec:
        producer, output = spec["job_output"]
        return {"jobInputType": "uri_folder", "uri": f"azureml://jobs/{producer}/outputs/{output}"}
    if "local" in spec:
        return {"jobInputType": "custom_model", "uri": spec["local"]}
    return {"jobInputType": spec.get("type") or "uri_folder", "uri": spec["uri"]}
