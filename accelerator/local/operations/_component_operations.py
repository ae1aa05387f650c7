"""``ml_client.components`` on the local backend: versioned command components.

A component's code is snapshotted when it is registered, so a version never changes. Components a
pipeline defines inline (loaded from YAML but not registered) are kept as anonymous components,
keyed by their content, as Azure ML does.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import yaml
from azure.ai.ml import load_component
from azure.ai.ml import operations as sdk_operations
from azure.ai.ml.entities import CommandComponent, Component
from azure.ai.ml.exceptions import ErrorTarget

from accelerator.local._assets import VersionedRecords
from accelerator.local._exceptions import LocalBackendUnsupportedError, conflict, validation_error
from accelerator.local._scope import LocalScope
from accelerator.local._store import plain
from accelerator.local._system_data import system_data
from accelerator.local._validation import check_name
from accelerator.local.operations._asset_operations import VersionedAssetOperations
from accelerator.local.operations._operation_orchestrator import LocalOrchestrator, parse_reference

ANONYMOUS = "azureml_anonymous"


class ComponentOperations(VersionedAssetOperations):
    _sdk_class = sdk_operations.ComponentOperations
    _group = "components"
    _folder = "components"
    _kind = "Component"
    _target = ErrorTarget.COMPONENT
    _loader = staticmethod(load_component)

    def __init__(self, scope: LocalScope, orchestrator: LocalOrchestrator) -> None:
        super().__init__(scope)
        self._orchestrator = orchestrator

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
        entity, fingerprint = self._prepare(component, skip_validation)
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

    def _prepare(
        self, component: CommandComponent, skip_validation: bool = False
    ) -> tuple[dict[str, Any], str]:
        """The component's stored form (code snapshotted, environment resolved) and its content hash."""
        if not skip_validation:
            component._validate(raise_error=True)
        code, code_hash, _ = self._orchestrator.code(component.code, component._base_path)
        environment = self._orchestrator.environment(component.environment)
        entity = plain(component._to_dict())
        entity["code"] = code
        entity["environment"] = environment
        content = {k: v for k, v in entity.items() if k not in ("version", "code")}
        fingerprint = hashlib.sha256(
            json.dumps({"spec": content, "code": code_hash}, sort_keys=True, default=str).encode()
        ).hexdigest()
        return entity, fingerprint

    def _anonymous(self, component: CommandComponent) -> dict[str, Any]:
        entity, fingerprint = self._prepare(component)
        version = fingerprint[:32]
        records = self._anonymous_records
        entity["version"] = version
        if records.get(ANONYMOUS, version) is None:
            records.put(ANONYMOUS, version, entity, fingerprint=fingerprint, display_name=component.name)
        return records.get(ANONYMOUS, version) or {}

    @property
    def _anonymous_records(self) -> VersionedRecords:
        return VersionedRecords(self._scope.require_workspace() / "anonymous_components")

    def _resolve(self, component: Any) -> dict[str, Any]:
        """What a pipeline step needs of its component, whether inline, a reference or an ARM id."""
        if isinstance(component, CommandComponent):
            record = self._anonymous(component)
        elif isinstance(component, str):
            name, version, label = parse_reference(component)
            if name == ANONYMOUS:
                record = self._anonymous_records.get(ANONYMOUS, version or "")
                if record is None:
                    raise validation_error(f"Anonymous component {component} was not found.", self._target)
            else:
                self.get(name, version=version, label=label)  # the SDK's errors for a missing one
                found = self._records.latest(name) if label else self._records.get(name, version or "")
                assert found is not None
                record = found
        else:
            raise LocalBackendUnsupportedError(f"{type(component).__name__} components in pipelines")
        entity = record["entity"]
        return {
            "id": self._arm_id(record),
            "fingerprint": record["fingerprint"],
            "command": entity["command"],
            "code": entity.get("code"),
            "environment": entity.get("environment"),
            "is_deterministic": entity.get("is_deterministic", True) is not False,
            "inputs": {
                name: {
                    "type": spec.get("type"),
                    "default": spec.get("default"),
                    "optional": bool(spec.get("optional")),
                }
                for name, spec in (entity.get("inputs") or {}).items()
            },
            "outputs": {
                name: spec.get("type", "uri_folder") for name, spec in (entity.get("outputs") or {}).items()
            },
        }

    def _arm_id(self, record: dict[str, Any]) -> str:
        """``azureml:<ARM id>`` in a workspace; a registry's ``azureml://registries/...`` id."""
        found = self._scope.asset_id("components", record["name"], str(record["version"]))
        return found if found.startswith("azureml://") else "azureml:" + found

    def _entity(self, record: dict[str, Any]) -> Any:
        spec = dict(record["entity"])
        environment = spec.get("environment")
        if isinstance(environment, str) and environment.startswith("/subscriptions/"):
            # Stored as the environment version's ARM id; the component schema takes it as azureml:<id>.
            spec["environment"] = "azureml:" + environment
        entity = load_component(io.StringIO(yaml.safe_dump(spec)))
        found = self._arm_id(record)
        entity._id = found if found.startswith("azureml://") else found.removeprefix("azureml:")
        entity._creation_context = system_data(record.get("created"), record.get("created_by"))
        return entity
