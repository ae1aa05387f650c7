"""What online and batch deployments share: the registered model they serve and the code that scores it.

A deployment names a registered model (an inline one is registered first, as on Azure) and either
a scoring script in a code folder, with its environment, or, for an MLflow model, nothing: Azure ML
then supplies the scoring script (here the local backend's own, copied into the deployment's folder).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import Model

from accelerator.local._exceptions import validation_error
from accelerator.local._local_endpoints._server import inference_python
from accelerator.local.operations._operation_orchestrator import LocalOrchestrator, parse_reference


def registered_model(client: Any, model: Any, target: Any) -> Model:
    """The registered model version a deployment names (``name:version``, ``name@latest``, a Model)."""
    if isinstance(model, Model):
        if model.id:  # got from the registry
            model = f"{model.name}:{model.version}"
        else:
            # An inline Model is registered first, as the SDK's orchestrator does (_get_model_arm_id);
            # one without a name is Azure ML's anonymous model (its name the hash of its files).
            return client.models.create_or_update(model)
    if not isinstance(model, str):
        raise validation_error("(UserError) The deployment needs a model.", target)
    name, version, label = parse_reference(model)
    return client.models.get(name, version=version, label=label)


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
            raise validation_error(
                f"(UserError) The scoring script '{script}' is not in the code folder.", target
            )
        if needs_environment and deployment.environment is None:
            raise validation_error(
                "(UserError) A deployment with a scoring script needs an environment.", target
            )
        # The scoring script runs in the inference environment: its packages are what must be there.
        environment = orchestrator.environment(
            deployment.environment,
            str(inference_python()),
            "Add them to requirements-inference.txt and rebuild the inference environment "
            "(.venv-inference, `make setup`), then deploy again.",
        )
        return str(code), script, environment
    if model_type != AssetTypes.MLFLOW_MODEL:
        raise validation_error(
            "(UserError) A deployment without code_configuration must deploy an mlflow_model; "
            "give a scoring script for other models.",
            target,
        )
    scorer, name, environment = no_code
    code_dir = folder / "code" / deployment.name
    code_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(scorer, code_dir / name)
    return str(code_dir), name, environment
