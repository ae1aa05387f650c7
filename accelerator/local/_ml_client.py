"""``LocalMLClient``: the embedded backend with ``MLClient``'s attribute names and signatures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from azure.ai.ml import MLClient
from azure.ai.ml.entities import (
    AmlCompute,
    BatchDeployment,
    BatchEndpoint,
    Component,
    Data,
    Datastore,
    Environment,
    Job,
    Model,
    OnlineDeployment,
    OnlineEndpoint,
    Registry,
    Workspace,
)
from azure.ai.ml.entities._builders import BaseNode

from accelerator._home import default_home
from accelerator.local._compile import JobCompiler
from accelerator.local._exceptions import LocalBackendUnsupportedError
from accelerator.local._execution._records import JobRecords
from accelerator.local._fsspec import register as register_fsspec
from accelerator.local._local_endpoints._records import BatchEndpointRecords, OnlineEndpointRecords
from accelerator.local._scope import LOCAL_SUBSCRIPTION_ID, LocalScope
from accelerator.local._uploads import DatastoreFiles, LocalUploads
from accelerator.local.operations import (
    BatchDeploymentOperations,
    BatchEndpointOperations,
    ComponentOperations,
    ComputeOperations,
    DataOperations,
    DatastoreOperations,
    EnvironmentOperations,
    JobOperations,
    ModelOperations,
    OnlineDeploymentOperations,
    OnlineEndpointOperations,
    RegistryModelOperations,
    RegistryOperations,
    ScheduleOperations,
    WorkspaceOperations,
)
from accelerator.local.operations._component_resolver import ComponentResolver
from accelerator.local.operations._model_operations import ModelFiles
from accelerator.local.operations._operation_orchestrator import LocalOrchestrator

# MLClient operation groups that later chapters bring to the local backend.
_NOT_YET = (
    "connections",
    "feature_stores",
    "feature_sets",
    "feature_store_entities",
    "marketplace_subscriptions",
    "serverless_endpoints",
    "evaluators",
    "indexes",
    "capability_hosts",
    "workspace_outbound_rules",
)


class _NotYetSupported:
    def __init__(self, group: str) -> None:
        self._group = group

    def __getattr__(self, item: str) -> Any:
        if item.startswith("_"):
            raise AttributeError(item)
        raise LocalBackendUnsupportedError(
            f"ml_client.{self._group}.{item}",
            f"The {self._group} operations are not in the local backend yet.",
        )


class LocalMLClient:
    """A client for local workspaces, taking and returning the SDK's own entity classes.

    Construct it through ``accelerator.connect(environment, backend="local")``.
    """

    def __init__(
        self,
        workspace_name: str | None = None,
        *,
        resource_group_name: str = "rg-local",
        subscription_id: str = LOCAL_SUBSCRIPTION_ID,
        registry_name: str | None = None,
        home: str | os.PathLike[str] | None = None,
    ) -> None:
        root = Path(home).expanduser().resolve() if home else default_home()
        self._scope = LocalScope(root, subscription_id, resource_group_name, workspace_name, registry_name)
        register_fsspec(root)
        scope = self._scope
        # What several groups share, constructed once and handed to each group that needs it (as
        # MLClient hands its groups the OperationOrchestrator and all_operations): no group reaches
        # into another's private methods, and the order below is the order of dependence.
        datastore_files = DatastoreFiles(scope)
        uploads = LocalUploads(scope, datastore_files)
        model_files = ModelFiles(scope)
        online_endpoint_records = OnlineEndpointRecords(scope)
        batch_endpoint_records = BatchEndpointRecords(scope)

        def job_records() -> JobRecords:  # the workspace may be created after the client
            return JobRecords(scope.require_workspace())

        self.workspaces = WorkspaceOperations(scope)
        self.registries = RegistryOperations(scope)
        self.compute = ComputeOperations(scope)
        self.environments = EnvironmentOperations(scope)
        self.datastores = DatastoreOperations(scope)
        self.data = DataOperations(scope, datastore_files, uploads)
        self.models = ModelOperations(scope, self, model_files, datastore_files, uploads)
        # The orchestrator calls the groups' public methods (environments, compute, models, data,
        # datastores) when it resolves a reference, so it is given the client, as the SDK gives its
        # own all_operations.
        orchestrator = LocalOrchestrator(scope, self, model_files=model_files, uploads=uploads)
        # Components are stored as the resolver prepares them; jobs and schedules resolve their
        # pipelines' steps through it (the SDK's jobs resolve them through its orchestrator).
        components = ComponentResolver(scope, orchestrator, self)
        self.components = ComponentOperations(scope, components)
        self.jobs = JobOperations(scope, JobCompiler(orchestrator, components.resolve))
        self.online_endpoints = OnlineEndpointOperations(scope, online_endpoint_records)
        self.online_deployments = OnlineDeploymentOperations(scope, online_endpoint_records, orchestrator)
        self.batch_endpoints = BatchEndpointOperations(scope, batch_endpoint_records, self.jobs)
        self.batch_deployments = BatchDeploymentOperations(
            scope, batch_endpoint_records, orchestrator, self.batch_endpoints, self.jobs
        )
        self.schedules = ScheduleOperations(
            scope, self, resolve_component=components.resolve, job_records=job_records
        )
        for group in _NOT_YET:
            setattr(self, group, _NotYetSupported(group))
        if self._scope.in_registry:
            # As MLClient(credential, registry_name=...): models, environments and components act
            # on the registry (its environments and components through the same versioned records).
            self._scope.require_registry()
            self.models = RegistryModelOperations(self._scope)  # type: ignore[assignment]

    @property
    def subscription_id(self) -> str:
        return self._scope.subscription_id

    @property
    def resource_group_name(self) -> str:
        return self._scope.resource_group_name

    @property
    def workspace_name(self) -> str | None:
        return self._scope.workspace_name

    @property
    def registry_name(self) -> str | None:
        return self._scope.registry_name

    @property
    def home(self) -> Path:
        """The folder of the local store."""
        return self._scope.home

    def create_or_update(self, entity: Any) -> Any:
        """As ``MLClient.create_or_update``: dispatch on the entity's type."""
        if isinstance(entity, Environment):
            return self.environments.create_or_update(entity)
        if isinstance(entity, Data):
            return self.data.create_or_update(entity)
        if isinstance(entity, Datastore):
            return self.datastores.create_or_update(entity)
        if isinstance(entity, (Job, BaseNode)):
            return self.jobs.create_or_update(entity)
        if isinstance(entity, Model):
            return self.models.create_or_update(entity)
        if isinstance(entity, Component):
            return self.components.create_or_update(entity)
        raise LocalBackendUnsupportedError(f"create_or_update for {type(entity).__name__}")

    def begin_create_or_update(self, entity: Any) -> Any:
        """As ``MLClient.begin_create_or_update``: dispatch on the entity's type."""
        if isinstance(entity, Workspace):
            return self.workspaces.begin_create(entity)
        if isinstance(entity, Registry):
            return self.registries.begin_create(entity)
        if isinstance(entity, AmlCompute):
            return self.compute.begin_create_or_update(entity)
        if isinstance(entity, OnlineEndpoint):
            return self.online_endpoints.begin_create_or_update(entity)
        if isinstance(entity, OnlineDeployment):
            return self.online_deployments.begin_create_or_update(entity)
        if isinstance(entity, BatchEndpoint):
            return self.batch_endpoints.begin_create_or_update(entity)
        if isinstance(entity, BatchDeployment):
            return self.batch_deployments.begin_create_or_update(entity)
        raise LocalBackendUnsupportedError(f"begin_create_or_update for {type(entity).__name__}")

    def __getattr__(self, item: str) -> Any:
        # Reached only for names this class lacks: name MLClient's features instead of a bare
        # AttributeError.
        if not item.startswith("_") and hasattr(MLClient, item):
            raise LocalBackendUnsupportedError(f"MLClient.{item}")
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{item}'")

    def __repr__(self) -> str:
        if self._scope.in_registry:
            return f"LocalMLClient(registry_name='{self.registry_name}')"
        return (
            f"LocalMLClient(subscription_id='{self.subscription_id}', "
            f"resource_group_name='{self.resource_group_name}', workspace_name='{self.workspace_name}')"
        )
