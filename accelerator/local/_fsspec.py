"""The ``azureml://`` fsspec protocol on the local backend.

On Azure, ``azureml-fsspec`` lets pandas read a data asset or datastore path directly
(``pd.read_parquet(data_asset.path)``), given its long form
``azureml://subscriptions/<id>/resourcegroups/<rg>/workspaces/<ws>/datastores/<name>/paths/<path>``.
This registers the same protocol for local workspaces: each path is resolved to the files behind
its datastore (a folder, or a container on Azurite), so notebook code reads ``azureml://`` paths
the same way on both backends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import fsspec
from fsspec import AbstractFileSystem

from accelerator.local._exceptions import LocalBackendUnsupportedError
from accelerator.local._storage import datastore_filesystem, parse_datastore_uri
from accelerator.local._store import join

_PREFIX = "azureml://"


class LocalAzureMLFileSystem(AbstractFileSystem):
    protocol = "azureml"
    cachable = False
    root_marker = ""
    home: ClassVar[Path | None] = None  # the store, set when a LocalMLClient is created

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        return str(path).removeprefix(_PREFIX).rstrip("/")

    def unstrip_protocol(self, name: str) -> str:
        return _PREFIX + name

    def _resolve(self, path: str) -> tuple[AbstractFileSystem, str, str, str]:
        """(filesystem, real path, real root, virtual root) of an azureml:// path."""
        stripped = self._strip_protocol(path)
        # parse_datastore_uri refuses '..' and bad names, as every datastore path is checked.
        uri = parse_datastore_uri(_PREFIX + stripped + ("/" if stripped.endswith("/paths") else ""))
        if uri is None:
            raise LocalBackendUnsupportedError(
                f"reading '{_PREFIX}{stripped}'",
                "Only datastore paths (.../datastores/<name>/paths/<path>) can be read.",
            )
        if uri.workspace is None:
            raise ValueError(
                "Use the long form azureml://subscriptions/<id>/resourcegroups/<rg>/workspaces/<ws>/"
                "datastores/<name>/paths/<path>, as azureml-fsspec needs on Azure: a data asset's .path "
                "has it. The short azureml://datastores/... form only works as a job input."
            )
        if self.home is None:
            raise RuntimeError("Create a client with accelerator.connect() before reading azureml:// paths.")
        workspace_dir = join(self.home / "workspaces", str(uri.resource_group), uri.workspace, kind="name")
        found = datastore_filesystem(workspace_dir, uri.datastore)
        if found is None:
            raise FileNotFoundError(
                f"Datastore '{uri.datastore}' does not exist in workspace '{uri.workspace}'."
            )
        fs, root = found
        virtual_root = stripped[: len(stripped) - len(uri.path)].rstrip("/")
        real = f"{root}/{uri.path}".rstrip("/")
        return fs, real, root.rstrip("/"), virtual_root

    def _virtual(self, real: str, real_root: str, virtual_root: str) -> str:
        return virtual_root + "/" + real.rstrip("/")[len(real_root) :].lstrip("/")

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        fs, real, real_root, virtual_root = self._resolve(path)
        entries = []
        for entry in fs.ls(real, detail=True):
            entries.append({**entry, "name": self._virtual(entry["name"], real_root, virtual_root)})
        return entries if detail else [e["name"] for e in entries]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        fs, real, real_root, virtual_root = self._resolve(path)
        entry = fs.info(real)
        return {**entry, "name": self._virtual(entry["name"], real_root, virtual_root)}

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        fs, real, _, _ = self._resolve(path)
        if "r" not in mode:
            fs.makedirs(fs._parent(real), exist_ok=True)
        kwargs.pop("autocommit", None)
        return fs.open(real, mode, **kwargs)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        fs, real, _, _ = self._resolve(path)
        fs.makedirs(real, exist_ok=exist_ok)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        self.makedirs(path, exist_ok=True)

    def rm_file(self, path: str) -> None:
        fs, real, _, _ = self._resolve(path)
        fs.rm_file(real)

    def _rm(self, path: str) -> None:
        self.rm_file(path)


def register(home: Path) -> None:
    LocalAzureMLFileSystem.home = home
    fsspec.register_implementation("azureml", LocalAzureMLFileSystem, clobber=True)
