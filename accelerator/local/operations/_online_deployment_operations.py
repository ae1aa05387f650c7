"""``ml_client.online_deployments`` on the local backend: a scoring server per deployment.

A deployment runs its scoring script (``code_configuration``) in ``azureml-inference-server-http``,
in the inference environment, with the registered model's files under ``AZUREML_MODEL_DIR`` as on
Azure. An MLflow model deployed without a scoring script gets the no-code MLflow scorer, as Azure
ML gives it one. ``begin_create_or_update`` returns when the server answers its health route.
"""

from __future__ import annotations

import shutil
import uuid
import warnings
from pathlib import Path
from typing import Any

from azure.ai.ml import operations as sdk_operations
from azure.ai.ml.entities import (
    CodeConfiguration,
    DataCollector,
    DeploymentCollection,
    ManagedOnlineDeployment,
    OnlineDeployment,
)
from azure.ai.ml.exceptions import ErrorTarget
from azure.core.exceptions import HttpResponseError
from azure.core.polling import LROPoller

from accelerator.local._exceptions import (
    LocalBackendUnsupportedError,
    not_found,
    user_error,
)
from accelerator.local._local_endpoints import _collect, _deployments
from accelerator.local._local_endpoints._records import OnlineEndpointRecords
from accelerator.local._local_endpoints._server import InferenceServerError
from accelerator.local._paging import paged
from accelerator.local._poller import completed
from accelerator.local._scope import LocalScope
from accelerator.local._store import read_record, write_record
from accelerator.local._validation import check_name
from accelerator.local._vm_sizes import check_count, check_deployment_sku
from accelerator.local.operations._base import LocalOperations
from accelerator.local.operations._deployment_scoring import model_reference, scoring_code
from accelerator.local.operations._operation_orchestrator import LocalOrchestrator

_MLFLOW_SCORER = Path(__file__).resolve().parents[1] / "_local_endpoints" / "mlflow_score.py"


