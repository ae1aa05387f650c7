"""``ml_client.batch_deployments`` on the local backend: what a batch scoring job runs.

A deployment names a registered model, a compute cluster, the mini-batch settings and either a
scoring script with its environment or, for an MLflow model, nothing: Azure ML then supplies a
scoring script (here ``_local_endpoints/mlflow_batch_score.py``). Unset settings take Azure ML's
defaults, which ``get`` returns as the service does.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azure.ai.ml import operations as sdk_operations
from azure.ai.ml._restclient.arm_ml_service import models as rest_models
from azure.ai.ml._utils.utils import to_iso_duration_format
from azure.ai.ml.entities import BatchDeployment, PipelineComponentBatchDeployment
from azure.ai.ml.exceptions import ErrorTarget
from azure.core.polling import LROPoller

from accelerator.local._exceptions import LocalBackendUnsupportedError, user_error
from accelerator.local._local_endpoints._records import BatchEndpointRecords
from accelerator.local._paging import paged
from accelerator.local._poller import completed
from accelerator.local._scope import LocalScope
from accelerator.local._store import segment, write_record
from accelerator.local._validation import check_name
from accelerator.local._vm_sizes import check_count
from accelerator.local.operations._base import LocalOperations
from accelerator.local.operations._deployment_scoring import model_reference, scoring_code
from accelerator.local.operations._operation_orchestrator import LocalOrchestrator

if TYPE_CHECKING:
    from accelerator.local.operations._batch_endpoint_operations import BatchEndpointOperations
    from accelerator.local.operations._job_operations import JobOperations

_MLFLOW_SCORER = Path(__file__).resolve().parents[1] / "_local_endpoints" / "mlflow_batch_score.py"
# What a no-code MLflow deployment runs in: a curated environment (locally, this machine's Python).
MLFLOW_ENVIRONMENT = "azureml://registries/azureml/environments/mlflow-py312-inference/labels/latest"
# Azure ML's defaults for the settings a deployment leaves out.
DEFAULTS: dict[str, Any] = {
    "mini_batch_size": 10,
    "max_concurrency_per_instance": 1,
    "instance_count": 1,
    "error_threshold": -1,
    "max_retries": 3,
    "timeout": 30,
    "output_action": "append_row",
    "output_file_name": "predictions.csv",
    "logging_level": "info",
}


class BatchDeploymentOperations(LocalOperations):
    _sdk_class = sdk_operations.BatchDeploymentOperations
    _group = "batch_deployments"

    def __init__(
        self,
        scope: LocalScope,
        endpoints: BatchEndpointRecords,
        orchestrator: LocalOrchestrator,
        batch_endpoints: BatchEndpointOperations,
        jobs: JobOperations,
    ) -> None:
        super().__init__(scope)
        self._endpoints = endpoints  # shared with ml_client.batch_endpoints
        self._orchestrator = orchestrator
        self._batch_endpoints = batch_endpoints  # for list_jobs
        self._jobs = jobs

    def _path(self, name: str, endpoint_name: str) -> Path:
        return self._endpoints.deployment_path(name, endpoint_name)

    def _record(self, name: str, endpoint_name: str) -> dict[str, Any]:
        return self._endpoints.deployment(name, endpoint_name)

    def begin_create_or_update(
        self, deployment: BatchDeployment, *, skip_script_validation: bool = False, **kwargs: Any
    ) -> LROPoller[BatchDeployment]:
        if isinstance(deployment, PipelineComponentBatchDeployment) or not isinstance(
            deployment, BatchDeployment
        ):
            raise LocalBackendUnsupportedError(
                f"{type(deployment).__name__}s", "Use a ModelBatchDeployment (a model and its scoring)."
            )
        check_name("deployment", deployment.name, ErrorTarget.BATCH_DEPLOYMENT)
        if not deployment.endpoint_name:
            raise user_error("The deployment needs endpoint_name.", ErrorTarget.BATCH_DEPLOYMENT)
        endpoint = self._endpoints.get(deployment.endpoint_name)
        deployment._to_rest_object(location="local")  # the SDK's own checks and serialisation
        settings = _settings(deployment)
        registered = self._orchestrator.registered_model(deployment.model, ErrorTarget.BATCH_DEPLOYMENT)
        model, model_type = model_reference(registered), registered.type
        compute = self._orchestrator.compute(deployment.compute)
        if not compute or compute in ("local", "serverless"):
            raise user_error(
                "A batch deployment runs on a compute cluster: set compute to an AmlCompute name.",
                ErrorTarget.BATCH_DEPLOYMENT,
            )
        folder = self._endpoints.folder(deployment.endpoint_name)
        code, script, environment = scoring_code(
            self._orchestrator,
            deployment,
            model_type,
            folder,
            (_MLFLOW_SCORER, _MLFLOW_SCORER.name, MLFLOW_ENVIRONMENT),
            ErrorTarget.BATCH_DEPLOYMENT,
            needs_environment=True,
            check_script=not skip_script_validation,
        )
        record = {
            "name": deployment.name,
            "endpoint_name": deployment.endpoint_name,
            "model": model,
            "model_type": model_type,
            "code": code,
            "scoring_script": script,
            "no_code": deployment.code_configuration is None,
            "environment": environment,
            "compute": compute,
            "settings": settings,
            "environment_variables": {
                str(k): str(v) for k, v in (deployment.environment_variables or {}).items()
            },
            "description": deployment.description,
            "tags": dict(deployment.tags or {}),
            "properties": dict(deployment.properties or {}),
        }
        endpoints = self._endpoints
        with endpoints.lock(deployment.endpoint_name):  # the deployment list: read, add, write
            write_record(self._path(deployment.name, deployment.endpoint_name), record)
            endpoint = endpoints.get(deployment.endpoint_name)
            if deployment.name not in endpoint["deployments"]:
                endpoint["deployments"].append(deployment.name)
                endpoints.write(endpoint)
        return completed(self.get(deployment.name, deployment.endpoint_name))

    def get(self, name: str, endpoint_name: str) -> BatchDeployment:
        record = self._record(name, endpoint_name)
        settings = record["settings"]
        properties: dict[str, Any] = {
            "description": record.get("description"),
            "properties": record.get("properties") or {},
            "model": {"referenceType": "Id", "assetId": self._model_id(record["model"])},
            "compute": record["compute"],
            "resources": {"instanceCount": settings["instance_count"]},
            "miniBatchSize": settings["mini_batch_size"],
            "maxConcurrencyPerInstance": settings["max_concurrency_per_instance"],
            "errorThreshold": settings["error_threshold"],
            "retrySettings": {
                "maxRetries": settings["max_retries"],
                "timeout": to_iso_duration_format(settings["timeout"]),
            },
            "outputAction": "AppendRow" if settings["output_action"] == "append_row" else "SummaryOnly",
            "outputFileName": settings["output_file_name"],
            "loggingLevel": settings["logging_level"].capitalize(),
            "environmentVariables": record.get("environment_variables") or {},
            "provisioningState": "Succeeded",
        }
        if not record.get("no_code"):
            properties["codeConfiguration"] = {
                "codeId": record["code"],
                "scoringScript": record["scoring_script"],
            }
            properties["environmentId"] = record["environment"]
        body = {
            "id": self._scope.arm_id(
                "workspaces",
                self._scope.workspace_name or "",
                "batchEndpoints",
                endpoint_name,
                "deployments",
                name,
            ),
            "name": name,
            "location": "local",
            "tags": record.get("tags") or {},
            "properties": properties,
        }
        deployment = BatchDeployment._from_rest_object(rest_models.BatchDeployment(body))
        deployment.endpoint_name = endpoint_name
        return deployment

    def _model_id(self, model: str) -> str:
        if model.startswith("azureml://registries/"):
            return model
        name, _, version = model.partition(":")
        return self._scope.arm_id(
            "workspaces", self._scope.workspace_name or "", "models", name, "versions", version
        )

    def list(self, endpoint_name: str) -> Any:
        names = self._endpoints.get(endpoint_name).get("deployments") or []
        return paged(self.get(n, endpoint_name) for n in names)

    def list_jobs(self, endpoint_name: str, *, name: str | None = None) -> Any:
        jobs = self._batch_endpoints.list_jobs(endpoint_name)
        if name is None:
            return jobs
        self._record(name, endpoint_name)
        return paged(
            job
            for job in jobs
            if (self._jobs.get(job.name).properties or {}).get("azureml.batchDeployment") == name
        )

    def begin_delete(self, name: str, endpoint_name: str) -> LROPoller[None]:
        """Remove a deployment; as on Azure, not the endpoint's default while others remain."""
        self._record(name, endpoint_name)
        with self._endpoints.lock(endpoint_name):
            self._delete(name, endpoint_name)
        return completed(None)

    def _delete(self, name: str, endpoint_name: str) -> None:
        endpoint = self._endpoints.get(endpoint_name)
        others = [d for d in endpoint["deployments"] if d != name]
        if endpoint.get("default_deployment") == name and others:
            raise user_error(
                f"Deployment '{name}' is the default of batch endpoint '{endpoint_name}': "
                f"make another deployment the default first ({', '.join(others)}).",
                ErrorTarget.BATCH_DEPLOYMENT,
            )
        self._path(name, endpoint_name).unlink()
        shutil.rmtree(self._endpoints.folder(endpoint_name) / "code" / name, ignore_errors=True)
        endpoint["deployments"] = others
        if endpoint.get("default_deployment") == name:
            endpoint["default_deployment"] = None
        self._endpoints.write(endpoint)


