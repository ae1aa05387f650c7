"""Endpoint records: ``<workspace>/<online|batch>_endpoints/<name>/endpoint.yaml``.

One store per kind of endpoint, constructed once by the client and shared by the endpoint group and
its deployment group (the deployment group adds and removes itself from the endpoint's record under
the same lock the endpoint group takes), so neither group reaches into the other.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from azure.ai.ml.exceptions import ErrorTarget

from accelerator.local._exceptions import not_found
from accelerator.local._scope import LocalScope
from accelerator.local._store import join, read_record, record_lock, segment, write_record


class EndpointRecords:
    """The records of a workspace's endpoints of one kind (online or batch)."""

    def __init__(
        self, scope: LocalScope, folder: str, kind: str, target: ErrorTarget, required: tuple[str, ...]
    ) -> None:
        self._scope = scope
        self._folder = folder  # under the workspace: online_endpoints, batch_endpoints
        self.kind = kind  # as not-found errors name it: "Online endpoint", "Batch endpoint"
        self.target = target
        self.required = required

    def root(self) -> Path:
        return self._scope.require_workspace() / self._folder

    def folder(self, name: str) -> Path:
        return join(self.root(), name, kind="endpoint name", target=self.target)

    def path(self, name: str) -> Path:
        return self.folder(name) / "endpoint.yaml"

    def get(self, name: str) -> dict[str, Any]:
        """The endpoint's record; the service's not-found error if there is none."""
        path = self.path(name)
        if not path.is_file():
            raise not_found(self.kind, name, f"workspace '{self._scope.workspace_name}'")
        return read_record(path, self.required)

    def lock(self, name: str) -> Any:
        """Held around every read-modify-write of the endpoint's record, in this process and any
        other: a concurrent update never writes a stale copy back."""
        return record_lock(self.folder(name) / ".endpoint.lock")

    def update(self, name: str, change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
        """Apply ``change(record)`` to the endpoint's record under its lock; the record as written."""
        with self.lock(name):
            record = self.get(name)
            change(record)
            self.write(record)
            return record

    def write(self, record: dict[str, Any]) -> None:
        write_record(self.path(record["name"]), record)


class OnlineEndpointRecords(EndpointRecords):
    """Online endpoints' records (keys, traffic, deployments, gateway); the deployments' own records
    and servers are ``_deployments``'s, in the endpoint's folder."""

    def __init__(self, scope: LocalScope) -> None:
        super().__init__(
            scope, "online_endpoints", "Online endpoint", ErrorTarget.ONLINE_ENDPOINT, ONLINE_REQUIRED
        )


class BatchEndpointRecords(EndpointRecords):
    """Batch endpoints' records and their deployments' (``<endpoint>/deployments/<name>.yaml``):
    the endpoint group reads the deployment a job runs, the deployment group writes it."""

    def __init__(self, scope: LocalScope) -> None:
        super().__init__(
            scope, "batch_endpoints", "Batch endpoint", ErrorTarget.BATCH_ENDPOINT, _BATCH_REQUIRED
        )

    def deployment_path(self, name: str, endpoint_name: str) -> Path:
        self.get(endpoint_name)  # the SDK's not-found error first
        folder = join(self.folder(endpoint_name), "deployments")
        return folder / f"{segment(name, 'deployment name', ErrorTarget.BATCH_DEPLOYMENT)}.yaml"

    def deployment(self, name: str, endpoint_name: str) -> dict[str, Any]:
        path = self.deployment_path(name, endpoint_name)
        if not path.is_file():
            raise not_found("Batch deployment", name, f"batch endpoint '{endpoint_name}'")
        return read_record(path, ("name", "model", "settings"))


ONLINE_REQUIRED = ("name", "keys", "deployments")
_BATCH_REQUIRED = ("name", "deployments")
