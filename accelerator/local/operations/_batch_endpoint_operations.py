"""``ml_client.batch_endpoints`` on the local backend: batch scoring jobs over files.

An endpoint is a record with its deployments and its default deployment. ``invoke`` starts a batch
scoring job as Azure ML does: a pipeline job (in an experiment named after the endpoint) with one
step, ``batchscoring``, that runs the deployment's scoring script over the input's files in
mini-batches (``_local_endpoints/batch_driver.py``) and writes the predictions to its ``score``
output. The job is an ordinary job: ``ml_client.jobs`` streams, lists, cancels and downloads it.
"""

from __future__ import annotations

import logging
import shlex
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azure.ai.ml import Input, Output, command
from azure.ai.ml import operations as sdk_operations
from azure.ai.ml._restclient.arm_ml_service import models as rest_models
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import BatchEndpoint, PipelineJob
from azure.ai.ml.entities._deployment.batch_job import BatchJob
from azure.ai.ml.entities._job.pipeline.pipeline_job_settings import PipelineJobSettings
from azure.ai.ml.exceptions import ErrorTarget
from azure.core.exceptions import ResourceNotFoundError
from azure.core.polling import LROPoller

from accelerator.local import _names
from accelerator.local._exceptions import (
    LocalBackendUnsupportedError,
    not_found,
    user_error,
    validation_error,
)
from accelerator.local._local_endpoints._records import BatchEndpointRecords
from accelerator.local._paging import paged
from accelerator.local._poller import completed
from accelerator.local._scope import LocalScope
from accelerator.local._store import read_all, read_record, remove_tree
from accelerator.local._validation import check_name
from accelerator.local.operations._base import LocalOperations

if TYPE_CHECKING:
    from accelerator.local.operations._job_operations import JobOperations

_DRIVER = "accelerator.local._local_endpoints.batch_driver"
_BATCH_PROPERTY = "azureml.batchEndpoint"
_JOB_TYPE = "Microsoft.MachineLearningServices/workspaces/jobs"


