"""Fixtures for the local backend's job tests: a workspace ready to run jobs, and a check that no
runner or job process outlives its test."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

# Before MLflow is imported anywhere: it starts its telemetry client at import time.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import psutil
import pytest
from azure.ai.ml.entities import AmlCompute, Environment

from accelerator.local import LocalMLClient, _mlflow

RUNNER_MODULE = "accelerator.local._execution._runner"
WARM_MODULE = "accelerator.local._execution._warm"
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250601.v1"
ENVIRONMENT = "azureml:taxi-train:1"
COMPUTE = "cpu-cluster"
PROCESS_WAIT = 10.0


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty workspace MLflow database: copying it is much faster than migrating (~3 s)."""
    workspace = tmp_path_factory.mktemp("mlflow-template")
    _mlflow.client(workspace)
    return _mlflow.mlflow_dir(workspace) / "mlflow.db"


@pytest.fixture
def jobs_client(ml_client: LocalMLClient, mlflow_template: Path) -> LocalMLClient:
    """The dev workspace with what a job needs: environment taxi-train:1 and compute cpu-cluster."""
    workspace_dir = ml_client._scope.require_workspace()
    database = _mlflow.mlflow_dir(workspace_dir) / "mlflow.db"
    database.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(mlflow_template, database)
    # The Default experiment keeps its artifacts beside the database, as if created here.
    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        connection.execute(
            "UPDATE experiments SET artifact_location = replace(artifact_location, ?, ?)",
            (mlflow_template.parent.as_posix(), database.parent.as_posix()),
        )
    ml_client.environments.create_or_update(Environment(name="taxi-train", version="1", image=IMAGE))
    ml_client.compute.begin_create_or_update(
        AmlCompute(name=COMPUTE, size="Standard_DS3_v2", max_instances=2)
    ).result()
    return ml_client


def tracking_uri(client: LocalMLClient) -> str:
    return client.workspaces.get(client.workspace_name).mlflow_tracking_uri


@pytest.fixture
def tracking(jobs_client: LocalMLClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """An MlflowClient on the workspace's tracking store and registry; ``mlflow`` points there too,
    for the test only."""
    import mlflow
    from mlflow.tracking import _model_registry, _tracking_service, fluent

    # Put back afterwards what mlflow.set_tracking_uri, set_registry_uri and set_experiment change.
    monkeypatch.setattr(_tracking_service.utils, "_tracking_uri", _tracking_service.utils._tracking_uri)
    monkeypatch.setattr(_model_registry.utils, "_registry_uri", _model_registry.utils._registry_uri)
    monkeypatch.setattr(fluent, "_active_experiment_id", None)
    for variable in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(variable, raising=False)
    # set_tracking_uri and set_registry_uri also export these variables (for subprocesses): record
    # them first, so they are removed afterwards and never reach a later test's notebook kernel.
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.setenv(variable, "")
    uri = tracking_uri(jobs_client)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    yield mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    while mlflow.active_run() is not None:
        mlflow.end_run()


class Processes:
    """Find a job's script by a marker in its command line."""

    @staticmethod
    def with_marker(marker: str) -> list[psutil.Process]:
        found = []
        for process in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if marker in process.cmdline() and process.status() != psutil.STATUS_ZOMBIE:
                    found.append(process)
        return found

    def wait_for(self, marker: str, count: int = 1, timeout: float = 30.0) -> list[psutil.Process]:
        """The processes with ``marker`` in their command line, once ``count`` of them run."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.with_marker(marker)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise AssertionError(f"{count} process(es) with '{marker}' did not start within {timeout} s")

    @staticmethod
    def ended(processes: list[psutil.Process], timeout: float = 5.0) -> bool:
        return not psutil.wait_procs(processes, timeout=timeout)[1]


@pytest.fixture
def processes() -> Processes:
    return Processes()


def _belongs_to(process: psutil.Process, root: str) -> bool:
    """A runner of a workspace under ``root``, or a process started with ACCELERATOR_HOME under it."""
    with contextlib.suppress(psutil.Error):
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = process.cmdline()
        if RUNNER_MODULE in cmdline and any(arg.startswith(root) for arg in cmdline):
            return True
        return process.environ().get("ACCELERATOR_HOME", "").startswith(root)
    return False


def _is_daemon(process: psutil.Process) -> bool:
    """The store's warm job daemon: it outlives the jobs by its idle time, by design (_warm.py)."""
    with contextlib.suppress(psutil.Error):
        return WARM_MODULE in process.cmdline() and process.cmdline()[-3] == "0"
    return False


def _leftovers(root: str, daemons: bool = False) -> list[psutil.Process]:
    me = os.getpid()
    return [
        p for p in psutil.process_iter() if p.pid != me and _belongs_to(p, root) and _is_daemon(p) == daemons
    ]


@pytest.fixture
def no_stray_processes(tmp_path: Path) -> Iterator[None]:
    """After the test: every runner and job process of its store has ended (within 10 s); then the
    store's warm daemon, idle, stops when told to (as the book's run tells it at its end)."""
    yield
    root = str(tmp_path)
    deadline = time.monotonic() + PROCESS_WAIT
    left = _leftovers(root)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _leftovers(root)
    daemons = _leftovers(root, daemons=True)
    for daemon in daemons:
        with contextlib.suppress(psutil.Error):
            daemon.terminate()
    left += psutil.wait_procs(daemons, timeout=PROCESS_WAIT)[1]
    described = []
    for process in left:
        with contextlib.suppress(psutil.Error):
            described.append(f"{process.pid}: {' '.join(process.cmdline())}")
            process.kill()
    assert not described, "processes left running after the test:\n" + "\n".join(described)
