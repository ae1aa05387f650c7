"""The files behind local datastores, reached through fsspec.

A datastore is backed by a folder in the store (the default), or by a blob container on Azurite,
the Azure Storage emulator, through adlfs: the same fsspec filesystem used for real Azure Storage.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from accelerator.local._store import file_name, join, read_record, relative, segment

# Azurite, or any blob service, is used when this variable holds its connection string.
BLOB_CONNECTION_STRING_VARIABLE = "ACCELERATOR_BLOB_CONNECTION_STRING"
DEFAULT_DATASTORE = "workspaceblobstore"  # every workspace's default, as on Azure

_DATASTORE_URI = re.compile(
    r"^azureml://(?:subscriptions/(?P<sub>[^/]+)/resource[gG]roups/(?P<rg>[^/]+)/"
    r"(?:providers/Microsoft\.MachineLearningServices/)?workspaces/(?P<ws>[^/]+)/)?"
    r"datastores/(?P<datastore>[^/]+)/paths/(?P<path>.*)$"
)


@dataclass(frozen=True)
class DatastoreUri:
    datastore: str
    path: str
    workspace: str | None = None  # only in the long form, with the resource group
    resource_group: str | None = None


def parse_datastore_uri(uri: str) -> DatastoreUri | None:
    """Split ``azureml://[...workspaces/<ws>/]datastores/<name>/paths/<path>``; None if not one."""
    match = _DATASTORE_URI.match(uri)
    if not match:
        return None
    # Checked here, where every datastore path is parsed: no '..' climbs out of the datastore and no
    # name leaves its folder, whichever group (data, models, jobs, batch, fsspec) reads the path.
    for value, kind in (
        (match["datastore"], "datastore name"),
        (match["ws"], "workspace name"),
        (match["rg"], "resource group"),
    ):
        if value is not None:
            segment(value, kind)
    return DatastoreUri(
        match["datastore"], relative(match["path"], "datastore path"), match["ws"], match["rg"]
    )


def datastore_record(workspace_dir: Path, name: str) -> Path:
    """The record of datastore ``name``: ``datastores/<name>.yaml`` (shortened past 255 bytes)."""
    return join(workspace_dir, "datastores", kind="folder") / file_name(segment(name, "datastore name"))


def folder_backing(name: str) -> dict[str, Any]:
    return {"kind": "folder", "path": f"storage/{name}"}


def blob_backing(container: str) -> dict[str, Any]:
    return {"kind": "blob", "container": container}


def datastore_filesystem(workspace_dir: Path, name: str) -> tuple[fsspec.AbstractFileSystem, str] | None:
    """The filesystem and root of datastore ``name`` in a workspace folder; None if it has none."""
    record = datastore_record(workspace_dir, name)
    if not record.is_file():
        return None
    return filesystem(workspace_dir, read_record(record, ("backing", "entity"))["backing"])


def filesystem(workspace_dir: Path, backing: dict[str, Any]) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem and root path of a datastore's files."""
    if backing["kind"] == "folder":
        root = workspace_dir.joinpath(*relative(backing["path"], "datastore folder").split("/"))
        root.mkdir(parents=True, exist_ok=True)
        return LocalFileSystem(), root.as_posix()
    if backing["kind"] == "blob":
        connection_string = os.environ.get(BLOB_CONNECTION_STRING_VARIABLE)
        if not connection_string:
            from accelerator.local._exceptions import validation_error

            raise validation_error(
                f"This datastore is backed by blob storage, but {BLOB_CONNECTION_STRING_VARIABLE} is "
                "not set. Start Azurite and set the variable to its connection string."
            )
        from adlfs import AzureBlobFileSystem

        fs = AzureBlobFileSystem(connection_string=connection_string)
        if not fs.exists(backing["container"]):
            fs.mkdir(backing["container"])
        return fs, backing["container"]
    raise ValueError(f"Unknown datastore backing {backing!r} in the store.")
