"""What ``models.share`` and ``environments.share`` share: the source's id and the registry's scope.

As the SDK does (``azure/ai/ml/operations/_model_operations.py`` and ``_environment_operations.py``,
``share``): the source version is named by ``ASSET_ID_FORMAT``,
``azureml://locations/<workspace location>/workspaces/<workspace guid>/<kind>/<name>/versions/<v>``,
in a ``WorkspaceAssetReference`` that the registry imports.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from azure.ai.ml.constants._common import ASSET_ID_FORMAT
from azure.ai.ml.entities._assets.workspace_asset_reference import WorkspaceAssetReference

from accelerator.local._scope import LocalScope
from accelerator.local._validation import check_name, to_rest


def workspace_guid(workspace: Any) -> str:
    """The workspace's GUID: a local workspace has none recorded, so one derived from its ARM id."""
    return getattr(workspace, "_workspace_id", None) or str(uuid.uuid5(uuid.NAMESPACE_URL, workspace.id))


def reference(
    scope: LocalScope,
    kind: str,
    name: str,
    version: str,
    share_with_name: str | None,
    share_with_version: str | None,
) -> WorkspaceAssetReference:
    """The ``WorkspaceAssetReference`` the SDK builds for ``share``, checked as the SDK checks it."""
    from accelerator.local.operations._workspace_operations import WorkspaceOperations

    workspace = WorkspaceOperations(scope).get()
    asset_id = ASSET_ID_FORMAT.format(workspace.location, workspace_guid(workspace), kind, name, version)
    shared = WorkspaceAssetReference(
        name=share_with_name or name, version=str(share_with_version or version), asset_id=asset_id
    )
    check_name("asset", shared.name)
    check_name("version", shared.version)
    to_rest(shared)
    return shared


def registry_scope(scope: LocalScope, registry_name: str) -> LocalScope:
    """The scope of ``MLClient(credential, registry_name=...)`` on the same local store."""
    check_name("registry", registry_name)
    shared = dataclasses.replace(scope, workspace_name=None, registry_name=registry_name)
    shared.require_registry()
    return shared
