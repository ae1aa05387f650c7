"""``ml_client.models`` on the local backend, backed by the workspace's MLflow model registry.

As in Azure ML, ``ml_client.models`` and ``mlflow`` are two views of one registry: a version
registered with ``mlflow.register_model`` inside a job is listed here, and one created here is
loadable with ``mlflow.pyfunc.load_model("models:/<name>/<version>")``. Versions are numbered by
the registry (1, 2, 3, ...). What Azure ML keeps beside MLflow (the model type, the original
path, archiving) is kept in version tags under ``azureml.``, hidden from the model's own tags.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from azure.ai.ml import operations as sdk_operations
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import Model
from azure.ai.ml.exceptions import ErrorTarget, ValidationErrorType
from filelock import FileLock
from fsspec.implementations.local import LocalFileSystem

from accelerator._hashing import fingerprint
from accelerator.local import _mlflow
from accelerator.local._assets import copy_model_files
from accelerator.local._exceptions import (
    LocalBackendUnsupportedError,
    not_found,
    user_error,
    validation_error,
)
from accelerator.local._execution._paths import local_output
from accelerator.local._execution._records import JobRecords
from accelerator.local._paging import paged
from accelerator.local._scope import LocalScope
from accelerator.local._storage import parse_datastore_uri
from accelerator.local._store import file_name, relative
from accelerator.local._system_data import identity, system_data
from accelerator.local._uploads import DatastoreFiles, LocalUploads
from accelerator.local._validation import check_name
from accelerator.local.operations._base import LocalOperations

_TYPE_TAG = "azureml.model_type"
_PATH_TAG = "azureml.path"
_ARCHIVED_TAG = "azureml.archived"
_CREATOR_TAG = "azureml.created_by"
_VERSION_TAG = "azureml.version"
_JOB_OUTPUT = re.compile(r"^azureml://jobs/(?P<job>[^/]+)/outputs/(?P<output>[^/]+)(?:/paths/(?P<path>.*))?$")
_ARTIFACTS = "artifacts"  # every job's default output: the files logged to its run
_TYPES = (AssetTypes.MLFLOW_MODEL, AssetTypes.CUSTOM_MODEL)


class ModelFiles:
    """Where a workspace's registered model versions, and the artifacts its jobs logged to their
    MLflow runs, are on this machine. Shared by ``ml_client.models`` (downloads, sharing), the
    orchestrator (job inputs) and the deployment groups (what a deployment serves)."""

    def __init__(self, scope: LocalScope) -> None:
        self._scope = scope

    def _tracking(self) -> Any:
        return _mlflow.client(self._scope.require_workspace())

    def local_path(self, name: str, version: str) -> str:
        """Where a version's files are on this machine (for job inputs and downloads)."""
        tracking = self._tracking()
        found = _find(_versions(tracking, name), str(version))
        if found is None:
            raise not_found("Model", f"{name}:{version}", f"workspace '{self._scope.workspace_name}'")
        uri = tracking.get_model_version_download_uri(name, found.version)
        return str(uri).removeprefix("file://")

    def run_artifacts(self, record: dict[str, Any], artifact: str, path: str) -> tuple[str, str | None, str]:
        """``azureml://jobs/<job>/outputs/artifacts/paths/<path>``: what the job logged to its MLflow
        run (the documented way to register the MLflow model a job saved and logged)."""
        run_id = record.get("mlflow_run_id")
        if not run_id:
            raise user_error(f"Job {record['name']} has no run artifacts.", ErrorTarget.MODEL)
        run = self._tracking().get_run(run_id)
        root = Path(run.info.artifact_uri.removeprefix("file://"))
        local = (root / artifact.strip("/")).resolve()
        # The path names a file or folder of the run's artifacts, never one outside them.
        if not local.is_relative_to(root.resolve()) or not local.exists():
            raise user_error(
                f"The output path '{path}' has no files: job {record['name']} logged no "
                f"artifact '{artifact.strip('/')}'.",
                ErrorTarget.MODEL,
                ValidationErrorType.FILE_OR_FOLDER_NOT_FOUND,
            )
        return str(local), run_id, path