class BatchEndpointOperations(LocalOperations):
    _sdk_class = sdk_operations.BatchEndpointOperations
    _group = "batch_endpoints"

    def __init__(self, scope: LocalScope, records: BatchEndpointRecords, jobs: JobOperations) -> None:
        super().__init__(scope)
        self._records = records  # shared with ml_client.batch_deployments
        self._jobs = jobs  # a batch scoring job is an ordinary job

    # -- create, update, read --------------------------------------------------------------------

    def begin_create_or_update(self, endpoint: BatchEndpoint) -> LROPoller[BatchEndpoint]:
        if not isinstance(endpoint, BatchEndpoint):
            raise validation_error(
                f"Expected a BatchEndpoint, not {type(endpoint).__name__}.", ErrorTarget.BATCH_ENDPOINT
            )
        if (endpoint.auth_mode or "aad_token").lower() not in ("aad_token", "aadtoken"):
            raise user_error(
                f"Batch endpoints authenticate with Microsoft Entra tokens only "
                f"(auth_mode='aad_token'), not '{endpoint.auth_mode}'.",
                ErrorTarget.BATCH_ENDPOINT,
            )
        check_name("endpoint", endpoint.name, ErrorTarget.BATCH_ENDPOINT)  # None too: no TypeError
        rest = endpoint._to_rest_batch_endpoint(self._location()).as_dict()  # the SDK's checks
        path = self._records.path(endpoint.name)
        if not path.is_file():
            default = (rest["properties"].get("defaults") or {}).get("deploymentName")
            if default is not None:  # checked before the lock makes a folder: a refusal leaves nothing
                raise user_error(
                    f"The default deployment '{default}' is not a deployment of batch "
                    f"endpoint '{endpoint.name}'; its deployments: none.",
                    ErrorTarget.BATCH_ENDPOINT,
                )
        with self._records.lock(endpoint.name):
            self._put(endpoint, rest, path)
        return completed(self.get(endpoint.name))

    def _put(self, endpoint: BatchEndpoint, rest: dict[str, Any], path: Path) -> None:
        record = (
            read_record(path, ("name", "deployments"))
            if path.is_file()
            else {"name": endpoint.name, "deployments": []}
        )
        default = (rest["properties"].get("defaults") or {}).get("deploymentName")
        if default is None:  # an entity built from scratch keeps the endpoint's default
            default = record.get("default_deployment")
        elif default not in record["deployments"]:
            raise user_error(
                f"The default deployment '{default}' is not a deployment of batch endpoint "
                f"'{endpoint.name}'; its deployments: {', '.join(record['deployments']) or 'none'}.",
                ErrorTarget.BATCH_ENDPOINT,
            )
        record.update(
            description=endpoint.description,
            tags=dict(endpoint.tags or {}),
            properties=dict(endpoint.properties or {}),
            default_deployment=default,
        )
        self._records.write(record)

    def get(self, name: str) -> BatchEndpoint:
        record = self._records.get(name)
        properties: dict[str, Any] = {
            "description": record.get("description"),
            "authMode": "AADToken",
            "properties": record.get("properties") or {},
            "provisioningState": "Succeeded",
            # The service always answers with ``defaults`` (its deploymentName null until one is
            # set), so samples can do ``endpoint.defaults.deployment_name = ...`` after a get.
            "defaults": {"deploymentName": record.get("default_deployment")},
        }
        body = {
            "id": self._scope.arm_id("workspaces", self._scope.workspace_name or "", "batchEndpoints", name),
            "name": name,
            "location": self._location(),
            "tags": record.get("tags") or {},
            "properties": properties,
        }
        return BatchEndpoint._from_rest_object(rest_models.BatchEndpoint(body))

    def list(self) -> Any:
        root = self._records.root()
        paths = sorted(root.glob("*/endpoint.yaml")) if root.is_dir() else []
        found = read_all([p for p in paths if not p.parent.name.startswith(".")], ("name", "deployments"))
        return paged(self.get(record["name"]) for _, record in found)

    def begin_delete(self, name: str) -> LROPoller[None]:
        """Delete the endpoint and its deployments; its jobs stay in the workspace, as on Azure."""
        with self._records.lock(name):
            self._records.get(name)
            remove_tree(self._records.folder(name))
        return completed(None)

    # -- scoring ---------------------------------------------------------------------------------

    def invoke(
        self,
        endpoint_name: str,
        *,
        deployment_name: str | None = None,
        inputs: dict[str, Input] | None = None,
        **kwargs: Any,
    ) -> BatchJob:
        """Start a batch scoring job over a folder or file; it runs in the background."""
        record = self._records.get(endpoint_name)
        deployment = deployment_name or record.get("default_deployment")
        if not deployment:
            raise user_error(
                f"Batch endpoint '{endpoint_name}' has no default deployment: pass "
                "deployment_name, or set endpoint.defaults.deployment_name and update the endpoint.",
                ErrorTarget.BATCH_ENDPOINT,
            )
        if deployment not in record["deployments"]:
            raise not_found("Batch deployment", deployment, f"batch endpoint '{endpoint_name}'")
        unsupported = sorted(
            set(kwargs) - {"input", "job_name", "experiment_name", "outputs", "params_override"}
        )
        if unsupported or kwargs.get("params_override"):
            raise LocalBackendUnsupportedError(
                f"batch_endpoints.invoke({', '.join(unsupported or ['params_override'])}=...)"
            )
        data = _single_input(kwargs.get("input"), inputs)
        spec = self._records.deployment(deployment, endpoint_name)
        # The service builds this job on Azure: keep the SDK's notes on the experimental schemas it
        # uses out of the caller's output, as they are when Azure builds it.
        experimental = logging.getLogger("azure.ai.ml._utils._experimental")
        level = experimental.level
        experimental.setLevel(logging.ERROR)
        try:
            job = self._scoring_job(
                endpoint_name,
                spec,
                data,
                kwargs.get("job_name"),
                kwargs.get("experiment_name"),
                kwargs.get("outputs"),
            )
            submitted = self._jobs.create_or_update(job)
        finally:
            experimental.setLevel(level)
        return BatchJob(id=submitted.id, name=submitted.name, type=_JOB_TYPE, status=submitted.status)

    def _job_exists(self, name: str) -> bool:
        try:
            self._jobs.get(name)
        except ResourceNotFoundError:
            return False
        return True

    def _scoring_job(
        self,
        endpoint: str,
        spec: dict[str, Any],
        data: Input,
        job_name: str | None,
        experiment: str | None,
        outputs: dict[str, Any] | None,
    ) -> PipelineJob:
        settings = spec["settings"]
        arguments = {
            "--scoring-script": spec["scoring_script"],
            "--mini-batch-size": settings["mini_batch_size"],
            "--workers": settings["max_concurrency_per_instance"] * settings["instance_count"],
            "--error-threshold": settings["error_threshold"],
            "--max-retries": settings["max_retries"],
            "--timeout": settings["timeout"],
            "--output-action": settings["output_action"],
            "--output-file": settings["output_file_name"],
            "--logging-level": settings["logging_level"],
        }
        line = " ".join(f"{flag} {shlex.quote(str(value))}" for flag, value in arguments.items())
        score = Output(type=AssetTypes.URI_FOLDER)
        if outputs:
            unknown = sorted(set(outputs) - {"score"})
            if unknown:
                raise user_error(
                    f"A model batch deployment has one output, 'score'; not {', '.join(unknown)}.",
                    ErrorTarget.BATCH_ENDPOINT,
                )
            given = outputs["score"]
            score = Output(type=AssetTypes.URI_FOLDER, path=getattr(given, "path", None) or str(given))
        step = command(
            name="batchscoring",
            display_name="batchscoring",
            command=(
                f"python -m {_DRIVER} --input ${{{{inputs.input}}}} --model ${{{{inputs.model}}}} "
                f"--output ${{{{outputs.score}}}} {line}"
            ),
            code=spec["code"],
            environment=spec["environment"],
            compute=spec["compute"],
            inputs={"input": data, "model": Input(type=spec["model_type"], path=_model_path(spec["model"]))},
            outputs={"score": score},
            environment_variables=spec.get("environment_variables") or {},
        )
        return PipelineJob(
            name=job_name
            or _names.job_name(self._job_exists, prefix="batchjob")
            or f"batchjob-{uuid.uuid4()}",
            display_name=f"{endpoint}/{spec['name']}",
            experiment_name=experiment or endpoint,
            jobs={"batchscoring": step},
            settings=PipelineJobSettings(force_rerun=True, default_compute=spec["compute"]),
            properties={_BATCH_PROPERTY: endpoint, "azureml.batchDeployment": spec["name"]},
            tags={"endpoint": endpoint, "deployment": spec["name"]},
        )

    def list_jobs(self, endpoint_name: str) -> Any:
        """The endpoint's batch jobs, newest first."""
        self._records.get(endpoint_name)
        return paged(
            BatchJob(id=job.id, name=job.name, type=_JOB_TYPE, status=job.status)
            for job in self._jobs.list()
            if (job.properties or {}).get(_BATCH_PROPERTY) == endpoint_name
        )

    def _location(self) -> str:
        workspace = read_record(self._scope.require_workspace() / "workspace.yaml")
        return str(workspace.get("entity", {}).get("location") or "westeurope")


def _single_input(input: Any, inputs: dict[str, Any] | None) -> Input:
    """The one folder or file a model deployment scores, from ``input=`` or ``inputs={...}``."""
    given = [input] if input is not None else list((inputs or {}).values())
    if len(given) != 1:
        raise user_error(
            "A model batch deployment takes one input: a uri_folder or uri_file, as "
            "input=Input(...) or inputs={'input': Input(...)}.",
            ErrorTarget.BATCH_ENDPOINT,
        )
    data = given[0]
    if not isinstance(data, Input) or data.type not in (AssetTypes.URI_FOLDER, AssetTypes.URI_FILE):
        raise user_error(
            "The input of a batch job must be Input(type='uri_folder' or 'uri_file', path=...): "
            "a folder or file, a data asset or a datastore path.",
            ErrorTarget.BATCH_ENDPOINT,
        )
    return data


def _model_path(model: str) -> str:
    """A registry model is named by its id; a workspace model as ``azureml:<name>:<version>``."""
    return model if model.startswith("azureml://registries/") else f"azureml:{model}"
