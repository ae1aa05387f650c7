"""``ml_client.registries`` on the local backend: registries shared by every local workspace."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import yaml
from azure.ai.ml import load_registry
from azure.ai.ml import operations as sdk_operations
from azure.ai.ml.entities import Registry
from azure.ai.ml.exceptions import ErrorTarget
from azure.core.polling import LROPoller

from accelerator.local._exceptions import not_found
from accelerator.local._paging import paged
from accelerator.local._poller import completed
from accelerator.local._scope import LOCAL_LOCATION
from accelerator.local._store import plain, read_all, read_record, remove_tree, write_record
from accelerator.local._validation import check_location, check_name, to_rest
from accelerator.local.operations._base import LocalOperations


class RegistryOperations(LocalOperations):
    _sdk_class = sdk_operations.RegistryOperations
    _group = "registries"

    def begin_create(self, registry: Registry, **kwargs: Any) -> LROPoller[Registry]:
        if not isinstance(registry, Registry):
            raise TypeError(f"registry must be an azure.ai.ml.entities.Registry, not {type(registry)}")
        check_name("registry", registry.name, ErrorTarget.REGISTRY)
        location = check_location(registry.location or LOCAL_LOCATION, "registries")
        for region in registry.replication_locations or []:
            check_location(region.location, "registries")
        to_rest(registry)
        entity = plain(registry._to_dict())
        entity["location"] = location
        path = self._scope.registry_dir(registry.name) / "registry.yaml"
        record = read_record(path) if path.is_file() else {"resource_group": self._scope.resource_group_name}
        record["entity"] = entity
        write_record(path, record)
        return completed(self.get(registry.name))

    def get(self, name: str | None = None) -> Registry:
        name = name or self._scope.registry_name
        if not name:
            raise ValueError("Pass the registry name: this client is not bound to a registry.")
        path = self._scope.registry_dir(name) / "registry.yaml"
        if not path.is_file():
            raise not_found(
                "Registry",
                name,
                "the local backend",
                f"Create it first: ml_client.registries.begin_create(Registry(name='{name}', location=...)).",
            )
        record = read_record(path)
        registry = load_registry(io.StringIO(yaml.safe_dump(record["entity"])))
        registry._id = self._scope.arm_id("registries", name, resource_group=record["resource_group"])
        return registry

    def list(self, *, scope: str = "resource_group") -> Iterable[Registry]:
        root = self._scope.registries_root
        folders = sorted(root.iterdir()) if root.is_dir() else []
        paths = [p / "registry.yaml" for p in folders if not p.name.startswith(".")]
        found = read_all([p for p in paths if p.is_file()], ("entity",))  # a damaged one is skipped
        return paged(self.get(path.parent.name) for path, _ in found)

    def begin_delete(self, *, name: str, **kwargs: Any) -> LROPoller[None]:
        self.get(name)
        remove_tree(self._scope.registry_dir(name))
        return completed(None)
