"""``ml_client.data`` on the local backend.

As ``MLClient`` does, a local file or folder is uploaded into the default datastore under
``LocalUpload/<hash>/`` and the asset points there: that copy, and so the version, never changes
after registration. A path already in a datastore (``azureml://datastores/<name>/paths/<path>``) is
registered as a reference, as on Azure.
"""

from __future__ import annotations

from pathlib import Path

import fsspec
from azure.ai.ml import load_data
from azure.ai.ml import operations as sdk_operations
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import Data
from azure.ai.ml.exceptions import AssetPathException, ErrorCategory, ErrorTarget, ValidationErrorType
from fsspec.implementations.local import LocalFileSystem

from accelerator._hashing import fingerprint, list_files
from accelerator.local._exceptions import LocalBackendUnsupportedError, user_error, validation_error
from accelerator.local._scope import LocalScope
from accelerator.local._storage import parse_datastore_uri
from accelerator.local._store import plain
from accelerator.local._uploads import DatastoreFiles, LocalUploads
from accelerator.local._validation import check_name, to_rest
from accelerator.local.operations._asset_operations import VersionedAssetOperations

_SUPPORTED_TYPES = (AssetTypes.URI_FILE, AssetTypes.URI_FOLDER, AssetTypes.MLTABLE)


class DataOperations(VersionedAssetOperations):
    _sdk_class = sdk_operations.DataOperations
    _group = "data"
    _folder = "data"
    _kind = "Data asset"
    _target = ErrorTarget.DATA
    _loader = staticmethod(load_data)

    def create_or_update(self, data: Data) -> Data:
        if not isinstance(data, Data):
            raise TypeError(f"data must be an azure.ai.ml.entities.Data, not {type(data)}")
        if data.type not in _SUPPORTED_TYPES:
            raise LocalBackendUnsupportedError(
                f"data assets of type '{data.type}'", f"Use one of {', '.join(_SUPPORTED_TYPES)}."
            )
        if not data.path:
            raise user_error("A data asset needs a path.", self._target)
        check_name("asset", data.name, self._target)
        source = str(data.path)
        fs, path, reference = self._source(data)
        _check_shape(fs, path, data.type, source)
        # Local files are uploaded, so the version is identified by their content; a datastore
        # path is registered as a reference, as Azure does, and identified by the path itself.
        identity = reference or fingerprint(path, fs)

        with self._records.lock(data.name):
            version = self._resolve_version(data.name, data.version)
            existing = self._records.get(data.name, version)
            if existing is not None and (existing["fingerprint"], existing["entity"]["type"]) != (
                identity,
                data.type,
            ):
                message = (
                    f"The data asset {data.name}:{version} is already registered with another path "
                    "or other content, and a registered version cannot change. Please provide a "
                    "unique name or version."
                )
                raise AssetPathException(
                    message=message,
                    no_personal_data_message="The data asset version already exists with other content.",
                    target=ErrorTarget.DATA,
                    error_category=ErrorCategory.USER_ERROR,
                )
            data.version = version
            data.path = reference or self._uploads.upload(fs, path, identity)
            if data.type == AssetTypes.URI_FOLDER and not data.path.endswith("/"):
                data.path += "/"
            to_rest(data)
            entity = plain(data._to_dict())
            self._records.put(data.name, version, entity, fingerprint=identity, source=source)
        return self.get(data.name, version)

    def __init__(self, scope: LocalScope, datastores: DatastoreFiles, uploads: LocalUploads) -> None:
        super().__init__(scope)
        self._datastores = datastores
        self._uploads = uploads

    def _source(self, data: Data) -> tuple[fsspec.AbstractFileSystem, str, str | None]:
        """The filesystem and path of the asset's files, and its azureml:// URI if it has one."""
        text = str(data.path)
        uri = parse_datastore_uri(text)
        if uri is not None:
            if uri.workspace and uri.workspace != self._scope.workspace_name:
                raise LocalBackendUnsupportedError(
                    "data paths in another workspace's datastore",
                    f"The path names workspace '{uri.workspace}'.",
                )
            fs, root = self._datastores.filesystem(uri.datastore)
            return fs, f"{root}/{uri.path}".rstrip("/"), self._scope.datastore_uri(uri.datastore, uri.path)
        if "://" in text and not text.startswith("file://"):
            raise LocalBackendUnsupportedError(
                f"data paths of the form '{text.split('://')[0]}://'",
                "Use a local path or azureml://datastores/<name>/paths/<path>.",
            )
        local = Path(text.removeprefix("file://"))
        if not local.is_absolute():
            local = Path(data.base_path or ".") / local
        return LocalFileSystem(), local.resolve().as_posix(), None


def _check_shape(fs: fsspec.AbstractFileSystem, path: str, kind: str, source: str) -> None:
    """The checks the SDK and service make on a data asset's path."""
    if not fs.exists(path):
        raise user_error(
            f"No such file or directory: '{source}'.",
            ErrorTarget.DATA,
            ValidationErrorType.FILE_OR_FOLDER_NOT_FOUND,
        )
    if kind == AssetTypes.URI_FILE and fs.isdir(path):
        raise user_error(
            f"'{source}' is a folder, but a uri_file data asset must point to a file.",
            ErrorTarget.DATA,
        )
    if kind in (AssetTypes.URI_FOLDER, AssetTypes.MLTABLE):
        if not fs.isdir(path):
            raise user_error(
                f"'{source}' is a file, but a {kind} data asset must point to a folder.",
                ErrorTarget.DATA,
            )
        if not list_files(fs, path):
            raise validation_error(
                f"Directory {source} is empty. path or local_path must be a non-empty directory.",
                ErrorTarget.DATA,
            )
    if kind == AssetTypes.MLTABLE and not fs.isfile(f"{path}/MLTable"):
        raise user_error(
            f"No MLTable file was found in '{source}'. An mltable data asset needs a folder "
            "with an MLTable file.",
            ErrorTarget.DATA,
            ValidationErrorType.FILE_OR_FOLDER_NOT_FOUND,
        )
