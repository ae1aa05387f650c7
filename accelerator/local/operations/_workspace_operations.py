"""``ml_client.workspaces`` on the local backend: one folder per workspace, per resource group."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import yaml
from azure.ai.ml import load_workspace
from azure.ai.ml import operations as sdk_operations
from azure.ai.ml.entities import Workspace
from azure.ai.ml.exceptions import ErrorTarget
from azure.core.polling import LROPoller

from accelerator.local._exceptions import LocalBackendUnsupportedError, not_found
from accelerator.local._mlflow import tracking_uri
from accelerator.local._paging import paged
from accelerator.local._poller import completed
from accelerator.local._scope import LOCAL_LOCATION
from accelerator.local._store import plain, read_all, read_record, record_lock, remove_tree, write_record
from accelerator.local._validation import check_location, check_name, to_rest
from accelerator.local.operations._base import LocalOperations
from accelerator.local.operations._datastore_operations import create_default_datastore

_UPDATABLE = ("tags", "description", "display_name")
_REQUIRED = ("resource_group", "entity")


class WorkspaceOperations(LocalOperations):
    _sdk_class = sdk_operations.WorkspaceOperations
    _group = "workspaces"

    def begin_create(
        self, workspace: Workspace, update_dependent_resources: bool = False, **kwargs: Any
    ) -> LROPoller[Workspace]:
        """Create the workspace and its default datastore; for an existing one, update its
        description and display name and merge its tags, as ``MLClient`` does."""
        if not isinstance(workspace, Workspace):
            raise TypeError(f"workspace must be an azure.ai.ml.entities.Workspace, not {type(workspace)}")
        check_name("workspace", workspace.name, ErrorTarget.WORKSPACE)
        if getattr(workspace, "_kind", "default") not in (None, "default"):
            raise LocalBackendUnsupportedError(
                f"workspaces of kind '{workspace._kind}' (hubs and projects)", "Use a default workspace."
            )
        location = check_location(workspace.location or LOCAL_LOCATION, "workspaces")
        to_rest(workspace)
        group = workspace.resource_group or self._scope.resource_group_name
        folder = self._scope.workspace_dir(workspace.name, group)
        path = folder / "workspace.yaml"
        entity = plain(workspace._to_dict())
        entity["location"] = location
        if path.is_file():
            with record_lock(folder / ".workspace.lock"):  # a concurrent update is never undone
                record = read_record(path, _REQUIRED)
                current = record["entity"]
                for key in _UPDATABLE:
                    if key == "tags":
                        current["tags"] = {**current.get("tags", {}), **(entity.get("tags") or {})}
                    elif entity.get(key) is not None:
                        current[key] = entity[key]
                write_record(path, record)
        else:
            # The default datastore first, the workspace record last: a crash in between leaves
            # no workspace, and creating it again completes it.
            create_default_datastore(folder, workspace.name)
            write_record(path, {"resource_group": group, "entity": entity})
        return completed(self._load(workspace.name, group))

    def get(self, name: str | None = None, **kwargs: Any) -> Workspace:
        name = name or self._scope.workspace_name
        if not name:
            raise ValueError("Pass the workspace name: this client is not bound to a workspace.")
        return self._load(name, self._scope.resource_group_name)

    def list(
        self, *, scope: str = "resource_group", filtered_kinds: str | list[str] | None = None
    ) -> Iterable[Workspace]:
        """The workspaces of the client's resource group, or of the whole (local) subscription."""
        if scope not in ("resource_group", "subscription"):
            raise ValueError("scope must be 'resource_group' or 'subscription'.")
        root = self._scope.workspaces_root
        groups = [root / self._scope.resource_group_name] if scope == "resource_group" else root.glob("*")
        paths = [
            folder / "workspace.yaml"
            for group in groups
            if group.is_dir() and not group.name.startswith(".")
            for folder in sorted(group.iterdir())
            if not folder.name.startswith(".") and (folder / "workspace.yaml").is_file()
        ]
        # A damaged record is quarantined with a warning; the other workspaces still list.
        found = [
            self._load(path.parent.name, path.parent.parent.name) for path, _ in read_all(paths, _REQUIRED)
        ]
        if filtered_kinds:
            kinds = [filtered_kinds] if isinstance(filtered_kinds, str) else filtered_kinds
            found = [w for w in found if (w._kind or "default") in kinds]
        return paged(sorted(found, key=lambda w: (w.name, w.resource_group)))

    def begin_delete(
        self, name: str, *, delete_dependent_resources: bool, permanently_delete: bool = False, **kwargs: Any
    ) -> LROPoller[None]:
        """Delete the workspace and everything in it, its datastores' files included.

        A local workspace has no separate dependent resources and no soft-delete period, so it
        is always deleted permanently, whatever the two flags say.
        """
        self._load(name, self._scope.resource_group_name)  # a clear not-found error first
        folder = self._scope.workspace_dir(name)
        remove_tree(folder)
        if not any(folder.parent.iterdir()):
            folder.parent.rmdir()  # the resource group's folder, when its last workspace goes
        return completed(None)

    def _load(self, name: str, resource_group: str) -> Workspace:
        path = self._scope.workspace_dir(name, resource_group) / "workspace.yaml"
        if not path.is_file():
            raise not_found(
                "Workspace",
                name,
                f"resource group '{resource_group}' of the local backend",
                f"Create it first: ml_client.workspaces.begin_create(Workspace(name='{name}')).",
            )
        record = read_record(path, _REQUIRED)
        workspace = load_workspace(io.StringIO(yaml.safe_dump(record["entity"])))
        workspace.resource_group = record["resource_group"]
        workspace._id = self._scope.arm_id("workspaces", name, resource_group=resource_group)
        # As on Azure, where mlflow.set_tracking_uri(workspace.mlflow_tracking_uri) points MLflow at
        # the workspace: here, its SQLite store.
        workspace._mlflow_tracking_uri = tracking_uri(self._scope.workspace_dir(name, resource_group))
        return workspace
