"""Local operation groups, one module per ``MLClient`` attribute, named as in ``azure.ai.ml.operations``."""

from accelerator.local.operations._batch_deployment_operations import BatchDeploymentOperations
from accelerator.local.operations._batch_endpoint_operations import BatchEndpointOperations
from accelerator.local.operations._component_operations import ComponentOperations
from accelerator.local.operations._compute_operations import ComputeOperations
from accelerator.local.operations._data_operations import DataOperations
from accelerator.local.operations._datastore_operations import DatastoreOperations
from accelerator.local.operations._environment_operations import EnvironmentOperations
from accelerator.local.operations._job_operations import JobOperations
from accelerator.local.operations._model_operations import ModelOperations
from accelerator.local.operations._online_deployment_operations import OnlineDeploymentOperations
from accelerator.local.operations._online_endpoint_operations import OnlineEndpointOperations
from accelerator.local.operations._registry_model_operations import RegistryModelOperations
from accelerator.local.operations._registry_operations import RegistryOperations
from accelerator.local.operations._workspace_operations import WorkspaceOperations

__all__ = [
    "BatchDeploymentOperations",
    "BatchEndpointOperations",
    "ComponentOperations",
    "ComputeOperations",
    "DataOperations",
    "DatastoreOperations",
    "EnvironmentOperations",
    "JobOperations",
    "ModelOperations",
    "OnlineDeploymentOperations",
    "OnlineEndpointOperations",
    "RegistryModelOperations",
    "RegistryOperations",
    "WorkspaceOperations",
]
