"""MLflow tracking and model registry of a local workspace: one SQLite database per workspace.

As in Azure ML, where each workspace is an MLflow tracking server and registry, a job is an MLflow
run (its run id is the job name) and ``ml_client.models`` and ``mlflow`` see the same registry.
MLflow is imported only when a workspace's tracking is used: it is slow to import.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

if TYPE_CHECKING:
    from mlflow import MlflowClient


def mlflow_dir(workspace_dir: Path) -> Path:
    return workspace_dir / "mlflow"


SCHEME = "accelerator-sqlite"


def tracking_uri(workspace_dir: Path) -> str:
    """The workspace's tracking (and registry) URI: ``accelerator-sqlite:///<folder>/mlflow.db``.

    The scheme is MLflow's SQLite store, registered by this package as an MLflow store plugin
    (``pyproject.toml``), which keeps every artifact in ``<folder>/artifacts``.
    """
    return f"{SCHEME}:///{(mlflow_dir(workspace_dir) / 'mlflow.db').as_posix()}"


def _database(store_uri: str) -> tuple[str, str]:
    """(the ``sqlite:///`` URI, the artifact root) of an ``accelerator-sqlite`` URI."""
    if not store_uri.startswith(f"{SCHEME}:///"):
        raise ValueError(f"'{store_uri}' is not an {SCHEME}:/// URI.")
    database = Path("/" + store_uri.removeprefix(f"{SCHEME}:///").lstrip("/"))
    return f"sqlite:///{database.as_posix()}", (database.parent / "artifacts").as_posix()


def _download_copies() -> None:
    """Loading ``models:/...`` from a workspace's artifacts copies them, as from Azure's storage.

    MLflow's local artifact repository hands out the stored folder itself when no destination is
    given, and ``mlflow.pyfunc.load_model`` then writes its ``registered_model_meta`` file into it:
    a load would change a registered model's files, which never happens on Azure (a download goes
    to a temporary folder). Inside a local workspace or registry (a folder with ``workspace.yaml``
    or ``registry.yaml`` above it), downloads without a destination get a fresh copy instead.
    """
    from mlflow.store.artifact.artifact_repo import ArtifactRepository
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

    original = LocalArtifactRepository.download_artifacts
    if getattr(original, "_accelerator", False):
        return

    def download_artifacts(self: Any, artifact_path: str, dst_path: str | None = None) -> str:
        root = Path(self.artifact_dir)
        in_store = any(
            (folder / "workspace.yaml").is_file() or (folder / "registry.yaml").is_file()
            for folder in (root, *root.parents)
        )
        if dst_path or not in_store:
            return original(self, artifact_path, dst_path)
        return ArtifactRepository.download_artifacts(self, artifact_path, None)

    download_artifacts._accelerator = True  # type: ignore[attr-defined]
    LocalArtifactRepository.download_artifacts = download_artifacts  # type: ignore[method-assign]


def tracking_store(store_uri: str, artifact_uri: str | None = None) -> Any:
    """MLflow's tracking store plugin entry point for the ``accelerator-sqlite`` scheme."""
    _download_copies()
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import ENDPOINT_NOT_FOUND
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    class WorkspaceTrackingStore(SqlAlchemyStore):
        """MLflow's SQLite store without the logged-models API, which Azure ML's MLflow server lacks.

        On Azure, ``mlflow.<flavor>.log_model`` (and autologging of models) fails with a 404 from
        ``/api/2.0/mlflow/logged-models``; failing the same way here keeps local code portable.
        """

        def create_logged_model(self, *args: Any, **kwargs: Any) -> Any:
            raise MlflowException(
                "API request to endpoint /api/2.0/mlflow/logged-models failed with error code 404 != 200: "
                "Azure ML's MLflow server has no logged-models API, and the local backend behaves the "
                "same. Save the model with mlflow.<flavor>.save_model, log the folder with "
                "mlflow.log_artifacts and register it with mlflow.register_model('runs:/<run id>/<path>'); "
                "with autologging, pass log_models=False.",
                error_code=ENDPOINT_NOT_FOUND,
            )

    database, artifacts = _database(store_uri)
    return WorkspaceTrackingStore(database, artifact_uri or artifacts)


def registry_store(store_uri: str, tracking_uri: str | None = None) -> Any:
    """MLflow's model registry store plugin entry point for the ``accelerator-sqlite`` scheme."""
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

    _download_copies()

    return SqlAlchemyStore(_database(store_uri)[0])


def client(workspace_dir: Path) -> MlflowClient:
    """An MLflow client on the workspace's store; the first call creates the database.

    Creation is serialised with a file lock: two processes creating the schema at once collide.
    """
    from mlflow import MlflowClient

    folder = mlflow_dir(workspace_dir)
    folder.mkdir(parents=True, exist_ok=True)
    uri = tracking_uri(workspace_dir)
    with FileLock(folder / ".schema.lock", timeout=120):
        tracking = MlflowClient(tracking_uri=uri, registry_uri=uri)
        tracking.search_experiments(max_results=1)  # creates and migrates the schema once
    return tracking


def experiment_id(tracking: MlflowClient, workspace_dir: Path, name: str) -> str:
    """The id of experiment ``name``, created if it is new."""
    with FileLock(mlflow_dir(workspace_dir) / ".experiments.lock", timeout=60):
        existing = tracking.get_experiment_by_name(name)
        if existing is not None:
            return existing.experiment_id
        return tracking.create_experiment(name)


def create_run(
    tracking: MlflowClient, experiment: str, run_id: str, run_name: str, tags: dict[str, str]
) -> str:
    """Create the MLflow run of a job, with the job name as its run id, as Azure ML does.

    MLflow offers no public way to choose a run id, so the store's id generator is swapped for the
    one call. Should a future MLflow stop using it, the generated id is returned instead (the job
    record keeps whichever id the run has).
    """
    from mlflow.store.tracking import sqlalchemy_store

    original = sqlalchemy_store.uuid
    sqlalchemy_store.uuid = types.SimpleNamespace(uuid4=lambda: types.SimpleNamespace(hex=run_id))  # type: ignore[assignment]
    try:
        run = tracking.create_run(experiment, run_name=run_name, tags=tags)
    finally:
        sqlalchemy_store.uuid = original
    return run.info.run_id


def end_run(tracking: MlflowClient, run_id: str, status: str) -> None:
    """Close a job's run with the MLflow status matching the job's (FINISHED, FAILED, KILLED)."""
    run = tracking.get_run(run_id)
    if run.info.status in ("RUNNING", "SCHEDULED"):
        tracking.set_terminated(run_id, status)


def metric(tracking: MlflowClient, run_id: str, name: str) -> Any:
    """The last value logged for ``name`` in a run, or None."""
    return tracking.get_run(run_id).data.metrics.get(name)
