"""``ml_client.datastores`` on the local backend.

Every workspace gets the default ``workspaceblobstore``, backed by a folder. A blob datastore a
user registers is backed by Azurite when ``ACCELERATOR_BLOB_CONNECTION_STRING`` is set, else by a
folder. Credentials are never written to the store (Azure keeps them in Key Vault).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from azure.ai.ml import load_datastore
from azure.ai.ml import operations as sdk_operations
from azure.ai.ml.entities import AzureBlobDatastore, AzureDataLakeGen2Datastore, Datastore
from azure.ai.ml.exceptions import ErrorTarget

from accelerator.local._exceptions import LocalBackendUnsupportedError, not_found, user_http_error
from accelerator.local._paging import paged
from accelerator.local._storage import (
    BLOB_CONNECTION_STRING_VARIABLE,
    DEFAULT_DATASTORE,
    blob_backing,
    datastore_record,
    filesystem,
    folder_backing,
)
from accelerator.local._store import plain, read_all, read_record, records, write_record
from accelerator.local._validation import check_name, to_rest
from accelerator.local.operations._base import LocalOperations

_REQUIRED = ("backing", "entity")


def create_default_datastore(workspace_dir: Path, workspace_name: str) -> None:
    account = "st" + "".join(ch for ch in workspace_name.lower() if ch.isalnum())[:22]
    default = AzureBlobDatastore(
        name=DEFAULT_DATASTORE,
        account_name=account,
        container_name=f"azureml-blobstore-{workspace_name.lower()}",
        description="Default datastore of the workspace (a folder on the local backend).",
    )
    write_record(
        datastore_record(workspace_dir, DEFAULT_DATASTORE),
        {"is_default": True, "backing": folder_backing(DEFAULT_DATASTORE), "entity": _entity(default)},
    )


def _entity(datastore: Datastore) -> dict[str, Any]:
    entity = plain(datastore._to_dict())
    entity.pop("credentials", None)
    return entity


class DatastoreOperations(LocalOperations):
    _sdk_class = sdk_operations.DatastoreOperations
    _group = "datastores"

    def create_or_update(self, datastore: Datastore) -> Datastore:
        if not isinstance(datastore, (AzureBlobDatastore, AzureDataLakeGen2Datastore)):
            raise LocalBackendUnsupportedError(
                f"datastores of type '{type(datastore).__name__}'",
                "Use AzureBlobDatastore or AzureDataLakeGen2Datastore.",
            )
        check_name("datastore", datastore.name, ErrorTarget.DATASTORE)
        to_rest(datastore)
        path = self._path(datastore.name)
        if path.is_file():
            record = read_record(path)
        else:
            container = getattr(datastore, "container_name", None) or getattr(datastore, "filesystem", None)
            use_blob = bool(os.environ.get(BLOB_CONNECTION_STRING_VARIABLE))
            backing = blob_backing(container) if use_blob else folder_backing(datastore.name)
            record = {"is_default": False, "backing": backing}
        record["entity"] = _entity(datastore)
        # Check the backing storage answers before the datastore is recorded.
        filesystem(self._scope.require_workspace(), record["backing"])
        write_record(path, record)
        return self.get(datastore.name)

    def get(self, name: str, *, include_secrets: bool = False) -> Datastore:
        if include_secrets:
            raise LocalBackendUnsupportedError(
                "include_secrets", "Local datastores keep no secrets; Azurite uses its connection string."
            )
        path = self._path(name)
        if not path.is_file():
            raise not_found("Datastore", name, f"workspace '{self._scope.workspace_name}'")
        datastore = load_datastore(io.StringIO(yaml.safe_dump(read_record(path, _REQUIRED)["entity"])))
        datastore._id = self._scope.arm_id("workspaces", self._scope.workspace_name or "", "datastores", name)
        return datastore

    def get_default(self, *, include_secrets: bool = False) -> Datastore:
        for _, record in read_all(records(self._scope.require_workspace() / "datastores"), _REQUIRED):
            if record.get("is_default"):
                return self.get(record["entity"]["name"], include_secrets=include_secrets)
        raise not_found("Default datastore", DEFAULT_DATASTORE, f"workspace '{self._scope.workspace_name}'")

    def list(self, *, include_secrets: bool = False) -> Iterable[Datastore]:
        folder = self._scope.require_workspace() / "datastores"
        found = read_all(records(folder), _REQUIRED)  # a damaged record is quarantined, not fatal
        return paged(self.get(r["entity"]["name"], include_secrets=include_secrets) for _, r in found)

    def delete(self, name: str) -> None:
        path = self._path(name)
        if not path.is_file():
            raise not_found("Datastore", name, f"workspace '{self._scope.workspace_name}'")
        if read_record(path).get("is_default"):
            raise user_http_error(f"The default datastore '{name}' cannot be deleted.")
        # As on Azure, unregistering a datastore leaves its files in storage.
        path.unlink()

    def _path(self, name: str) -> Path:
        return datastore_record(self._scope.require_workspace(), name)