class OnlineDeploymentOperations(LocalOperations):
    _sdk_class = sdk_operations.OnlineDeploymentOperations
    _group = "online_deployments"

    def __init__(
        self, scope: LocalScope, endpoints: OnlineEndpointRecords, orchestrator: LocalOrchestrator
    ) -> None:
        super().__init__(scope)
        self._endpoints = endpoints  # shared with ml_client.online_endpoints
        self._orchestrator = orchestrator

    def _endpoint_dir(self, endpoint_name: str) -> Path:
        self._endpoints.get(endpoint_name)  # the SDK's not-found error first
        return self._endpoints.folder(endpoint_name)

    def begin_create_or_update(
        self, deployment: OnlineDeployment, *, local: bool = False, **kwargs: Any
    ) -> LROPoller[OnlineDeployment]:
        if not isinstance(deployment, ManagedOnlineDeployment):
            raise LocalBackendUnsupportedError(
                f"{type(deployment).__name__}s", "Use a ManagedOnlineDeployment."
            )
        check_name("deployment", deployment.name, ErrorTarget.ONLINE_DEPLOYMENT)
        check_deployment_sku(deployment.instance_type)
        # Azure ML needs at least one instance; the upper bound is this machine's (each instance
        # would be a scoring server here), far above any managed endpoint's quota.
        if deployment.instance_count is not None:
            check_count(deployment.instance_count, "instance_count", 1, 100)
        folder = self._endpoint_dir(deployment.endpoint_name)
        with _deployments.lock(folder, deployment.name):
            done = self._put(deployment, folder)
        # After the deployment's lock is released: locks are always taken endpoint first, then
        # deployment (as begin_delete does), so two calls never wait on each other for ever.
        self._endpoints.update(deployment.endpoint_name, _listing(deployment.name))
        return done

    def _put(self, deployment: ManagedOnlineDeployment, folder: Path) -> LROPoller[OnlineDeployment]:
        """Create or update under the deployment's lock: the new definition's server is started
        and checked healthy before the record switches to it; only then does the previous server
        stop. A definition that cannot serve is reported, and the previous one keeps serving."""
        path = _deployments.record_path(folder, deployment.name)
        previous = read_record(path, _deployments.REQUIRED) if path.is_file() else None
        reference, model_dir, model_type = self._model(deployment.model, folder, deployment.name)
        try:
            return self._serve(deployment, folder, path, previous, reference, model_dir, model_type)
        except BaseException:
            shutil.rmtree(model_dir.parent.parent, ignore_errors=True)  # this attempt's model copy
            if previous is None:
                shutil.rmtree(folder / "code" / deployment.name, ignore_errors=True)
            raise

    def _serve(
        self,
        deployment: ManagedOnlineDeployment,
        folder: Path,
        path: Path,
        previous: dict[str, Any] | None,
        reference: str,
        model_dir: Path,
        model_type: str,
    ) -> LROPoller[OnlineDeployment]:
        code, script, environment = scoring_code(
            self._orchestrator,
            deployment,
            model_type,
            folder,
            (_MLFLOW_SCORER, "score.py", None),
            ErrorTarget.ONLINE_DEPLOYMENT,
        )
        try:
            collection = _collect.settings_of(deployment.data_collector)
        except ValueError as error:
            raise user_error(f"{error}", ErrorTarget.ONLINE_DEPLOYMENT) from None
        if collection and deployment.code_configuration is not None:
            model_data = sorted(set(collection["collections"]) & set(_collect.MODEL_DATA))
            if model_data:
                warnings.warn(
                    f"Deployment {deployment.name} has a scoring script: Azure ML collects "
                    f"{' and '.join(model_data)} only where the script calls azureml-ai-monitoring's "
                    "Collector, which the local backend does not emulate. It collects the request and "
                    "response payloads of every deployment, and model inputs and outputs of no-code "
                    "MLflow deployments.",
                    stacklevel=2,
                )
        record = dict(previous or {})
        record.update(
            name=deployment.name,
            endpoint_name=deployment.endpoint_name,
            model=reference,
            model_dir=str(model_dir),
            code=code,
            scoring_script=script,
            environment=environment,
            environment_variables={
                str(k): str(v) for k, v in (deployment.environment_variables or {}).items()
            },
            instance_type=deployment.instance_type,
            instance_count=deployment.instance_count or 1,
            no_code=deployment.code_configuration is None,
            data_collector=collection,
            description=deployment.description,
            tags=dict(deployment.tags or {}),
            # The gateway's scoring timeout (408 beyond it); None: the service's 5000 ms.
            request_timeout_ms=getattr(deployment.request_settings, "request_timeout_ms", None),
        )
        try:
            server = _deployments.start(folder, deployment.name, record)
        except InferenceServerError as error:
            state = (
                "The previous definition of the deployment keeps serving."
                if previous is not None
                else "Nothing was created."
            )
            raise HttpResponseError(
                message=f"(DeploymentFailed) Deployment {deployment.name} of endpoint "
                f"{deployment.endpoint_name} failed: its scoring server did not start. {state}\n{error}"
            ) from None
        record["server"] = _deployments.running(server)
        write_record(path, record)  # the gateway routes to the new server from here on
        old = _deployments.server_of(previous or {})
        if old is not None:
            old.stop()
        if previous and previous.get("model_dir") != record["model_dir"]:
            _remove_model_copy(folder, deployment.name, Path(previous["model_dir"]))
        return completed(self.get(deployment.name, deployment.endpoint_name))

    def _model(self, model: Any, folder: Path, deployment: str) -> tuple[str, Path, str]:
        """The registered model's files, copied under ``models/<deployment>/<copy>/<name>/<version>``:
        a fresh copy per update, so the server still running keeps its files until it stops."""
        registered = self._orchestrator.registered_model(model, ErrorTarget.ONLINE_DEPLOYMENT)
        source = self._orchestrator.model_files(registered)
        root = folder / "models" / deployment / uuid.uuid4().hex[:12]
        target = root / registered.name / str(registered.version) / source.name
        # As on Azure, a folder model is AZUREML_MODEL_DIR/<folder>/..., a single-file one
        # AZUREML_MODEL_DIR/<file>.
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, target) if source.is_dir() else shutil.copy2(source, target)
        return model_reference(registered), target.parent, registered.type

    def get(self, name: str, endpoint_name: str, *, local: bool = False) -> ManagedOnlineDeployment:
        path = _deployments.record_path(self._endpoint_dir(endpoint_name), name)
        if not path.is_file():
            raise not_found("Deployment", name, f"endpoint '{endpoint_name}'")
        record = read_record(path, _deployments.REQUIRED)
        workspace = self._scope.workspace_name or ""
        code_configuration = None
        if not record.get("no_code"):
            # As the service answers: the code asset's id and the script, so get, change, update works.
            code_configuration = CodeConfiguration(
                code=self._scope.arm_id(
                    "workspaces", workspace, "codes", Path(record["code"]).name, "versions", "1"
                ),
                scoring_script=record["scoring_script"],
            )
        deployment = ManagedOnlineDeployment(
            name=name,
            endpoint_name=endpoint_name,
            model=_shown(record["model"]),
            code_configuration=code_configuration,
            environment=record.get("environment") if code_configuration else None,
            instance_type=record.get("instance_type"),
            instance_count=record.get("instance_count"),
            description=record.get("description"),
            tags=record.get("tags") or {},
            environment_variables=record.get("environment_variables") or {},
            data_collector=_data_collector(record.get("data_collector")),
        )
        deployment._provisioning_state = "Succeeded"
        deployment._id = self._scope.arm_id(
            "workspaces", workspace, "onlineEndpoints", endpoint_name, "deployments", name
        )
        return deployment

    def list(self, endpoint_name: str, *, local: bool = False) -> Any:
        names = self._endpoints.get(endpoint_name).get("deployments") or []
        return paged(self.get(n, endpoint_name) for n in names)

    def get_logs(
        self, name: str, endpoint_name: str, lines: int, *, container_type: Any = None, **kwargs: Any
    ) -> str:
        self.get(name, endpoint_name)
        log = self._endpoint_dir(endpoint_name) / "logs" / f"{name}.log"
        text = log.read_text(errors="replace") if log.is_file() else ""
        return "\n".join(text.splitlines()[-int(lines) :])

    def begin_delete(self, name: str, endpoint_name: str, *, local: bool = False) -> LROPoller[None]:
        """Stop and remove a deployment; as on Azure, not while it has live or mirrored traffic."""
        self.get(name, endpoint_name)
        with self._endpoints.lock(endpoint_name):
            self._delete(name, endpoint_name)
        return completed(None)

    def _delete(self, name: str, endpoint_name: str) -> None:
        endpoint = self._endpoints.get(endpoint_name)
        if (endpoint.get("traffic") or {}).get(name) or (endpoint.get("mirror_traffic") or {}).get(name):
            raise user_error(
                f"Deployment '{name}' still has traffic: set it to 0 before deleting it.",
                ErrorTarget.ONLINE_DEPLOYMENT,
            )
        folder = self._endpoint_dir(endpoint_name)
        _deployments.stop(folder, name)
        _deployments.record_path(folder, name).unlink()
        shutil.rmtree(folder / "models" / name, ignore_errors=True)
        endpoint["deployments"] = [d for d in endpoint["deployments"] if d != name]
        endpoint["traffic"] = {k: v for k, v in (endpoint.get("traffic") or {}).items() if k != name}
        endpoint["mirror_traffic"] = {
            k: v for k, v in (endpoint.get("mirror_traffic") or {}).items() if k != name
        }
        self._endpoints.write(endpoint)


def _listing(name: str) -> Any:
    """A change that adds deployment ``name`` to an endpoint record's list, once."""

    def change(endpoint: dict[str, Any]) -> None:
        if name not in endpoint["deployments"]:
            endpoint["deployments"].append(name)

    return change


def _remove_model_copy(folder: Path, deployment: str, model_dir: Path) -> None:
    """Remove a replaced model copy (``models/<deployment>/<copy>``), never anything outside it."""
    root = folder / "models" / deployment
    copy = model_dir.parent.parent
    if copy.parent == root:
        shutil.rmtree(copy, ignore_errors=True)


def _shown(model: str) -> str:
    """A registry model keeps its ``azureml://registries/...`` id; a workspace one ``azureml:n:v``."""
    return model if model.startswith("azureml://") else f"azureml:{model}"


def _data_collector(settings: dict[str, Any] | None) -> DataCollector | None:
    if not settings:
        return None
    return DataCollector(
        collections={name: DeploymentCollection(enabled="true") for name in settings["collections"]},
        sampling_rate=settings["sampling_rate"],
    )
