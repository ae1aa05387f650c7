"""``ml_client.online_deployments`` on the local backend: a scoring server per deployment.

A deployment runs its scoring script (``code_configuration``) in ``azureml-inference-server-http``,
in the inference environment, with the registered model's files under ``AZUREML_MODEL_DIR`` as on
Azure. An MLflow model deployed without a scoring script gets the no-code MLflow scorer, as Azure
ML gives it one. ``begin_create_or_update`` returns when the server answers its health route.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

from azure.ai.ml import operations as sdk_operations
from azure.ai.ml.entities import (
    DataCollector,
    DeploymentCollection,
    ManagedOnlineDeployment,
    OnlineDeployment,
)
from azure.ai.ml.exceptions import ErrorTarget
from azure.core.polling import LROPoller

from accelerator.local._exceptions import LocalBackendUnsupportedError, not_found, validation_error
from accelerator.local._local_endpoints import _collect, _deployments
from accelerator.local._paging import paged
from accelerator.local._poller import completed
from accelerator.local._store import read_record, write_record
from accelerator.local._validation import check_name
from accelerator.local.operations._base import LocalOperations
from accelerator.local.operations._deployment_scoring import (
    model_files,
    model_reference,
    registered_model,
    scoring_code,
)
from accelerator.local.operations._operation_orchestrator import LocalOrchestrator

_MLFLOW_SCORER = Path(__file__).resolve().parents[1] / "_local_endpoints" / "mlflow_score.py"


class OnlineDeploymentOperations(LocalOperations):
    _sdk_class = sdk_operations.OnlineDeploymentOperations
    _group = "online_deployments"

    def __init__(self, scope: Any, client: Any) -> None:
        super().__init__(scope)
        self._client = client
        self._orchestrator = LocalOrchestrator(scope, client)

    def _endpoint_dir(self, endpoint_name: str) -> Path:
        self._client.online_endpoints._record(endpoint_name)  # the SDK's not-found error first
        return self._client.online_endpoints._folder(endpoint_name)

    def begin_create_or_update(
        self, deployment: OnlineDeployment, *, local: bool = False, **kwargs: Any
    ) -> LROPoller[OnlineDeployment]:
        if not isinstance(deployment, ManagedOnlineDeployment):
            raise LocalBackendUnsupportedError(
                f"{type(deployment).__name__}s", "Use a ManagedOnlineDeployment."
            )
        check_name("deployment", deployment.name, ErrorTarget.ONLINE_DEPLOYMENT)
        folder = self._endpoint_dir(deployment.endpoint_name)
        reference, model_dir, model_type = self._model(deployment.model, folder, deployment.name)
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
            raise validation_error(f"(UserError) {error}", ErrorTarget.ONLINE_DEPLOYMENT) from None
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
        path = _deployments.record_path(folder, deployment.name)
        record = read_record(path) if path.is_file() else {}
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
        )
        write_record(path, record)
        _deployments.stop(folder, deployment.name)  # an update serves the new definition
        _deployments.ensure_running(folder, deployment.name)
        endpoint = self._client.online_endpoints._record(deployment.endpoint_name)
        if deployment.name not in endpoint["deployments"]:
            endpoint["deployments"].append(deployment.name)
            self._client.online_endpoints._write(endpoint)
        return completed(self.get(deployment.name, deployment.endpoint_name))

    def _model(self, model: Any, folder: Path, deployment: str) -> tuple[str, Path, str]:
        """The registered model's files, copied under ``models/<deployment>/<name>/<version>``."""
        registered = registered_model(self._client, model, ErrorTarget.ONLINE_DEPLOYMENT)
        source = model_files(self._client, registered)
        root = folder / "models" / deployment
        target = root / registered.name / str(registered.version) / source.name
        if root.exists():
            shutil.rmtree(root)
        shutil.copytree(source, target) if source.is_dir() else shutil.copy2(source, target)
        return model_reference(registered), target.parent, registered.type

    def get(self, name: str, endpoint_name: str, *, local: bool = False) -> ManagedOnlineDeployment:
        path = _deployments.record_path(self._endpoint_dir(endpoint_name), name)
        if not path.is_file():
            raise not_found("Deployment", name, f"endpoint '{endpoint_name}'")
        record = read_record(path)
        deployment = ManagedOnlineDeployment(
            name=name,
            endpoint_name=endpoint_name,
            model=_shown(record["model"]),
            instance_type=record.get("instance_type"),
            instance_count=record.get("instance_count"),
            description=record.get("description"),
            tags=record.get("tags") or {},
            environment_variables=record.get("environment_variables") or {},
            data_collector=_data_collector(record.get("data_collector")),
        )
        deployment._provisioning_state = "Succeeded"
        return deployment

    def list(self, endpoint_name: str, *, local: bool = False) -> Any:
        names = self._client.online_endpoints._record(endpoint_name).get("deployments") or []
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
        endpoint = self._client.online_endpoints._record(endpoint_name)
        if (endpoint.get("traffic") or {}).get(name) or (endpoint.get("mirror_traffic") or {}).get(name):
            raise validation_error(
                f"(UserError) Deployment '{name}' still has traffic: set it to 0 before deleting it.",
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
        self._client.online_endpoints._write(endpoint)
        return completed(None)


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