class ModelOperations(LocalOperations):
    _sdk_class = sdk_operations.ModelOperations
    _group = "models"

    def __init__(
        self,
        scope: LocalScope,
        client: Any,
        files: ModelFiles,
        datastores: DatastoreFiles,
        uploads: LocalUploads,
    ) -> None:
        super().__init__(scope)
        self._client = client  # the LocalMLClient, for ml_client.jobs.get
        self._files = files
        self._datastores = datastores
        self._uploads = uploads

    def _tracking(self) -> Any:
        return _mlflow.client(self._scope.require_workspace())

    # -- write -------------------------------------------------------------------------------------

    def create_or_update(self, model: Model) -> Model:
        if not isinstance(model, Model):
            raise TypeError(f"model must be an azure.ai.ml.entities.Model, not {type(model)}")
        kind = model.type or AssetTypes.CUSTOM_MODEL
        if kind not in _TYPES:
            raise LocalBackendUnsupportedError(f"models of type '{kind}'", f"Use one of {', '.join(_TYPES)}.")
        if not model.path:
            raise user_error("A model needs a path.", ErrorTarget.MODEL)
        check_name("asset", model.name, ErrorTarget.MODEL)
        source, run_id, shown = self._source(model)
        if kind == AssetTypes.MLFLOW_MODEL and not (Path(source) / "MLmodel").is_file():
            raise user_error(
                f"No MLmodel file was found in '{model.path}'. An mlflow_model must point to the "
                "folder an MLflow model was saved to (with mlflow.<flavor>.save_model or log_model).",
                ErrorTarget.MODEL,
                ValidationErrorType.FILE_OR_FOLDER_NOT_FOUND,
            )
        tracking = self._tracking()
        tags = {str(k): str(v) for k, v in (model.tags or {}).items()}
        tags.update({_TYPE_TAG: kind, _PATH_TAG: shown, _CREATOR_TAG: identity()})
        with FileLock(
            # A bounded file name: a valid 255-character model name still gets its lock.
            _mlflow.mlflow_dir(self._scope.require_workspace()) / file_name(model.name, ".lock", ".model-"),
            timeout=60,
        ):
            existing = _versions(tracking, model.name)
            if model.version is not None:
                version = check_name("version", str(model.version), ErrorTarget.MODEL)
                current = next((v for v in existing if _version(v) == version), None)
                if current is not None:
                    return self._update(tracking, current, model, tags, source)
            else:
                version = ""  # known once MLflow has numbered the new version
            if not existing and not _registered(tracking, model.name):
                tracking.create_registered_model(model.name)
            # MLflow numbers its versions in order. Where that number is not the Azure ML version (one
            # the caller chose, or the next after a chosen one), the Azure ML version is kept in a
            # tag, and every lookup here goes by it. A version mlflow.register_model creates meanwhile
            # (in a job, without this lock) keeps its own number.
            created = tracking.create_model_version(
                model.name, source=source, run_id=run_id, tags=tags, description=model.description
            )
            if model.version is None:
                taken = [_version(v) for v in _versions(tracking, model.name) if v.version != created.version]
                numbers = [int(t) for t in taken if t.isdigit()]
                # Azure ML's next version: one more than the largest integer version.
                version = created.version if int(created.version) > max(numbers, default=0) else None
                version = str(version or max(numbers, default=0) + 1)
            if str(created.version) != version:
                tracking.set_model_version_tag(model.name, created.version, _VERSION_TAG, version)
        return self.get(model.name, version)

    def _update(self, tracking: Any, current: Any, model: Model, tags: dict[str, str], source: str) -> Model:
        """Re-registering an existing version may change its tags and description, not its files."""
        same = current.source == source or (
            "://" not in current.source and Path(current.source).resolve() == Path(source).resolve()
        )
        if not same:
            raise user_error(
                f"Model {model.name}:{current.version} already exists with another path, and a "
                "version's files cannot change. Register a new version.",
                ErrorTarget.MODEL,
            )
        tags.pop(_CREATOR_TAG, None)  # the version keeps who created it
        for key, value in tags.items():
            tracking.set_model_version_tag(model.name, current.version, key, value)
        if model.description is not None:
            tracking.update_model_version(model.name, current.version, description=model.description)
        return self.get(model.name, _version(current))

    def _source(self, model: Model) -> tuple[str, str | None, str]:
        """(local folder or file MLflow registers, run id, the path shown on the model)."""
        path = str(model.path)
        workspace_dir = self._scope.require_workspace()
        job_output = _JOB_OUTPUT.match(path)
        if job_output:
            # Checked first: never '..', the model stays inside the job's output.
            inner = relative(job_output["path"], "job output path", ErrorTarget.MODEL)
            records = JobRecords(workspace_dir)
            job = self._client.jobs.get(job_output["job"]).name
            record = records.get(job)
            if record["status"] != "Completed":
                raise user_error(
                    f"Job {job} is {record['status']}; register a model from a completed job's output.",
                    ErrorTarget.MODEL,
                )
            spec = (record.get("outputs") or {}).get(job_output["output"])
            if job_output["output"] == _ARTIFACTS and not spec:
                return self._files.run_artifacts(record, job_output["path"] or "", path)
            if not spec or not spec.get("uri"):
                raise user_error(f"Job {job} has no output '{job_output['output']}'.", ErrorTarget.MODEL)
            fs, local = local_output(workspace_dir, spec)
            if inner:
                local = f"{local}/{inner}"
            if not isinstance(fs, LocalFileSystem):
                raise LocalBackendUnsupportedError("models registered from outputs in blob datastores")
            if not fs.exists(local):
                raise user_error(f"The output path '{path}' has no files.", ErrorTarget.MODEL)
            return local, record.get("mlflow_run_id"), path
        if path.startswith("runs:/"):
            run_id, _, artifact = path.removeprefix("runs:/").partition("/")
            artifact = relative(artifact, "artifact path", ErrorTarget.MODEL)  # inside the run's artifacts
            tracking = self._tracking()
            run = tracking.get_run(run_id)
            local = f"{run.info.artifact_uri.removeprefix('file://')}/{artifact}".rstrip("/")
            if not Path(local).exists():
                raise user_error(f"Run {run_id} has no artifact '{artifact}'.", ErrorTarget.MODEL)
            return local, run_id, path
        datastore = parse_datastore_uri(path)
        if datastore is not None:
            fs, root = self._datastores.filesystem(datastore.datastore)
            local = f"{root}/{datastore.path}".rstrip("/")
            if not isinstance(fs, LocalFileSystem):
                raise LocalBackendUnsupportedError("models registered from blob datastores")
            if not fs.exists(local):
                raise user_error(f"No such file or directory: '{path}'.", ErrorTarget.MODEL)
            return local, None, self._scope.datastore_uri(datastore.datastore, datastore.path)
        if "://" in path and not path.startswith("file://"):
            raise LocalBackendUnsupportedError(
                f"model paths of the form '{path.split('://')[0]}://'",
                "Use a local path, a job output (azureml://jobs/<job>/outputs/<output>) "
                "or runs:/<run id>/<path>.",
            )
        local_path = Path(path.removeprefix("file://"))
        if not local_path.is_absolute():
            local_path = Path(model.base_path or ".") / local_path
        if not local_path.exists():
            raise user_error(f"No such file or directory: '{path}'.", ErrorTarget.MODEL)
        # Uploaded once per content into the default datastore, as the SDK uploads a local model.
        fs = LocalFileSystem()
        uploaded = self._uploads.upload(
            fs, local_path.resolve().as_posix(), fingerprint(local_path.resolve().as_posix(), fs)
        )
        parsed = parse_datastore_uri(uploaded)
        assert parsed is not None
        store_fs, root = self._datastores.filesystem(parsed.datastore)
        if not isinstance(store_fs, LocalFileSystem):
            raise LocalBackendUnsupportedError("models uploaded to a blob default datastore")
        return f"{root}/{parsed.path}", None, uploaded

    def share(
        self, name: str, version: str, *, share_with_name: str, share_with_version: str, registry_name: str
    ) -> Model:
        """Copy a version into a registry, as ``ModelOperations.share`` in the SDK (experimental).

        The files are copied byte for byte; tags, properties and the MLflow flavors go with them, and
        the registry records the source version's asset id (the ``WorkspaceAssetReference``). A
        name and version the registry already has are refused, as the SDK refuses them.
        """
        from accelerator.local.operations import _sharing
        from accelerator.local.operations._registry_model_operations import RegistryModelOperations

        model = self.get(name, version)
        shared = _sharing.reference(
            self._scope, "models", name, str(version), share_with_name, share_with_version
        )
        registry = RegistryModelOperations(_sharing.registry_scope(self._scope, registry_name))
        source = Path(self._local_path(name, str(version)))
        entity = {
            "type": model.type,
            "description": model.description,
            "tags": dict(model.tags or {}),
            "properties": dict(model.properties or {}),
            "flavors": _mlflow_flavors(source) if model.type == AssetTypes.MLFLOW_MODEL else None,
        }
        return registry._publish(shared.name, shared.version, source, entity, source_id=shared.asset_id)

    # -- read --------------------------------------------------------------------------------------

    def get(self, name: str, version: str | None = None, label: str | None = None) -> Model:
        if version and label:
            raise validation_error("Cannot specify both version and label.", ErrorTarget.MODEL)
        if not version and not label:
            raise validation_error(
                "Must provide either version or label.", ErrorTarget.MODEL, ValidationErrorType.MISSING_FIELD
            )
        tracking = self._tracking()
        versions = _versions(tracking, name)
        if label:
            if label != "latest":
                raise validation_error(
                    f"Unrecognized label '{label}': the only supported label is 'latest'.", ErrorTarget.MODEL
                )
            # As on Azure, 'latest' is the newest version that is not archived.
            active = [v for v in versions if v.tags.get(_ARCHIVED_TAG) != "true"]
            if not active:
                raise not_found("Model", name, f"workspace '{self._scope.workspace_name}'")
            return self._entity(active[-1])
        found = _find(versions, str(version))
        if found is None:
            raise not_found("Model", f"{name}:{version}", f"workspace '{self._scope.workspace_name}'")
        return self._entity(found)

    def list(self, name: str | None = None, stage: str | None = None, *, list_view_type: Any = None) -> Any:
        """With a name, its versions (oldest first); without, the latest version of each model."""
        view = str(list_view_type or "ActiveOnly").split(".")[-1].lower().replace("_", "")
        tracking = self._tracking()

        def shown(version: Any) -> bool:
            archived = version.tags.get(_ARCHIVED_TAG) == "true"
            return view == "all" or (archived if view == "archivedonly" else not archived)

        if name:
            return paged(self._entity(v) for v in _versions(tracking, name) if shown(v))
        latest = []
        for registered in _all_pages(tracking.search_registered_models):
            versions = [v for v in _versions(tracking, registered.name) if shown(v)]
            if versions:
                latest.append(versions[-1])
        return paged(self._entity(v) for v in latest)

    def download(self, name: str, version: str, download_path: str | Path = ".") -> None:
        """As the SDK: the model's files under ``<download_path>/<name>/``."""
        self.get(name, version)
        copy_model_files(Path(self._local_path(name, version)), Path(download_path) / name)

    def archive(self, name: str, version: str | None = None, label: str | None = None, **kwargs: Any) -> None:
        self._set_archived(name, version, label, True)

    def restore(self, name: str, version: str | None = None, label: str | None = None, **kwargs: Any) -> None:
        self._set_archived(name, version, label, False)

    def _set_archived(self, name: str, version: str | None, label: str | None, archived: bool) -> None:
        tracking = self._tracking()
        targets = (
            [self.get(name, version, label)]
            if (version or label)
            else list(self.list(name, list_view_type="All"))
        )
        versions = _versions(tracking, name)
        for model in targets:
            found = _find(versions, str(model.version))
            tracking.set_model_version_tag(
                name, found.version, _ARCHIVED_TAG, "true" if archived else "false"
            )

    # -- helpers -----------------------------------------------------------------------------------

    def _local_path(self, name: str, version: str) -> str:
        return self._files.local_path(name, version)

    def _entity(self, version: Any) -> Model:
        tags = dict(version.tags or {})
        kind = tags.get(_TYPE_TAG)
        if kind is None:  # registered with MLflow: an MLflow model, as Azure ML shows it
            kind = AssetTypes.MLFLOW_MODEL
        path = tags.get(_PATH_TAG) or version.source
        visible = {k: v for k, v in tags.items() if not k.startswith("azureml.")}
        model = Model(
            name=version.name,
            version=_version(version),
            type=kind,
            path=path,
            description=version.description or None,
            tags=visible,
            properties={"mlflow.run_id": version.run_id} if version.run_id else {},
            job_name=version.run_id or None,
        )
        model._creation_context = system_data(
            version.creation_timestamp, tags.get(_CREATOR_TAG), version.last_updated_timestamp
        )
        model._id = self._scope.arm_id(
            "workspaces",
            self._scope.workspace_name or "",
            "models",
            version.name,
            "versions",
            _version(version),
        )
        return model


