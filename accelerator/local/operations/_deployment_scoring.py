"""What online and batch deployments share: the registered model they serve and the code that scores it.

A deployment names a registered model (an inline one is registered first, as on Azure) and either
a scoring script in a code folder, with its environment, or, for an MLflow model, nothing: Azure ML
then supplies the scoring script (here the local backend's own, copied into the deployment's folder).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import Model
from azure.ai.ml.entities._assets.asset import Asset
from azure.ai.ml.exceptions import ErrorTarget, ValidationErrorType

from accelerator.local._exceptions import user_error, user_http_error, validation_error
from accelerator.local._local_endpoints._server import INFERENCE_PYTHON_VARIABLE, inference_python
from accelerator.local._scope import LocalScope
from accelerator.local.operations._model_operations import ModelFiles
from accelerator.local.operations._operation_orchestrator import LocalOrchestrator, parse_reference

_REGISTRY_MODEL = re.compile(
    r"^azureml://registries/(?P<registry>[^/]+)/models/(?P<name>[^/]+)"
    r"(?:/versions/(?P<version>[^/]+)|/labels/(?P<label>[^/]+))?/?$"
)


def registered_model(client: Any, scope: LocalScope, model: Any, target: Any) -> Model:
    """The registered model version a deployment names: ``name:version``, ``name@latest``, a Model,
    or a registry's model (``azureml://registries/<r>/models/<n>/versions/<v>`` or its Model).
    ``client`` gives the operation groups (only their public methods are called)."""
    if isinstance(model, Model):
        if str(model.id or "").startswith("azureml://registries/"):
            model = model.id
        elif model.id:  # got from the workspace
            model = f"{model.name}:{model.version}"
        else:
            # An inline Model is registered first, as the SDK's orchestrator does (_get_model_arm_id);
            # one without a name is Azure ML's anonymous model (its name the hash of its files).
            return client.models.create_or_update(model)
    elif isinstance(model, Asset):
        # The SDK's OperationOrchestrator.get_asset_arm_id refuses another asset type so.
        message = f"Unsupported azureml type models for asset: {type(model).__name__} {model.name}"
        raise validation_error(message, ErrorTarget.ASSET)
    if not isinstance(model, str):
        raise user_error("The deployment needs a model.", target)
    if model.startswith("azureml://registries/"):
        return _registry_model(client, scope, model, target)
    name, version, label = parse_reference(model)
    return client.models.get(name, version=version, label=label)


def _registry_model(client: Any, scope: LocalScope, reference: str, target: Any) -> Model:
    """A registry's model, for a workspace in a region the registry replicates to."""
    from accelerator.local.operations._registry_model_operations import RegistryModelOperations
    from accelerator.local.operations._sharing import registry_scope

    parsed = _REGISTRY_MODEL.match(reference)
    if parsed is None:
        raise user_error(
            f"'{reference}' is not a registry model id: use "
            "azureml://registries/<registry>/models/<name>/versions/<version>.",
            target,
        )
    registry_models = RegistryModelOperations(registry_scope(scope, parsed["registry"]))
    registry = client.registries.get(parsed["registry"])
    region = client.workspaces.get().location
    regions = {registry.location} | {r.location for r in registry.replication_locations or []}
    if region not in {str(r).replace(" ", "").lower() for r in regions if r}:
        # The service's answer for an asset of a registry without a replica in the workspace's
        # region (the message Azure ML gives: "The requested model <id> is not available in region X").
        raise user_http_error(
            f"The requested model {reference} is not available in region {region}: "
            f"registry '{parsed['registry']}' replicates to {', '.join(sorted(regions))}. Add the region "
            "to the registry's replication_locations, or deploy in a workspace of one of those regions."
        )
    if not (parsed["version"] or parsed["label"]):
        raise validation_error(
            "Failed to extract version when parsing asset "
            f"{reference} of type models as arm id. Version must be provided.",
            ErrorTarget.ASSET,
            ValidationErrorType.MISSING_FIELD,
        )
    return registry_models.get(parsed["name"], version=parsed["version"], label=parsed["label"])


def model_files(files: ModelFiles, model: Model) -> Path:
    """Where a resolved model version's files are on this machine (workspace or registry)."""
    parsed = _REGISTRY_MODEL.match(str(model.id or ""))
    if parsed:
        return Path(str(model.path))
    return Path(files.local_path(model.name, model.version))


def model_reference(model: Model) -> str:
    """What a deployment records and shows: the registry id, or ``name:version`` in the workspace."""
    if str(model.id or "").startswith("azureml://registries/"):
        return str(model.id)
    return f"{model.name}:{model.version}"


def scoring_code(
    orchestrator: LocalOrchestrator,
    deployment: Any,
    model_type: str,
    folder: Path,
    no_code: tuple[Path, str, str | None],
    target: Any,
    *,
    needs_environment: bool = False,
    check_script: bool = True,
) -> tuple[str, str, str | None]:
    """(code folder, scoring script, environment id) of a deployment.

    ``no_code`` is what an MLflow model without a scoring script gets: (the scorer to copy into
    ``folder/code/<deployment>``, the name it takes there, the environment it runs in).
    """
    configuration = deployment.code_configuration
    if configuration is not None:
        code, _, _ = orchestrator.code(configuration.code, deployment._base_path)
        script = configuration.scoring_script
        if check_script and not (Path(code) / script).is_file():
            raise user_error(f"The scoring script '{script}' is not in the code folder.", target)
        if needs_environment and deployment.environment is None:
            raise user_error("A deployment with a scoring script needs an environment.", target)
        # The scoring script runs in the inference environment: its packages are what must be there.
        environment = orchestrator.environment(
            deployment.environment,
            str(inference_python()),
            "Add them to requirements-inference.txt and rebuild the inference environment "
            f"(.venv-inference, `make setup`; or the Python {INFERENCE_PYTHON_VARIABLE} names), then "
            "deploy again.",
        )
        return str(code), script, environment
    if model_type != AssetTypes.MLFLOW_MODEL:
        raise user_error(
            "A deployment without code_configuration must deploy an mlflow_model; "
            "give a scoring script for other models.",
            target,
        )
    scorer, name, environment = no_code
    code_dir = folder / "code" / deployment.name
    code_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(scorer, code_dir / name)
    return str(code_dir), name, environment
