"""``ml_client.components`` on the local backend: versioned command components.

A component's code is snapshotted when it is registered, so a version never changes. Components a
pipeline defines inline (loaded from YAML but not registered) are kept as anonymous components,
keyed by their content, as Azure ML does: ``ComponentResolver`` prepares both, and resolves a
pipeline step's component for the jobs and schedules.
"""

from __future__ import annotations

import io
from typing import Any

import yaml
from azure.ai.ml import load_component
from azure.ai.ml import operations as sdk_operations
from azure.ai.ml.entities import CommandComponent, Component
from azure.ai.ml.exceptions import ErrorTarget

from accelerator.local._exceptions import LocalBackendUnsupportedError, conflict
from accelerator.local._scope import LocalScope
from accelerator.local._system_data import system_data
from accelerator.local._validation import check_name
from accelerator.local.operations._asset_operations import VersionedAssetOperations
from accelerator.local.operations._component_resolver import FOLDER, ComponentResolver


class ComponentOperations(VersionedAssetOperations):
    _sdk_class = sdk_operations.ComponentOperations
    _group = "components"
    _folder = FOLDER
    _kind = "Component"
    _target = ErrorTarget.COMPONENT
    _loader = staticmethod(load_component)

    def __init__(self, scope: LocalScope, resolver: ComponentResolver) -> None:
        super().__init__(scope)
        self._resolver = resolver

    def create_or_update(
        self,
        component: Component,
        version: str | None = None,
        *,
        skip_validation: bool = False,
        **kwargs: Any,
    ) -> Component:
        if not isinstance(component, CommandComponent):
            raise LocalBackendUnsupportedError(
                f"{type(component).__name__} components", "The local backend runs command components."
            )
        if version is not None:
            component.version = str(version)
        check_name("asset", component.name, self._target)
        entity, fingerprint = self._resolver.prepare(component, skip_validation)
        with self._records.lock(component.name):
            resolved = self._resolve_version(component.name, component.version)
            entity["version"] = resolved
            existing = self._records.get(component.name, resolved)
            if existing is not None:
                if existing["fingerprint"] != fingerprint:
                    raise conflict(
                        f"Component {component.name}:{resolved} already exists with different content, and "
                        "component versions are immutable. Register a new version."
                    )
            else:
                self._records.put(component.name, resolved, entity, fingerprint=fingerprint)
        return self.get(component.name, resolved)

    def _entity(self, record: dict[str, Any]) -> Any:
        spec = dict(record["entity"])
        environment = spec.get("environment")
        if isinstance(environment, str) and environment.startswith("/subscriptions/"):
            # Stored as the environment version's ARM id; the component schema takes it as azureml:<id>.
            spec["environment"] = "azureml:" + environment
        entity = load_component(io.StringIO(yaml.safe_dump(spec)))
        found = self._resolver.arm_id(record)
        entity._id = found if found.startswith("azureml://") else found.removeprefix("azureml:")
        entity._creation_context = system_data(record.get("created"), record.get("created_by"))
        return entity
