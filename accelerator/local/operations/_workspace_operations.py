"""``ml_client.workspaces`` on the local backend: one folder per workspace."""

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
from accelerator.local._poller import completed
from accelerator.local._scope import LOCAL_LOCATION, LocalScope
from accelerator.local._store import plain, read_record, remove_tree, write_record
from accelerator.local._validation import check_name, to_rest
from accelerator.local.operations._base import LocalOperations
from accelerator.local.operations._datastore_operations import create_default_datastore


class WorkspaceOperations(LocalOperations):
    _sdk_class = sdk_operations.WorkspaceOperations
    _group = "workspaces"

    def begin_create(
        self, workspace: Workspace, update_dependent_resources: bool = False, **kwargs: Any
    ) -> LROPoller[Workspace]:
        """Create the workspace (with its default datastore), or update tags and description."""
        if not isinstance(workspace, Workspace):
            raise TypeError(f"workspace must be an azure.ai.ml.entities.Workspace, not {type(workspace)}")
        check_name("workspace", workspace.name, ErrorTarget.WORKSPACE)
        if getattr(workspace, "_kind", "default") not in (None, "default"):
            raise LocalBackendUnsupportedError(
                f"workspaces of kind '{workspace._kind}' (hubs and projects)", "Use a default workspace."
            )
        to_rest(workspace)
        folder = self._scope.workspace_dir(workspace.name)
        resource_group = workspace.resource_group or self._scope.resource_group_name
        entity = plain(workspace._to_dict())
        entity.setdefault("location", workspace.location or LOCAL_LOCATION)
        existing = folder / "workspace.yaml"
        if existing.is_file():
            record = read_record(existing)
            record["entity"].update(
                {k: v for k, v in entity.items() if k in ("tags", "description", "display_name")}
            )
            write_record(existing, record)
        else:
            write_record(existing, {"resource_group": resource_group, "entity": entity})
            create_default_datastore(folder, workspace.name)
        return completed(self._load(workspace.name))

    def get(self, name: str | None = None, **kwargs: Any) -> Workspace:
        name = name or self._scope.workspace_name
        if not name:
            raise ValueError("Pass the workspace name: this client is not bound to a workspace.")
        return self._load(name)

    def list(
        self, *, scope: str = "resource_group", filtered_kinds: str | list[str] | None = None
    ) -> Iterable[Workspace]:
        if scope not in ("resource_group", "subscription"):
            raise ValueError("scope must be 'resource_group' or 'subscription'.")
        root = self._scope.workspaces_root
        names = (
            sorted(p.name for p in root.iterdir() if (p / "workspace.yaml").is_file())
            if root.is_dir()
            else []
        )
        found = [self._load(n) for n in names]
        if scope == "resource_group":
            found = [w for w in found if w.resource_group == self._scope.resource_group_name]
        return found

    def begin_delete(
        self, name: str, *, delete_dependent_resources: bool, permanently_delete: bool = False, **kwargs: Any
    ) -> LROPoller[None]:
        """Delete the workspace and everything in it (its datastores' files included)."""
        self._load(name)  # a clear not-found error first
        remove_tree(self._scope.workspace_dir(name))
        return completed(None)

    def _load(self, name: str) -> Workspace:
        path = self._scope.workspace_dir(name) / "workspace.yaml"
        if not path.is_file():
            raise not_found(
                "Workspace",
                name,
                "the local backend",
                "Create it first: run notebooks/05_create_workspaces.ipynb.",
            )
        record = read_record(path)
        workspace = load_workspace(io.StringIO(yaml.safe_dump(record["entity"])))
        workspace.resource_group = record["resource_group"]
        workspace._id = LocalScope(
            self._scope.home, self._scope.subscription_id, record["resource_group"], name
        ).arm_id("workspaces", name)
        return workspace
