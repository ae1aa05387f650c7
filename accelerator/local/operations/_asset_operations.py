"""What the versioned asset groups (environments, data) share: get by version or label, list."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import yaml
from azure.ai.ml.exceptions import ErrorTarget, ValidationErrorType
from azure.core.paging import ItemPaged

from accelerator.local._assets import VersionedRecords
from accelerator.local._exceptions import not_found, validation_error
from accelerator.local._paging import paged
from accelerator.local._validation import check_name
from accelerator.local.operations._base import LocalOperations


class VersionedAssetOperations(LocalOperations):
    _folder: str  # folder name in the workspace
    _kind: str  # what the service calls it in messages
    _target: ErrorTarget
    _loader: Callable[..., Any]

    @property
    def _records(self) -> VersionedRecords:
        return VersionedRecords(self._scope.asset_home() / self._folder)

    def _resolve_version(self, name: str, version: str | None) -> str:
        """Check the version; Azure ML auto-increments a missing one. Call with the name's lock held."""
        if version is None:
            return self._records.next_version(name)
        return check_name("version", str(version), self._target)

    def get(self, name: str, version: str | None = None, label: str | None = None) -> Any:
        if version and label:
            raise validation_error("Cannot specify both version and label.", self._target)
        if label:
            if label != "latest":
                raise validation_error(
                    f"Unrecognized label '{label}': the only supported label is 'latest'.", self._target
                )
            record = self._records.latest(name)
            if record is None:
                raise not_found(self._kind, name, self._scope.where())
            return self._entity(record)
        if not version:
            raise validation_error(
                "Must provide either version or label.", self._target, ValidationErrorType.MISSING_FIELD
            )
        record = self._records.get(name, str(version))
        if record is None:
            raise not_found(self._kind, f"{name}:{version}", self._scope.where())
        return self._entity(record)

    def list(self, name: str | None = None, *, list_view_type: Any = None) -> ItemPaged[Any]:
        """With a name, every version of it (oldest first); without, the latest version of each.

        Nothing is archived on the local backend, so every ``list_view_type`` lists the same.
        """
        if name:
            return paged(self._entity(r) for r in self._records.versions(name))
        records = self._records
        return paged(self._entity(records.latest(n)) for n in records.names())

    def _entity(self, record: dict[str, Any]) -> Any:
        entity = self._loader(io.StringIO(yaml.safe_dump(record["entity"])))
        entity._id = self._scope.asset_id(self._folder, record["name"], str(record["version"]))
        return entity