def _mlflow_flavors(folder: Path) -> dict[str, dict[str, str]] | None:
    """The flavors of an MLflow model folder, as Azure ML lists them on the model (scalars only)."""
    import yaml

    mlmodel = folder / "MLmodel"
    if not mlmodel.is_file():
        return None
    flavors = (yaml.safe_load(mlmodel.read_text()) or {}).get("flavors") or {}
    return {
        str(flavor): {str(k): str(v) for k, v in (settings or {}).items() if not isinstance(v, (dict, list))}
        for flavor, settings in flavors.items()
    }


def _find(versions: list[Any], version: str) -> Any:
    """The MLflow version holding Azure ML version ``version`` (the oldest, should two claim it)."""
    return next((v for v in versions if _version(v) == version), None)


def _versions(tracking: Any, name: str) -> list[Any]:
    check_name("asset", name, ErrorTarget.MODEL)
    found = _all_pages(tracking.search_model_versions, filter_string=f"name='{name}'")
    return sorted(found, key=lambda v: int(v.version))


def _all_pages(search: Any, **arguments: Any) -> list[Any]:
    """Every result of an MLflow search, page after page (a page holds at most a few hundred)."""
    found: list[Any] = []
    token = None
    while True:
        page = search(**arguments, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            return found


def _registered(tracking: Any, name: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        tracking.get_registered_model(name)
    except MlflowException:
        return False
    return True


def _version(version: Any) -> str:
    """The Azure ML version of an MLflow model version: its tag, else MLflow's own number (a version
    registered with ``mlflow.register_model`` has no tag)."""
    return str((version.tags or {}).get(_VERSION_TAG) or version.version)
