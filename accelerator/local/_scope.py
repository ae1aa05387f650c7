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
                "Create it first: ml_client.workspaces.begin_create("
                f"Workspace(name='{self.workspace_name}')).",
            )
        return folder

    @property
    def in_registry(self) -> bool:
        """A registry client (``MLClient(credential, registry_name=...)``): assets live in the registry."""
        return bool(self.registry_name) and not self.workspace_name

    def registry_dir(self, name: str | None = None) -> Path:
        return join(self.registries_root, name or self.registry_name or "", kind="registry name")

    def require_registry(self, name: str | None = None) -> Path:
        """The folder of a registry; the service's not-found error if it was never created."""
        name = name or self.registry_name
        if not name:
            raise ValueError("This client is not bound to a registry: pass registry_name when creating it.")
        folder = self.registry_dir(name)
        if not (folder / "registry.yaml").is_file():
            raise not_found(
                "Registry",
                name,
                "the local backend",
                f"Create it first: ml_client.registries.begin_create(Registry(name='{name}', location=...)).",
            )
        return folder

    def asset_home(self) -> Path:
        """Where the versioned assets of this client live: its registry's folder or its workspace's."""
        return self.require_registry() if self.in_registry else self.require_workspace()

    def where(self) -> str:
        """The container of this client's assets, as the service names it in errors."""
        if self.in_registry:
            return f"registry '{self.registry_name}'"
        return f"workspace '{self.workspace_name}'"

    def asset_id(self, kind: str, name: str, version: str) -> str:
        """A version's id: ``azureml://registries/<r>/<kind>/<n>/versions/<v>`` in a registry (the form
        the SDK gives registry assets), the ARM id in a workspace."""
        if self.in_registry:
            return f"azureml://registries/{self.registry_name}/{kind}/{name}/versions/{version}"
        return self.arm_id("workspaces", self.workspace_name or "", kind, name, "versions", str(version))

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
