"""Resolve what a job refers to, as the SDK's ``OperationOrchestrator`` does before submitting one.

Asset references (``azureml:name:version``, ``azureml:name@latest``, ARM ids) become the versions
they name; local code and data are copied into the workspace; datastore paths get their long form.
Everything is checked at submission, so a job with a missing dependency fails before it runs, with
the message Azure ML gives.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import Model
from azure.ai.ml.exceptions import ErrorTarget
from fsspec.implementations.local import LocalFileSystem

from accelerator._hashing import fingerprint
from accelerator.local import _environment_packages as packages
from accelerator.local._code import snapshot
from accelerator.local._exceptions import (
    LocalBackendUnsupportedError,
    not_found,
    user_error,
    validation_error,
)
from accelerator.local._execution._paths import default_output_uri, expand_output_path
from accelerator.local._execution._records import JobRecords
from accelerator.local._scope import LocalScope
from accelerator.local._storage import DEFAULT_DATASTORE, parse_datastore_uri
from accelerator.local._store import relative
from accelerator.local._uploads import DatastoreFiles, LocalUploads
from accelerator.local.operations._model_operations import ModelFiles

_ARM_ASSET = re.compile(r"^/subscriptions/.+/(?P<kind>[a-z]+)/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$")
_CODE_ASSET = re.compile(
    r"^/subscriptions/.+/workspaces/(?P<workspace>[^/]+)/codes/(?P<key>[0-9a-f]{32})/versions/1$"
)
_GPU_SIZE = re.compile(r"^standard_n", re.IGNORECASE)
_REGISTRY_ASSET = re.compile(r"^azureml://registries/(?P<registry>[^/]+)/(?P<kind>[a-z]+)/(?P<name>[^/]+)/")
_JOB_OUTPUT = re.compile(r"^azureml://jobs/(?P<job>[^/]+)/outputs/(?P<output>[^/]+)(?:/paths/(?P<path>.*))?$")
MODEL_TYPES = (AssetTypes.MLFLOW_MODEL, AssetTypes.CUSTOM_MODEL, AssetTypes.TRITON_MODEL)


def parse_reference(reference: str) -> tuple[str, str | None, str | None]:
    """(name, version, label) of ``azureml:name:version``, ``name@label`` or an ARM id."""
    text = reference.removeprefix("azureml:")
    arm = _ARM_ASSET.match(text)
    if arm:
        return arm["name"], arm["version"], None
    if "@" in text:
        name, label = text.split("@", 1)
        return name, None, label
    if ":" in text:
        name, version = text.split(":", 1)
        return name, version, None
    return text, None, "latest"


class LocalOrchestrator:
    """What the SDK's ``OperationOrchestrator`` is to its operation groups: given the operation
    groups (``client``, as the SDK gives its orchestrator ``all_operations``; only their public
    methods are called) and the collaborators for what no public method gives (a registered model's
    files, uploads of local files). The client constructs one and hands it to the groups that
    resolve references; one constructed without collaborators makes its own from ``scope``.
    """

    def __init__(
        self,
        scope: LocalScope,
        client: Any,
        *,
        model_files: ModelFiles | None = None,
        uploads: LocalUploads | None = None,
    ) -> None:
        self._scope = scope
        self._client = client  # the LocalMLClient, for the other operation groups' public methods
        self._model_files = model_files or ModelFiles(scope)
        self._uploads = uploads or LocalUploads(scope, DatastoreFiles(scope))

    @property
    def workspace_dir(self) -> Path:
        return self._scope.require_workspace()

    def output_prefix(self) -> str:
        return self._scope.datastore_uri(DEFAULT_DATASTORE, "azureml")

    def code(self, code: Any, base_path: Any) -> tuple[str | None, str | None, str | None]:
        """(snapshot folder, content hash, code ARM id) of a job's or component's ``code``."""
        if code is None:
            return None, None, None
        text = str(code)
        registered = _CODE_ASSET.match(text.removeprefix("azureml:"))
        if registered:
            # A code asset's id, as ``get`` answers it (online_deployments.get().code_configuration):
            # the snapshot it names, so a got entity can be changed and updated.
            folder = self.workspace_dir / "codes" / registered["key"]
            if registered["workspace"] != self._scope.workspace_name or not folder.is_dir():
                raise not_found("Code", text, f"workspace '{self._scope.workspace_name}'")
            return str(folder), registered["key"], text.removeprefix("azureml:")
        if text.startswith(("azureml:", "git+", "http://", "https://")):
            raise LocalBackendUnsupportedError(
                f"code given as '{text.split(':')[0]}:' references", "Give code as a local folder."
            )
        # A registry's components keep their code snapshot in the registry, as Azure ML does.
        folder, key = snapshot(self._scope.asset_home(), text, base_path)
        arm = self._scope.arm_id(
            "workspaces", self._scope.workspace_name or "", "codes", key[:32], "versions", "1"
        )
        return folder, key, arm

    def environment(self, environment: Any, python: str | None = None, install_hint: str = "") -> str | None:
        """The ARM id of the environment version a job names; a clear error if it is not registered.

        The packages its conda file declares must be importable by ``python`` (default: the one
        jobs run in), or it is refused here, before anything is written (see _environment_packages).
        """
        if environment is None:
            return None
        if not isinstance(environment, str):  # an inline Environment: registered as Azure ML does
            if not environment.name:
                raise LocalBackendUnsupportedError(
                    "anonymous inline environments", "Register the environment with a name and use it."
                )
            what = (
                "the inline environment" if _is_anonymous(environment) else f"environment {environment.name}"
            )
            packages.check(environment.conda_file, what, python, install_hint)
            registered = self._client.environments.create_or_update(environment)
            return registered.id
        registry_asset = _REGISTRY_ASSET.match(environment)
        if (
            registry_asset
            and (self._scope.registry_dir(registry_asset["registry"]) / "registry.yaml").is_file()
        ):
            return self._registry_environment(environment, registry_asset["registry"])
        if environment.startswith("azureml://registries/") or environment.removeprefix("azureml:").startswith(
            "AzureML-"
        ):
            # A curated environment: local jobs run in this machine's Python whatever the image.
            return environment
        if self._scope.in_registry:
            # The SDK's OperationOrchestrator refuses the short form in a registry so.
            raise validation_error(
                "Use fully qualified name to reference custom environments when creating assets in "
                "registry. The syntax for fully qualified names is "
                "azureml://registries/azureml/environments/{env-name}/versions/{version}",
                ErrorTarget.ASSET,
            )
        name, version, label = parse_reference(environment)
        found = self._client.environments.get(name, version=version, label=label)
        packages.check(found.conda_file, f"environment {found.name}:{found.version}", python, install_hint)
        return found.id

    def _registry_environment(self, environment: str, registry: str) -> str:
        """An environment of a local registry: it must exist there (Azure ML resolves it so)."""
        import dataclasses

        from accelerator.local.operations._environment_operations import EnvironmentOperations

        parsed = re.match(
            r"^azureml://registries/[^/]+/environments/([^/]+)/versions/([^/]+)/?$", environment
        )
        if parsed is None:
            raise user_error(
                f"'{environment}' is not a registry environment id: use "
                "azureml://registries/<registry>/environments/<name>/versions/<version>.",
                ErrorTarget.ENVIRONMENT,
            )
        scope = dataclasses.replace(self._scope, workspace_name=None, registry_name=registry)
        return str(EnvironmentOperations(scope).get(parsed[1], version=parsed[2]).id)

    def compute(self, compute: str | None) -> str | None:
        if not compute or compute in ("serverless", "local"):
            return compute
        name = compute.rsplit("/", 1)[-1].removeprefix("azureml:")
        size = str(self._client.compute.get(name).size or "")
        if _GPU_SIZE.match(size):
            # Azure's N-series VMs are its GPU sizes; jobs here run on this machine's CPU.
            raise LocalBackendUnsupportedError(
                f"GPU compute (cluster '{name}' is {size})", "Submit the job to a CPU cluster."
            )
        return name

    def instances(self, compute: str | None) -> int:
        """How many steps may run on ``compute`` at once: a cluster's max_instances, as Azure ML
        gives each step a node of its own; serverless compute, this machine's cores."""
        if compute == "serverless":
            return os.cpu_count() or 1
        if not compute or compute == "local":
            return 1
        return max(1, int(getattr(self._client.compute.get(compute), "max_instances", None) or 1))

    def input(
        self, rest: dict[str, Any], base_path: Any, name: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """(the runner's spec, the REST input with its URI resolved) for one job input."""
        kind = rest.get("jobInputType") or rest.get("job_input_type")
        if kind == "literal" or "value" in rest:
            return {"value": rest.get("value")}, rest
        uri = str(rest.get("uri") or "")
        if not uri:
            raise validation_error(f"Input '{name}' has no path.", ErrorTarget.JOB)
        spec, resolved = self._path(uri, kind, base_path, name)
        return spec, {**rest, "uri": resolved}

    def _path(self, uri: str, kind: str | None, base_path: Any, name: str) -> tuple[dict[str, Any], str]:
        job_output = _JOB_OUTPUT.match(uri)
        if job_output:
            inner = relative(job_output["path"], "job output path", ErrorTarget.JOB)  # no '..' out of it
            records = JobRecords(self.workspace_dir)
            if not records.exists(job_output["job"]):
                raise not_found("Job", job_output["job"], f"workspace '{self._scope.workspace_name}'")
            record = records.get(job_output["job"])
            outputs = record.get("outputs") or {}
            if job_output["output"] == "artifacts" and "artifacts" not in outputs:
                # The files the job logged to its MLflow run, read in place.
                local, _, _ = self._model_files.run_artifacts(record, job_output["path"] or "", uri)
                return {"local": local}, uri
            if job_output["output"] not in outputs or not outputs[job_output["output"]].get("uri"):
                raise validation_error(
                    f"Job {job_output['job']} has no output '{job_output['output']}' with a path (yet).",
                    ErrorTarget.JOB,
                )
            found = outputs[job_output["output"]]["uri"]
            if inner:
                found = f"{found.rstrip('/')}/{inner}"
            return {"uri": found}, found
        if uri.startswith("azureml://registries/") and kind in MODEL_TYPES:
            model = self.registered_model(uri, ErrorTarget.JOB)
            return {"local": str(self.model_files(model))}, str(model.id)
        datastore = parse_datastore_uri(uri)
        if datastore is not None:
            long = self._scope.datastore_uri(datastore.datastore, datastore.path)
            self._client.datastores.get(datastore.datastore)
            return {"uri": long}, long
        arm = _ARM_ASSET.match(uri.removeprefix("azureml:"))
        if (uri.startswith("azureml:") and not uri.startswith("azureml://")) or arm:
            # ``Input(path=data.id)``: an asset's ARM id names the asset as ``azureml:name:version``
            # does (the long form of the CLI v2 reference syntax).
            asset_name, version, label = parse_reference(uri)
            if kind in MODEL_TYPES or (arm and arm["kind"] == "models"):
                model = self._client.models.get(asset_name, version=version, label=label)
                return {"local": self._model_files.local_path(model.name, model.version)}, model.id
            data = self._client.data.get(asset_name, version=version, label=label)
            return {"uri": data.path.rstrip("/")}, data.path
        if "://" in uri and not uri.startswith("file://"):
            raise LocalBackendUnsupportedError(
                f"input paths of the form '{uri.split('://')[0]}://'",
                f"Input '{name}': use a local path, a data asset or azureml://datastores/<name>/paths/<path>.",
            )
        # A local file or folder: uploaded to the default datastore, as the SDK does.
        path = Path(uri.removeprefix("file://"))
        if not path.is_absolute():
            path = Path(base_path or ".") / path
        if not path.exists():
            raise user_error(f"Input '{name}': no such file or directory: '{uri}'.", ErrorTarget.JOB)
        fs = LocalFileSystem()
        uploaded = self._uploads.upload(fs, path.resolve().as_posix(), fingerprint(path.as_posix(), fs))
        return {"uri": uploaded.rstrip("/")}, uploaded

    def registered_model(self, model: Any, target: Any) -> Model:
        """The registered model version a deployment or job input names (see _deployment_scoring)."""
        from accelerator.local.operations._deployment_scoring import registered_model

        return registered_model(self._client, self._scope, model, target)

    def model_files(self, model: Model) -> Path:
        """Where a resolved model version's files are on this machine (workspace or registry)."""
        from accelerator.local.operations._deployment_scoring import model_files

        return model_files(self._model_files, model)

    def output(
        self, rest: dict[str, Any], job: str, name: str, default_datastore: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(the runner's spec, the REST output) for one job output, at the default path unless given.

        Output path expressions are expanded as the service does; a pipeline step's ``${{name}}``
        (``job`` is empty then) waits for the step's own job name, given when the step starts.
        """
        kind = rest.get("jobOutputType") or rest.get("job_output_type") or rest.get("type") or "uri_folder"
        uri = rest.get("uri")
        if uri:
            values = {"output_name": name, "default_datastore": default_datastore or DEFAULT_DATASTORE}
            if job:
                values["name"] = job
            uri = expand_output_path(str(uri), values)
            datastore = parse_datastore_uri(str(uri))
            if datastore is None:
                raise LocalBackendUnsupportedError(
                    f"output paths like '{uri}'", "Give outputs an azureml://datastores/<name>/paths/<path>."
                )
            self._client.datastores.get(datastore.datastore)
            uri = self._scope.datastore_uri(datastore.datastore, datastore.path)
        else:
            uri = default_output_uri(self.output_prefix(), job, name)
        return {"type": kind, "uri": uri}, {**rest, "uri": uri}


def _is_anonymous(environment: Any) -> bool:
    from azure.ai.ml.constants._common import ANONYMOUS_ENV_NAME

    return environment.name == ANONYMOUS_ENV_NAME
