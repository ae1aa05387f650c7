"""What the versioned asset groups (environments, data) share: get by version or label, list."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from typing import Any

import yaml
from azure.ai.ml.exceptions import ErrorTarget, ValidationErrorType
from azure.core.paging import ItemPaged

from accelerator.local._assets import VersionedRecords
from accelerator.local._exceptions import not_found, validation_error
from accelerator.local._paging import paged
from accelerator.local._system_data import system_data
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
        found = self._records.versions(name) if name else self._records.latest_of_each()
        return paged(entity for entity in map(self._listed, found) if entity is not None)

    def _listed(self, record: dict[str, Any]) -> Any:
        """The entity of a record being listed; one the SDK cannot load is named in a warning and
        left out, so one bad record never breaks the listing of its whole group."""
        try:
            return self._entity(record)
        except Exception as error:  # the SDK's loaders raise several kinds
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            warnings.warn(
                f"{self._kind} {record.get('name')}:{record.get('version')} cannot be loaded and is "
                f"left out of the list: {first}",
                stacklevel=3,
            )
            return None

    def _entity(self, record: dict[str, Any]) -> Any:
        entity = self._loader(io.StringIO(yaml.safe_dump(record["entity"])))
        entity._id = self._scope.asset_id(self._folder, record["name"], str(record["version"]))
        entity._creation_context = system_data(record.get("created"), record.get("created_by"))
        return entity
