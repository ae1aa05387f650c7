"""The runner: a detached process that executes one job (command, pipeline or sweep) to the end.

``python -m accelerator.local._execution._runner <workspace folder> <job name>``. It is started by
``ml_client.jobs.create_or_update`` in its own session and writes every status change to the job
record, so the job goes on (and can be streamed, listed and cancelled) after the notebook kernel
that submitted it has gone. SIGTERM to its process group cancels the job.
"""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, cast

import psutil

from accelerator.local import _mlflow
from accelerator.local._execution import _pipeline, _sweep, _warm
from accelerator.local._execution._binding import render
from accelerator.local._execution._paths import (
    PRIMITIVE_TYPES,
    materialise_input,
    output_target,
    primitive_value,
    publish_output,
)
from accelerator.local._execution._records import JobRecords, now
from accelerator.local._execution._spec import CommandJobRecord, JobRecord, Launched, Published
from accelerator.local._execution._tracking import InProcessTracking, RemoteTracking
from accelerator.local._execution._warm import Attached, WarmServer
from accelerator.local._execution._warm import enabled as warm_enabled

_GUARD = Path(__file__).with_name("_guard.py")


class Runner:
    def __init__(self, workspace_dir: Path) -> None:
        self.workspace_dir = workspace_dir
        self.records = JobRecords(workspace_dir)
        self._tracking: InProcessTracking | RemoteTracking | None = None
        self.warm: WarmServer | Attached | None = None
        # Cancellation is the runner's: set by SIGTERM (main), read by the pipeline and sweep loops.
        self._cancelled = False
        self._guarded: list[subprocess.Popen[bytes]] = []  # the guards of the commands running now

    def cancel(self) -> None:
        """Note the cancellation and pass it on to the running commands' guards. The job's own
        processes share the group and stop on the same signal; the runner only finishes the
        bookkeeping (statuses, MLflow run) before leaving. Each command runs under its guard in a
        process group of its own (so a kill -9 of this runner's group leaves the guard alive to
        stop the command)."""
        self._cancelled = True
        for process in self._guarded:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)

    def cancelled(self) -> bool:
        return self._cancelled

    def start_warm_server(self, name: str) -> None:
        """The store's daemon when it forked this runner, else a warm server of the job's own
        (see _warm.py), unless turned off."""
        if _warm.attached is not None:
            self.warm = _warm.attached
        elif warm_enabled():
            self.warm = WarmServer(self.records.folder(name))
            self.warm.start()

    def stop_warm_server(self) -> None:
        if self._tracking is not None:
            self._tracking.close()
            self._tracking = None
        if self.warm is not None:
            self.warm.stop()
            self.warm = None

    @property
    def tracking(self) -> InProcessTracking | RemoteTracking:
        """MLflow for the runner: in the warm server's tracking process, else in this process."""
        if self._tracking is None:
            remote = self.warm.tracking(self.workspace_dir) if self.warm is not None else None
            self._tracking = remote or InProcessTracking(self.workspace_dir)
        return self._tracking

    def run(self, name: str) -> str:
        record = self.records.get(name)
        kind = record["type"]
        if kind == "command":
            return self.run_command(name)
        if kind == "pipeline":
            return _pipeline.run(self, name)
        if kind == "sweep":
            return _sweep.run(self, name)
        self.finish(name, "Failed", f"Unknown job type '{kind}'.")
        return "Failed"

    # -- bookkeeping shared by every job type --------------------------------------------------

    def start(self, name: str, parent_run: str | None = None) -> dict[str, Any]:
        """Mark a job Running, with its MLflow run (the job name is the run id).

        A job submitted by a client has its run already (created at submission, as on Azure);
        a pipeline step or a sweep trial gets its run here, as a child of its parent's.
        """
        record = self.records.get(name)
        if record.get("mlflow_run_id"):
            return self.records.update(name, status="Running", started=now())
        experiment, run_id = open_run(self.tracking, self.workspace_dir, record, parent_run)
        return self.records.update(
            name, status="Running", started=now(), mlflow_run_id=run_id, mlflow_experiment_id=experiment
        )

    def finish(self, name: str, status: str, error: str | None = None) -> None:
        # The log's last words and the MLflow run first, the status last: whoever sees the job
        # ended (stream, get) also sees its error in the log and its run closed.
        if error:
            self.records.append_log(name, f"\n{error}")
        run_id = self.records.get(name).get("mlflow_run_id")
        if run_id:
            mlflow_status = {"Completed": "FINISHED", "Canceled": "KILLED"}.get(status, "FAILED")
            try:
                self.tracking.end_run(run_id, mlflow_status)
            finally:
                self.records.update(name, status=status, ended=now(), error=error)
        else:
            self.records.update(name, status=status, ended=now(), error=error)

    # -- command jobs ---------------------------------------------------------------------------

    def run_command(self, name: str, parent_run: str | None = None) -> str:
        """Run a command job (also a pipeline step or a sweep trial) and return its final status."""
        launched = self.launch(name, parent_run)
        if launched is None:
            return self.records.get(name)["status"]
        return self.complete(name, launched)

    def launch(self, name: str, parent_run: str | None = None) -> Launched | None:
        """Bind the job's inputs and outputs and start its command; None if it ended before starting."""
        if self.cancelled():
            self.finish(name, "Canceled")
            return None
        record = cast(CommandJobRecord, self.start(name, parent_run))
        folder = self.records.folder(name)
        try:
            workdir = folder / "wd"
            if workdir.exists():
                shutil.rmtree(workdir)
            if record.get("code"):
                shutil.copytree(record["code"], workdir)
            else:
                workdir.mkdir(parents=True)
            inputs: dict[str, str | None] = {}
            for input_name, spec in (record.get("inputs") or {}).items():
                inputs[input_name] = materialise_input(
                    self.workspace_dir, self.records, spec, folder, input_name
                )
            outputs: dict[str, str] = {}
            published: dict[str, Published] = {}
            for output_name, spec in (record.get("outputs") or {}).items():
                local = output_target(self.workspace_dir, spec, folder, output_name)
                outputs[output_name] = local
                published[output_name] = Published(local, spec)
            command = render(record["command"], inputs, outputs)
        except Exception as error:  # a binding failure fails the job, with the reason in its log
            self.finish(name, "Failed", f"Execution failed while preparing the job: {error}")
            return None

        env = _environment(record, self.workspace_dir, inputs, outputs)
        if self.warm is not None:
            env = self.warm.environment(env)
        log = self.records.log(name)
        log.parent.mkdir(parents=True, exist_ok=True)
        handle = open(log, "ab")  # noqa: SIM115 - closed in complete()
        # The command runs under a guard that stops it (and all it started) when this runner dies.
        guarded = [sys.executable, "-S", str(_GUARD), str(os.getpid()), "/bin/bash", "-c", command]
        process = subprocess.Popen(
            guarded, cwd=workdir, env=env, stdout=handle, stderr=subprocess.STDOUT, process_group=0
        )
        self._guarded[:] = [p for p in self._guarded if p.returncode is None] + [process]
        try:
            started = psutil.Process(process.pid).create_time()
        except psutil.NoSuchProcess:  # it has ended already
            started = None
        self.records.update(name, process={"pid": process.pid, "started": started})
        return Launched(process, handle, published, time.monotonic(), record.get("timeout"))

    def complete(self, name: str, launched: Launched) -> str:
        process = launched.process
        timed_out = False
        try:
            process.wait(timeout=launched.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            process.terminate()
            process.wait()
        finally:
            launched.log.close()
        return self.settle(name, process.returncode, launched.published, timed_out, launched.timeout)

    def settle(
        self,
        name: str,
        returncode: int,
        published: dict[str, Published],
        timed_out: bool,
        timeout: float | None,
    ) -> str:
        """Record how a finished process ended: publish outputs, close the MLflow run, set the status."""
        record = self.records.get(name)
        self._log_working_folder(record)
        if self.cancelled() or record["status"] == "CancelRequested":
            self.finish(name, "Canceled")
            return "Canceled"
        if timed_out:
            self.finish(
                name, "Failed", f"Execution failed: the job ran past its timeout of {timeout} seconds."
            )
            return "Failed"
        if returncode != 0:
            self.finish(
                name,
                "Failed",
                f"Execution failed. User process '/bin/bash' exited with status code {returncode}. "
                "Please check log file 'user_logs/std_log.txt' for error details.",
            )
            return "Failed"
        try:
            for output in published.values():
                publish_output(self.workspace_dir, output.spec, output.local)
        except Exception as error:
            self.finish(name, "Failed", f"Execution failed while uploading the outputs: {error}")
            return "Failed"
        try:
            values = {
                output_name: primitive_value(output.local, output_name)
                for output_name, output in published.items()
                if output.spec["type"] in PRIMITIVE_TYPES
            }
        except ValueError as error:
            self.finish(name, "Failed", f"Execution failed: {error}")
            return "Failed"
        if values:
            outputs = self.records.get(name)["outputs"]
            for output, value in values.items():
                outputs[output]["value"] = value
            self.records.update(name, outputs=outputs)
        self.finish(name, "Completed")
        return "Completed"

    def _log_working_folder(self, record: JobRecord) -> None:
        # As on Azure: ./outputs and ./logs of the working folder, and the job's log, become run artifacts.
        run_id = record.get("mlflow_run_id")
        if not run_id:
            return
        folder = self.records.folder(record["name"])
        for sub in ("outputs", "logs"):
            path = folder / "wd" / sub
            if path.is_dir() and any(path.iterdir()):
                self.tracking.log_artifacts(run_id, str(path), sub)
        log = self.records.log(record["name"])
        if log.is_file():
            self.tracking.log_artifact(run_id, str(log), "user_logs")


def open_run(
    tracking: InProcessTracking | RemoteTracking,
    workspace_dir: Path,
    record: JobRecord,
    parent_run: str | None = None,
) -> tuple[str, str]:
    """Create a job's MLflow run in its experiment; (experiment id, run id)."""
    experiment = tracking.experiment_id(record["experiment_name"])
    tags = {str(k): str(v) for k, v in (record.get("tags") or {}).items()}
    tags["azureml.jobType"] = record["type"]
    if parent_run:
        tags["mlflow.parentRunId"] = parent_run
    run_id = tracking.create_run(experiment, record["name"], record["display_name"] or record["name"], tags)
    return experiment, run_id


def _environment(
    record: CommandJobRecord, workspace_dir: Path, inputs: dict[str, str | None], outputs: dict[str, str]
) -> dict[str, str]:
    """The job's process environment, with the variables Azure ML sets in a job."""
    env = dict(os.environ)
    # A notebook kernel's inline plotting backend means nothing in a job's process.
    if env.get("MPLBACKEND", "").startswith("module://"):
        del env["MPLBACKEND"]
    # `python` in a command is this machine's interpreter: the one the notebooks run in.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    # Trials running side by side share this machine's cores (on Azure each has its own node):
    # one OpenMP pool per core each, not one per core for every trial.
    if record.get("threads") and "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = str(record["threads"])
    env.update({str(k): str(v) for k, v in (record.get("environment_variables") or {}).items()})
    uri = _mlflow.tracking_uri(workspace_dir)
    env.update(
        {
            "MLFLOW_TRACKING_URI": uri,
            "MLFLOW_REGISTRY_URI": uri,
            "MLFLOW_RUN_ID": record["mlflow_run_id"],
            "MLFLOW_EXPERIMENT_ID": record["mlflow_experiment_id"],
            "AZUREML_RUN_ID": record["name"],
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("MLFLOW_EXPERIMENT_NAME", None)
    for name, value in inputs.items():
        if value is not None:
            env[f"AZURE_ML_INPUT_{name}"] = value
    for name, value in outputs.items():
        env[f"AZURE_ML_OUTPUT_{name}"] = value
    return env


def main(argv: list[str]) -> int:
    workspace_dir, name = Path(argv[0]), argv[1]
    runner = Runner(workspace_dir)
    signal.signal(signal.SIGTERM, lambda signum, frame: runner.cancel())
    try:
        runner.start_warm_server(name)
        if runner.warm is None:
            # MLflow takes seconds to import; load it while the job's own process starts and runs.
            threading.Thread(target=importlib.import_module, args=("mlflow.tracking",), daemon=True).start()
        runner.run(name)
    except Exception:  # the job fails with the runner's own error, never stays Running
        runner.finish(name, "Failed", "The local runner failed:\n" + traceback.format_exc())
        return 1
    finally:
        runner.stop_warm_server()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
