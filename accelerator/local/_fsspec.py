"""The ``azureml://`` fsspec protocol on the local backend.

On Azure, ``azureml-fsspec`` lets pandas read a data asset or datastore path directly
(``pd.read_parquet(data_asset.path)``). This registers the same protocol for local workspaces,
so that notebook code reads ``azureml://`` paths the same way on both backends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import fsspec
from fsspec.implementations.dirfs import DirFileSystem
from fsspec.implementations.local import LocalFileSystem

from accelerator.local._exceptions import LocalBackendUnsupportedError
from accelerator.local._storage import parse_datastore_uri
from accelerator.local._store import read_record


class LocalAzureMLFileSystem(DirFileSystem):
    """Maps ``azureml://.../workspaces/<ws>/datastores/<ds>/paths/<p>`` to the datastore's folder."""

    protocol = "azureml"
    cachable = False
    # Set by the most recently created LocalMLClient: the store, and the workspace that short
    # ``azureml://datastores/...`` paths (which name no workspace) refer to.
    home: ClassVar[Path | None] = None
    workspace: ClassVar[str | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if self.home is None:
            raise RuntimeError("Create a client with accelerator.connect() before reading azureml:// paths.")
        super().__init__(path=(self.home / "workspaces").as_posix(), fs=LocalFileSystem())

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        text = str(path)
        uri = parse_datastore_uri(text)
        if uri is None:
            return text.removeprefix("azureml://").rstrip("/")
        workspace = uri.workspace or cls.workspace
        record_path = (
            (cls.home or Path(".")) / "workspaces" / str(workspace) / "datastores" / f"{uri.datastore}.yaml"
        )
        if not record_path.is_file():
            raise FileNotFoundError(f"Datastore '{uri.datastore}' does not exist in workspace '{workspace}'.")
        backing = read_record(record_path)["backing"]
        if backing["kind"] != "folder":
            raise LocalBackendUnsupportedError(
                "azureml:// paths on blob-backed datastores",
                "Read them with adlfs (az://<container>/<path>) and the Azurite connection string.",
            )
        return "/".join(p for p in (str(workspace), backing["path"], uri.path) if p)


def register(home: Path, workspace: str | None) -> None:
    LocalAzureMLFileSystem.home = home
    if workspace:
        LocalAzureMLFileSystem.workspace = workspace
    fsspec.register_implementation("azureml", LocalAzureMLFileSystem, clobber=True)
