"""Datastores' files and uploads into them, shared by the groups that read or write them.

``DatastoreFiles`` finds the filesystem behind a workspace's datastore (a folder or an Azurite
container); ``LocalUploads`` copies local files into the default datastore under
``LocalUpload/<hash>/``, once per content, as ``MLClient`` uploads a local data asset, model or job
input. The client constructs one of each and hands them to the groups that need them (data, models,
the orchestrator), so none of them reaches into another group.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from accelerator._hashing import chunks, walk_files
from accelerator.local._exceptions import not_found
from accelerator.local._scope import LocalScope
from accelerator.local._storage import DEFAULT_DATASTORE, datastore_filesystem
from accelerator.local._store import sweep_leftovers


class DatastoreFiles:
    """(fsspec filesystem, root path) of a workspace's datastores."""

    def __init__(self, scope: LocalScope) -> None:
        self._scope = scope

    def filesystem(self, name: str) -> tuple[Any, str]:
        found = datastore_filesystem(self._scope.require_workspace(), name)
        if found is None:
            raise not_found("Datastore", name, f"workspace '{self._scope.workspace_name}'")
        return found


class LocalUploads:
    """Local files uploaded into the default datastore, as the SDK uploads them."""

    def __init__(self, scope: LocalScope, datastores: DatastoreFiles) -> None:
        self._scope = scope
        self._datastores = datastores

    def upload(self, fs: fsspec.AbstractFileSystem, path: str, content: str) -> str:
        """Copy the files under LocalUpload/<content hash>/ in the default datastore, once; their URI."""
        target_fs, root = self._datastores.filesystem(DEFAULT_DATASTORE)
        name = PurePosixPath(path).name
        # Keyed by content and name, as the same files may be registered under two folder names.
        key = hashlib.sha256(f"{content}/{name}".encode()).hexdigest()[:32]
        folder = f"LocalUpload/{key}"
        relative = f"{folder}/{name}"
        if isinstance(target_fs, LocalFileSystem):  # what killed uploads left behind, an hour on
            sweep_leftovers(Path(root) / "LocalUpload")
        if not target_fs.exists(f"{root}/{relative}"):
            # Copy into a staging folder, then rename it into place: a crash leaves no half-copied version.
            staging = f"{root}/LocalUpload/.staging-{key}-{uuid.uuid4().hex[:8]}"
            target_fs.makedirs(staging, exist_ok=True)
            _copy_across(fs, path, target_fs, f"{staging}/{name}")
            if target_fs.exists(f"{root}/{folder}"):  # another client uploaded the same files meanwhile
                target_fs.rm(staging, recursive=True)
            else:
                target_fs.mv(staging, f"{root}/{folder}", recursive=True)
        return self._scope.datastore_uri(DEFAULT_DATASTORE, relative)


def _copy_across(
    source_fs: fsspec.AbstractFileSystem, source: str, target_fs: fsspec.AbstractFileSystem, target: str
) -> None:
    single = source_fs.isfile(source)
    for file, relative in walk_files(source_fs, source):
        destination = target if single else f"{target}/{relative}"
        target_fs.makedirs(target_fs._parent(destination), exist_ok=True)
        with source_fs.open(file, "rb") as reader, target_fs.open(destination, "wb") as writer:
            for chunk in chunks(reader):
                writer.write(chunk)
