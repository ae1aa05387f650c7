"""``ml_client.models`` of a registry client (``MLClient(credential, registry_name=...)``) locally.

A registry is not a workspace: it has no MLflow tracking server, and its versions are whatever the
publisher chose (a model shared as version 2 is version 2 there, with no version 1). So a registry
keeps each model version as a record beside a copy of its files, under
``registries/<registry>/models/<name>/<version>.yaml`` and ``.../model-files/<name>/<version>/``.

Followed from the SDK (``azure/ai/ml/operations/_model_operations.py``): ``create_or_update`` in a
registry auto-increments a missing version; a ``WorkspaceAssetReference`` (what ``share`` sends)
is refused with "A model with this name and version already exists in registry" when that version
exists, whatever its content; ids have the form ``azureml://registries/<r>/models/<n>/versions/<v>``.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from azure.ai.ml import operations as sdk_operations
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import Model
from azure.ai.ml.entities._assets.workspace_asset_reference import WorkspaceAssetReference
from azure.ai.ml.exceptions import ErrorTarget, ValidationErrorType
from azure.core.paging import ItemPaged

from accelerator._hashing import fingerprint
from accelerator.local._assets import VersionedRecords, copy_model_files
from accelerator.local._exceptions import (
    LocalBackendUnsupportedError,
    conflict,
    not_found,
    user_error,
    validation_error,
)
from accelerator.local._paging import paged
from accelerator.local._validation import check_name
from accelerator.local.operations._base import LocalOperations

EXISTS_IN_REGISTRY = "A model with this name and version already exists in registry"
# Where the local registry keeps the source of a shared version (the WorkspaceAssetReference's
# asset_id); the service keeps it with the imported asset.
SOURCE_PROPERTY = "azureml.sourceAssetId"  # the REST body's sourceAssetId
_TYPES = (AssetTypes.MLFLOW_MODEL, AssetTypes.CUSTOM_MODEL)


class RegistryModelOperations(LocalOperations):
    _sdk_class = sdk_operations.ModelOperations
    _group = "models"

    @property
    def _records(self) -> VersionedRecords:
        return VersionedRecords(self._scope.require_registry() / "models")

    def _files_dir(self, name: str, version: str) -> Path:
        return self._scope.require_registry() / "model-files" / name / version

    # -- write -------------------------------------------------------------------------------------

    def create_or_update(self, model: Model | WorkspaceAssetReference) -> Model:
        """Publish a model with local files into the registry (a new version, or the same one again)."""
        if isinstance(model, WorkspaceAssetReference):
            raise LocalBackendUnsupportedError(
                "WorkspaceAssetReference passed directly", "Call models.share(...) on the workspace's client."
            )
        if not isinstance(model, Model):
            raise TypeError(f"model must be an azure.ai.ml.entities.Model, not {type(model)}")
        kind = model.type or AssetTypes.CUSTOM_MODEL
        if kind not in _TYPES:
            raise LocalBackendUnsupportedError(f"models of type '{kind}'", f"Use one of {', '.join(_TYPES)}.")
        check_name("asset", model.name, ErrorTarget.MODEL)
        path = str(model.path or "")
        if not path or ("://" in path and not path.startswith("file://")):
            raise user_error(
                "A registry model needs a local path here; to publish a workspace's model, "
                "use models.share(...) on the workspace's client.",
                ErrorTarget.MODEL,
            )
        source = Path(path.removeprefix("file://"))
        if not source.is_absolute():
            source = Path(model.base_path or ".") / source
        if not source.exists():
            raise user_error(
                f"No such file or directory: '{path}'.",
                ErrorTarget.MODEL,
                ValidationErrorType.FILE_OR_FOLDER_NOT_FOUND,
            )
        entity = _fields(model, kind)
        return self._publish(model.name, model.version, source, entity, source_id=None)

    def _publish(
        self, name: str, version: str | None, source: Path, entity: dict[str, Any], *, source_id: str | None
    ) -> Model:
        """Copy the files, then write the record (last: a crash in between leaves no version)."""
        if entity["type"] == AssetTypes.MLFLOW_MODEL and not (source / "MLmodel").is_file():
            raise user_error(
                f"No MLmodel file was found in '{source.name}': an mlflow_model must point "
                "to the folder an MLflow model was saved to.",
                ErrorTarget.MODEL,
                ValidationErrorType.FILE_OR_FOLDER_NOT_FOUND,
            )
        digest = fingerprint(source.resolve().as_posix())
        records = self._records
        with records.lock(name):
            version = (
                records.next_version(name)
                if version is None
                else check_name("version", str(version), ErrorTarget.MODEL)
            )
            existing = records.get(name, version)
            if existing is not None:
                if source_id is not None:  # what share() sends: refused as the SDK refuses it
                    raise validation_error(EXISTS_IN_REGISTRY, ErrorTarget.MODEL)
                if existing["fingerprint"] != digest or existing["entity"]["type"] != entity["type"]:
                    raise conflict(
                        f"Model {name}:{version} already exists in {self._scope.where()} with other files, "
                        "and registry versions are immutable. Publish a new version."
                    )
                return self.get(name, version)
            target = self._files_dir(name, version)
            staging = target.with_name(f".{version}-{uuid.uuid4().hex[:8]}")
            staging.mkdir(parents=True)
            try:
                if source.is_dir():
                    shutil.copytree(source, staging / source.name)
                else:
                    shutil.copy2(source, staging / source.name)
                if target.exists():  # files of an interrupted earlier attempt, never recorded
                    shutil.rmtree(target)
                staging.rename(target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            if source_id:
                entity["properties"] = {**entity["properties"], SOURCE_PROPERTY: source_id}
            entity["path"] = source.name
            records.put(name, version, entity, fingerprint=digest)
        return self.get(name, version)

    # -- read --------------------------------------------------------------------------------------

    def get(self, name: str, version: str | None = None, label: str | None = None) -> Model:
        if version and label:
            raise validation_error("Cannot specify both version and label.", ErrorTarget.MODEL)
        if not version and not label:
            raise validation_error(
                "Must provide either version or label.", ErrorTarget.MODEL, ValidationErrorType.MISSING_FIELD
            )
        check_name("asset", name, ErrorTarget.MODEL)
        if label:
            if label != "latest":
                raise validation_error(
                    f"Unrecognized label '{label}': the only supported label is 'latest'.", ErrorTarget.MODEL
                )
            record = self._records.latest(name)
            if record is None:
                raise not_found("Model", name, self._scope.where())
            return self._entity(record)
        record = self._records.get(name, str(version))
        if record is None:
            raise not_found("Model", f"{name}:{version}", self._scope.where())
        return self._entity(record)

    def list(
        self, name: str | None = None, stage: str | None = None, *, list_view_type: Any = None
    ) -> ItemPaged:
        """With a name, its versions (oldest first); without, the latest version of each model."""
        records = self._records
        if name:
            check_name("asset", name, ErrorTarget.MODEL)
            return paged(self._entity(r) for r in records.versions(name))
        return paged(self._entity(records.latest(n)) for n in records.names())

    def download(self, name: str, version: str, download_path: str | Path = ".") -> None:
        """As the SDK: the model's files under ``<download_path>/<name>/``."""
        self.get(name, version)
        copy_model_files(Path(self._local_path(name, version)), Path(download_path) / name)

    def share(self, *args: Any, **kwargs: Any) -> Model:
        raise user_error(
            "share() copies a workspace's model into a registry: call it on a workspace client.",
            ErrorTarget.MODEL,
        )

    # -- helpers -----------------------------------------------------------------------------------

    def _local_path(self, name: str, version: str) -> str:
        """Where a version's files are on this machine (for deployments and downloads)."""
        record = self._records.get(name, str(version))
        if record is None:
            raise not_found("Model", f"{name}:{version}", self._scope.where())
        return str(self._files_dir(name, str(version)) / record["entity"]["path"])

    def _entity(self, record: dict[str, Any]) -> Model:
        entity = record["entity"]
        model = Model(
            name=record["name"],
            version=str(record["version"]),
            type=entity["type"],
            path=self._local_path(record["name"], str(record["version"])),
            description=entity.get("description"),
            tags=dict(entity.get("tags") or {}),
            properties=dict(entity.get("properties") or {}),
            flavors=entity.get("flavors") or None,
        )
        model._id = self._scope.asset_id("models", record["name"], str(record["version"]))
        return model


def _fields(model: Model, kind: str) -> dict[str, Any]:
    """What a registry version keeps of a model, besides its files."""
    return {
        "type": kind,
        "description": model.description,
        "tags": {str(k): str(v) for k, v in (model.tags or {}).items()},
        "properties": {str(k): str(v) for k, v in (model.properties or {}).items()},
        "flavors": _plain_flavors(model.flavors),
    }


def _plain_flavors(flavors: Any) -> dict[str, Any] | None:
    if not flavors:
        return None
    return {str(k): {str(a): str(b) for a, b in (v or {}).items()} for k, v in dict(flavors).items()}
