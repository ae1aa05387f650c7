"""``ml_client.jobs`` on the local backend: command, pipeline and sweep jobs run on this machine.

``create_or_update`` validates the job with the SDK, resolves everything it refers to (code,
environment, compute, inputs), records it and starts a detached runner; it returns at once with
the job Queued or Running, as on Azure. ``stream`` follows the job's log to the end.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from azure.ai.ml import operations as sdk_operations
from azure.ai.ml.entities import Command, CommandJob, Job, PipelineJob
from azure.ai.ml.entities._builders import BaseNode
from azure.ai.ml.entities._job.sweep.sweep_job import SweepJob
from azure.ai.ml.entities._validation import PathAwareSchemaValidatableMixin
from azure.ai.ml.exceptions import ErrorCategory, ErrorTarget, JobException
from azure.core.polling import LROPoller

from accelerator.local import _mlflow, _names
from accelerator.local._compile import JobCompiler
from accelerator.local._compile._entity import job_entity
from accelerator.local._exceptions import (
    LocalBackendUnsupportedError,
    not_found,
    user_error,
    validation_error,
)
from accelerator.local._execution import _process
from accelerator.local._execution._control import reconcile, stop_child
from accelerator.local._execution._paths import local_output
from accelerator.local._execution._records import IN_PROGRESS, LOG_NAME, TERMINAL, JobRecords, now
from accelerator.local._execution._runner import open_run
from accelerator.local._execution._tracking import InProcessTracking
from accelerator.local._paging import paged
from accelerator.local._poller import completed
from accelerator.local._scope import LocalScope
from accelerator.local._system_data import identity
from accelerator.local._validation import check_name
from accelerator.local.operations._base import LocalOperations

_POLL_SECONDS = 0.2


class JobOperations(LocalOperations):
    _sdk_class = sdk_operations.JobOperations
    _group = "jobs"

    def __init__(self, scope: LocalScope, compiler: JobCompiler) -> None:
        super().__init__(scope)
        self._compiler = compiler  # SDK entity -> the record the runner executes

    @property
    def _records(self) -> JobRecords:
        return JobRecords(self._scope.require_workspace())

    # -- submit ----------------------------------------------------------------------------------

    def create_or_update(
        self,
        job: Job,
        *,
        description: str | None = None,
        compute: str | None = None,
        tags: dict | None = None,
        experiment_name: str | None = None,
        skip_validation: bool = False,
        **kwargs: Any,
    ) -> Job:
        if isinstance(job, BaseNode) and not isinstance(job, Command):
            job = job._to_job()  # a sweep or pipeline node becomes its job, as the SDK does
        if not isinstance(job, (Command, CommandJob, PipelineJob, SweepJob)):
            raise LocalBackendUnsupportedError(
                f"{type(job).__name__} jobs", "The local backend runs command, pipeline and sweep jobs."
            )
        if description is not None:
            job.description = description
        if compute is not None:
            job.compute = compute
        if tags is not None:
            job.tags = tags
        if experiment_name is not None:
            job.experiment_name = experiment_name
        if not job.name:  # None unless ACCELERATOR_JOB_NAME_SEED asks for reproducible names
            job.name = _names.job_name(self._records.exists)
        if job.name is not None:
            check_name("job", job.name, ErrorTarget.JOB)  # before its name becomes a folder
        if job.name and self._records.exists(job.name):
            raise user_error(
                f"A job named '{job.name}' already exists in this workspace; names are unique.",
                ErrorTarget.JOB,
            )
        if not skip_validation and isinstance(job, PathAwareSchemaValidatableMixin):
            job._validate(raise_error=True)
        record = self._compiler.compile(job)
        # The job's MLflow run exists from submission, as on Azure: mlflow.get_run(job.name) works at once.
        workspace_dir = self._scope.require_workspace()
        experiment, run_id = open_run(InProcessTracking(workspace_dir), workspace_dir, record)
        record.update(mlflow_run_id=run_id, mlflow_experiment_id=experiment, created_by=identity())
        self._records.create(record)
        submitted = self._entity(record)  # as submitted: Queued, whatever the runner does next
        try:
            pid, started = _process.spawn_runner(
                self._scope.require_workspace(),
                record["name"],
                self._records.folder(record["name"]) / "runner.log",
                home=self._scope.home,
            )
        except BaseException as error:  # no runner: the job fails now rather than stays Queued
            self._records.update(
                record["name"],
                status="Failed",
                ended=now(),
                error=f"The local runner could not start: {error}",
            )
            _mlflow.end_run(_mlflow.client(workspace_dir), run_id, "FAILED")
            raise
        self._records.update(record["name"], runner={"pid": pid, "started": started})
        return submitted

    # -- read ------------------------------------------------------------------------------------

    def get(self, name: str) -> Job:
        records = self._records
        if not records.exists(name):
            raise not_found("Job", name, f"workspace '{self._scope.workspace_name}'")
        return self._entity(self._refresh(records.get(name)))

    def list(self, *, parent_job_name: str | None = None, list_view_type: Any = None, **kwargs: Any) -> Any:
        """Top-level jobs, newest first; with ``parent_job_name``, that job's children in order."""
        view = str(list_view_type or "ActiveOnly").split(".")[-1].lower().replace("_", "")
        found = []
        for record in self._records.all():
            if record.get("parent") != parent_job_name:
                continue
            archived = bool(record.get("archived"))
            if (view == "activeonly" and archived) or (view == "archivedonly" and not archived):
                continue
            found.append(record)
        if parent_job_name is None:
            found.reverse()
        return paged(self._entity(self._refresh(r)) for r in found)

    def _refresh(self, record: dict[str, Any]) -> dict[str, Any]:
        return reconcile(self._records, record)

    def _entity(self, record: dict[str, Any]) -> Job:
        job_id = self._scope.arm_id("workspaces", self._scope.workspace_name or "", "jobs", record["name"])
        return job_entity(record, job_id)

    # -- follow and control ----------------------------------------------------------------------

    def stream(self, name: str) -> None:
        """Print the job's log as it runs and a summary at the end; a failed job raises JobException."""
        self.get(name)
        records = self._records
        out = sys.stdout
        out.write(f"RunId: {name}\nWeb View: {self._web_view(name)}\n")
        shown = 0
        header = False
        while True:
            record = self._refresh(records.get(name))
            lines = _read_lines(records.log(name))
            if len(lines) > shown:
                if not header:
                    out.write(f"\nStreaming {LOG_NAME}\n{'=' * (len(LOG_NAME) + 10)}\n\n")
                    header = True
                out.write("".join(line + "\n" for line in lines[shown:]))
                shown = len(lines)
            if record["status"] in TERMINAL:
                lines = _read_lines(records.log(name))
                if len(lines) > shown:
                    out.write("".join(line + "\n" for line in lines[shown:]))
                break
            out.flush()
            time.sleep(_POLL_SECONDS)
        out.write(
            f"\nExecution Summary\n=================\nRunId: {name}\nWeb View: {self._web_view(name)}\n"
        )
        if record["status"] == "Failed":
            message = record.get("error") or "The job failed."
            # The runner ends the log with the error itself: show the lines before it.
            tail = records.tail(name, 30 + message.count("\n") + 1).removesuffix(message).rstrip()
            raise JobException(
                message=f"Exception : \n {message}\n\nThe end of the job's log:\n{tail}",
                target=ErrorTarget.JOB,
                no_personal_data_message="Exception raised on failed job.",
                error_category=ErrorCategory.SYSTEM_ERROR,
            )
        out.write(f"Status: {record['status']}\n\n")
        out.flush()

    def _web_view(self, name: str) -> str:
        return f"local backend, job folder jobs/{name}"

    def begin_cancel(self, name: str, **kwargs: Any) -> LROPoller[None]:
        """Stop the job's process tree; the job (and a pipeline's or sweep's running child) ends Canceled."""
        records = self._records
        if not records.exists(name):
            raise not_found("Job", name, f"workspace '{self._scope.workspace_name}'")
        record = self._refresh(records.get(name))
        if record["status"] in TERMINAL:
            return completed(None)
        records.update(name, status="CancelRequested")
        if record.get("parent"):
            stop_child(record)
        else:
            runner = record.get("runner") or {}
            if runner:
                _process.stop_group(runner["pid"], runner.get("started"))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self._refresh(records.get(name))["status"] not in TERMINAL:
            time.sleep(_POLL_SECONDS)
        for child in [record, *(r for r in records.all() if r.get("parent") == name)]:
            if records.get(child["name"])["status"] not in TERMINAL:
                records.update(child["name"], status="Canceled", ended=now())
        return completed(None)

    def download(
        self, name: str, *, download_path: str | Path = ".", output_name: str | None = None, all: bool = False
    ) -> None:
        """As the SDK: ``named-outputs/<output>`` for outputs, ``artifacts/user_logs`` for the log."""
        record = self._records.get(self.get(name).name)
        target = Path(download_path)
        if record["type"] == "sweep" and record.get("best_child_run_id"):
            self.download(record["best_child_run_id"], download_path=target, output_name=output_name, all=all)
            if output_name:
                return
        outputs = record.get("outputs") or {}
        if output_name is not None and output_name not in outputs:
            raise validation_error(
                f"Job {name} has no output '{output_name}'; its outputs are: {', '.join(outputs) or 'none'}.",
                ErrorTarget.JOB,
            )
        wanted = [output_name] if output_name else (list(outputs) if all else [])
        for output in wanted:
            spec = outputs[output]
            if not spec.get("uri"):
                raise validation_error(f"Output '{output}' of job {name} has no files yet.", ErrorTarget.JOB)
            fs, path = local_output(self._scope.require_workspace(), spec)
            if not fs.exists(path):
                raise validation_error(f"Output '{output}' of job {name} has no files.", ErrorTarget.JOB)
            destination = target / "named-outputs" / output
            destination.mkdir(parents=True, exist_ok=True)
            if fs.isdir(path):
                fs.get(path.rstrip("/") + "/", str(destination), recursive=True)
            else:
                fs.get(path, str(destination / Path(path).name))
        if not output_name:
            log = self._records.log(name)
            logs = target / "artifacts" / "user_logs"
            logs.mkdir(parents=True, exist_ok=True)
            (logs / log.name).write_bytes(log.read_bytes() if log.is_file() else b"")

    def archive(self, name: str) -> None:
        self.get(name)
        self._records.update(name, archived=True)

    def restore(self, name: str) -> None:
        self.get(name)
        self._records.update(name, archived=False)


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


__all__ = ["IN_PROGRESS", "JobOperations"]
