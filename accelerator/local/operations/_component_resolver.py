"""Components as pipeline steps need them: inline, by reference or by ARM id.

Shared by ``ml_client.components`` (which stores what it prepares here), by the job compiler and by
the schedules (both resolve a pipeline's steps here), so that no group calls another's private
methods. The SDK does the same through its ``OperationOrchestrator``, which every group is given:
a job's inline components become anonymous components, keyed by their content
(``_job_operations._resolve_arm_id_or_upload_dependencies``).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from azure.ai.ml.entities import CommandComponent
from azure.ai.ml.exceptions import ErrorTarget

from accelerator.local._assets import VersionedRecords
from accelerator.local._exceptions import LocalBackendUnsupportedError, validation_error
from accelerator.local._scope import LocalScope
from accelerator.local._store import plain
from accelerator.local.operations._operation_orchestrator import LocalOrchestrator, parse_reference

if TYPE_CHECKING:
    from accelerator.local._compile import ComponentSpec

ANONYMOUS = "azureml_anonymous"
FOLDER = "components"


class ComponentResolver:
    """Prepares components for storage and resolves a pipeline step's component.

    ``client`` is the local MLClient: a missing component is reported by ``client.components.get``,
    with the SDK's own error, as the orchestrator reports other missing assets."""

    def __init__(self, scope: LocalScope, orchestrator: LocalOrchestrator, client: Any) -> None:
        self._scope = scope
        self._orchestrator = orchestrator
        self._client = client

    @property
    def records(self) -> VersionedRecords:
        """The registered components of the workspace (or registry)."""
        return VersionedRecords(self._scope.asset_home() / FOLDER)

    @property
    def _anonymous_records(self) -> VersionedRecords:
        return VersionedRecords(self._scope.require_workspace() / "anonymous_components")

    def prepare(
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

    def arm_id(self, record: dict[str, Any]) -> str:
        """``azureml:<ARM id>`` in a workspace; a registry's ``azureml://registries/...`` id."""
        found = self._scope.asset_id(FOLDER, record["name"], str(record["version"]))
        return found if found.startswith("azureml://") else "azureml:" + found

    def _anonymous(self, component: CommandComponent) -> dict[str, Any]:
        entity, fingerprint = self.prepare(component)
        version = fingerprint[:32]
        records = self._anonymous_records
        entity["version"] = version
        if records.get(ANONYMOUS, version) is None:
            records.put(ANONYMOUS, version, entity, fingerprint=fingerprint, display_name=component.name)
        return records.get(ANONYMOUS, version) or {}

    def resolve(self, component: Any) -> ComponentSpec:
        """What a pipeline step needs of its component, whether inline, a reference or an ARM id."""
        if isinstance(component, CommandComponent):
            record = self._anonymous(component)
        elif isinstance(component, str):
            name, version, label = parse_reference(component)
            if name == ANONYMOUS:
                record = self._anonymous_records.get(ANONYMOUS, version or "")
                if record is None:
                    raise validation_error(
                        f"Anonymous component {component} was not found.", ErrorTarget.COMPONENT
                    )
            else:
                # The SDK's errors for a missing one.
                self._client.components.get(name, version=version, label=label)
                records = self.records
                found = records.latest(name) if label else records.get(name, version or "")
                assert found is not None
                record = found
        else:
            raise LocalBackendUnsupportedError(f"{type(component).__name__} components in pipelines")
        entity = record["entity"]
        return {
            "id": self.arm_id(record),
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
