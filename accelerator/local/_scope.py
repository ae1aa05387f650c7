"""Where a local client's operations act: the store folder and the workspace they target.

Mirrors the SDK's ``OperationScope`` (subscription, resource group, workspace) and adds the root
folder of the local store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from accelerator.local._exceptions import not_found
from accelerator.local._store import join

LOCAL_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
# Where local resource groups are taken to be: a workspace created without a location gets it,
# as an Azure workspace gets its resource group's.
LOCAL_LOCATION = "westeurope"


@dataclass(frozen=True)
class LocalScope:
    home: Path
    subscription_id: str
    resource_group_name: str
    workspace_name: str | None
    registry_name: str | None = None

    @property
    def workspaces_root(self) -> Path:
        return self.home / "workspaces"

    @property
    def registries_root(self) -> Path:
        return self.home / "registries"

    def workspace_dir(self, name: str | None = None, resource_group: str | None = None) -> Path:
        """Workspaces are unique per resource group, as on Azure: ``workspaces/<rg>/<name>``."""
        group = resource_group or self.resource_group_name
        return join(self.workspaces_root, group, name or self.workspace_name or "", kind="workspace name")

    def registry_dir(self, name: str) -> Path:
        return join(self.registries_root, name, kind="registry name")

    def require_workspace(self) -> Path:
        """The folder of the client's workspace; a clear error if it was never created."""
        if not self.workspace_name:
            raise ValueError("This client is not bound to a workspace: pass workspace_name when creating it.")
        folder = self.workspace_dir()
        if not (folder / "workspace.yaml").is_file():
            raise not_found(
                "Workspace",
                self.workspace_name,
                f"resource group '{self.resource_group_name}' of the local backend",
                "Create it first: run notebooks/05_create_workspaces.ipynb.",
            )
        return folder

    def arm_id(self, *parts: str, resource_group: str | None = None) -> str:
        """An Azure Resource Manager id shaped like the ones Azure ML returns."""
        base = (
            f"/subscriptions/{self.subscription_id}/resourceGroups/"
            f"{resource_group or self.resource_group_name}/providers/Microsoft.MachineLearningServices"
        )
        return "/".join([base, *parts])

    def datastore_uri(self, datastore: str, path: str) -> str:
        """The long ``azureml://`` form Azure ML returns for a path in this workspace's datastore."""
        return (
            f"azureml://subscriptions/{self.subscription_id}/resourcegroups/{self.resource_group_name}"
            f"/workspaces/{self.workspace_name}/datastores/{datastore}/paths/{path}"
        )