def _first_set(*values: Any) -> Any:
    """The first value given, 0 included (``or`` would take an instance_count of 0 for unset)."""
    return next((v for v in values if v is not None), None)


def _settings(deployment: BatchDeployment) -> dict[str, Any]:
    """The deployment's settings, Azure ML's defaults for those unset, each checked."""
    retry = deployment.retry_settings
    resources = getattr(deployment, "resources", None)
    given = {
        "mini_batch_size": deployment.mini_batch_size,
        "max_concurrency_per_instance": deployment.max_concurrency_per_instance,
        "instance_count": _first_set(
            getattr(resources, "instance_count", None),
            getattr(deployment, "instance_count", None),
            # The SDK drops an instance_count of 0 from resources; the setting keeps it.
            getattr(getattr(deployment, "_settings", None), "instance_count", None),
        ),
        "error_threshold": deployment.error_threshold,
        "max_retries": getattr(retry, "max_retries", None),
        "timeout": getattr(retry, "timeout", None),
        "output_action": deployment.output_action,
        "output_file_name": deployment.output_file_name,
        "logging_level": deployment.logging_level,
    }
    settings = {key: DEFAULTS[key] if value is None else value for key, value in given.items()}
    settings["output_action"] = str(getattr(settings["output_action"], "value", settings["output_action"]))
    settings["output_action"] = settings["output_action"].lower().replace("appendrow", "append_row")
    settings["output_action"] = settings["output_action"].replace("summaryonly", "summary_only")
    settings["logging_level"] = str(settings["logging_level"]).lower()
    minimums = {
        "mini_batch_size": 1,
        "max_concurrency_per_instance": 1,
        "instance_count": 1,
        "error_threshold": -1,
    }
    for key, least in {**minimums, "max_retries": 0}.items():
        if not isinstance(settings[key], int) or settings[key] < least:
            raise user_error(
                f"{key} must be a whole number of at least {least}, not {settings[key]!r}.",
                ErrorTarget.BATCH_DEPLOYMENT,
            )
    # Upper bounds: on this machine each unit of concurrency is a worker process (Azure bounds them
    # by the cluster's cores and quota); a value such as 10**6 is refused, not attempted.
    check_count(settings["max_concurrency_per_instance"], "max_concurrency_per_instance", 1, 256)
    check_count(settings["instance_count"], "instance_count", 1, 100)
    # The predictions file is one file in the job's output folder, never a path out of it.
    segment(settings["output_file_name"], "output_file_name", ErrorTarget.BATCH_DEPLOYMENT)
    if not isinstance(settings["timeout"], (int, float)) or settings["timeout"] <= 0:
        raise user_error(
            f"retry_settings.timeout must be a number of seconds above 0, not {settings['timeout']!r}.",
            ErrorTarget.BATCH_DEPLOYMENT,
        )
    if settings["output_action"] not in ("append_row", "summary_only"):
        raise user_error(
            f"output_action must be append_row or summary_only, not {settings['output_action']!r}.",
            ErrorTarget.BATCH_DEPLOYMENT,
        )
    if settings["logging_level"] not in ("debug", "info", "warning"):
        raise user_error(
            f"logging_level must be debug, info or warning, not {settings['logging_level']!r}.",
            ErrorTarget.BATCH_DEPLOYMENT,
        )
    return settings
