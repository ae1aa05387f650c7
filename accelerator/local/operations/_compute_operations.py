"""``ml_client.compute`` on the local backend.

A compute cluster is recorded, not provisioned: local jobs run as processes on this machine
whatever cluster they name, but the cluster must exist, as on Azure.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable

import yaml
from azure.ai.ml import load_compute
from azure.ai.ml import operations as sdk_operations
from azure.ai.ml.constants._compute import ComputeDefaults
from azure.ai.ml.entities import AmlCompute, Compute
from azure.ai.ml.exceptions import ErrorTarget
from azure.core.polling import LROPoller

from accelerator.local._exceptions import (
    LocalBackendUnsupportedError,
    bad_request,
    not_found,
    user_http_error,
)
from accelerator.local._paging import paged
from accelerator.local._poller import completed
from accelerator.local._store import file_name, plain, read_all, read_record, records, segment, write_record
from accelerator.local._validation import check_name, to_rest
from accelerator.local.operations._base import LocalOperations


class ComputeOperations(LocalOperations):
    _sdk_class = sdk_operations.ComputeOperations
    _group = "compute"

    def begin_create_or_update(self, compute: Compute) -> LROPoller[Compute]:
        if not isinstance(compute, AmlCompute):
            raise LocalBackendUnsupportedError(
                f"compute of type '{getattr(compute, 'type', type(compute).__name__)}'",
                "Only AmlCompute clusters are supported.",
            )
        check_name("compute", compute.name, ErrorTarget.COMPUTE)
        path = self._path(compute.name)
        current = read_record(path, _REQUIRED)["entity"] if path.is_file() else None
        if not compute.size:
            # The SDK sends ComputeDefaults.VMSIZE for a cluster without a size (AmlCompute.
            # _to_rest_object); an update without one keeps the cluster's size.
            compute.size = current.get("size") if current else ComputeDefaults.VMSIZE
        _check_scale(compute)
        to_rest(compute)
        if current is not None and current.get("size", "").lower() != compute.size.lower():
            raise user_http_error(
                f"The VM size of compute '{compute.name}' cannot be changed "
                f"from {current.get('size')} to {compute.size}. Create a new cluster instead."
            )
        entity = plain(compute._to_dict())
        write_record(path, {"provisioning_state": "Succeeded", "entity": entity})
        return completed(self.get(compute.name))

    def get(self, name: str) -> Compute:
        path = self._path(name)
        if not path.is_file():
            raise not_found(
                "Compute",
                name,
                f"workspace '{self._scope.workspace_name}'",
                f"Create it first: ml_client.compute.begin_create_or_update(AmlCompute(name='{name}')).",
            )
        record = read_record(path, _REQUIRED)
        compute = load_compute(io.StringIO(yaml.safe_dump(record["entity"])))
        compute._provisioning_state = record["provisioning_state"]
        compute._id = self._scope.arm_id("workspaces", self._scope.workspace_name or "", "computes", name)
        return compute

    def list(self, *, compute_type: str | None = None) -> Iterable[Compute]:
        self._scope.require_workspace()
        found = [
            self.get(r["entity"]["name"])
            for _, r in read_all(records(self._scope.workspace_dir() / "computes"), _REQUIRED)
        ]
        if compute_type:
            found = [c for c in found if c.type.lower() == compute_type.lower()]
        return paged(found)

    def begin_delete(self, name: str, *, action: str = "Delete") -> LROPoller[None]:
        if action not in ("Delete", "Detach"):
            raise ValueError("action must be 'Delete' or 'Detach'.")
        self.get(name)
        self._path(name).unlink()
        return completed(None)

    def _path(self, name: str):
        folder = self._scope.require_workspace() / "computes"
        return folder / file_name(segment(name, "compute name", ErrorTarget.COMPUTE))


_REQUIRED = ("provisioning_state", "entity")
_VM_SIZE = re.compile(r"^standard_[a-z0-9_]+$", re.IGNORECASE)


def _check_scale(compute: AmlCompute) -> None:
    """The checks the service makes on a cluster's size and scale settings."""
    if not compute.size or not _VM_SIZE.match(compute.size):
        raise bad_request(
            f"(InvalidPropertyValue) The VM size '{compute.size}' is not a valid Azure VM size "
            "name, such as Standard_DS3_v2."
        )
    for field in ("min_instances", "max_instances"):
        value = getattr(compute, field)
        # The REST body carries integers: a string such as "3" is refused as the service refuses it.
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise bad_request(
                f"(InvalidPropertyValue) {field} must be an integer, not {type(value).__name__} {value!r}."
            )
    low, high = compute.min_instances or 0, compute.max_instances or 0
    if low < 0 or high < 1 or low > high:
        raise bad_request(
            f"(BadArgument) Invalid scale settings: min_instances ({low}) must be at least 0 "
            f"and at most max_instances ({high}), and max_instances at least 1."
        )
