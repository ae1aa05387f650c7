"""Register the challenger as the new champion, if the evaluation said so.

Usage::

    python register.py --model_input <mlflow model folder> \\
        --evaluation_output <folder with decision.json> \\
        --model_name taxi-fare --registration_output <folder>

``decision.json`` (written by ``evaluate.py``) is read once and its
``promote`` flag is final: nothing in this step changes it. On promotion the
model folder is logged to the run and registered as a new version of
``--model_name`` tagged ``champion=true`` (plus its test metrics), and the
previous champion's tag becomes ``champion=false``. Otherwise nothing is
registered. Writes ``registration.json`` to ``--registration_output``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import mlflow
from tracking import (
    CHAMPION_TAG,
    argparse_type,
    check_model_name,
    is_finite_number,
    mlflow_run,
    write_json,
)

DECISION_FILE = "decision.json"
MLMODEL_FILE = "MLmodel"
#: Where the model is logged in the registering run.
MODEL_ARTIFACT = "model"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Register a promoted model as the new champion."
    )
    parser.add_argument(
        "--model_input", required=True, help="MLflow model folder"
    )
    parser.add_argument(
        "--evaluation_output",
        required=True,
        help=f"folder holding {DECISION_FILE} from evaluate.py",
    )
    parser.add_argument(
        "--model_name",
        required=True,
        type=argparse_type(check_model_name),
        help="registered model name, e.g. taxi-fare",
    )
    parser.add_argument(
        "--registration_output", required=True, help="output folder"
    )
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def read_decision(folder: str | Path, model_name: str) -> dict[str, Any]:
    """The evaluation's decision, checked.

    Raises:
        FileNotFoundError: if there is no decision.json.
        ValueError: if it is not a JSON object with a boolean ``promote``
            and a ``reason``, or was made for another model name.
    """
    path = Path(folder) / DECISION_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"no {DECISION_FILE} in {folder}: pass the evaluation_output "
            "folder of evaluate.py"
        )
    try:
        decision = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(decision, dict):
        raise ValueError(f"{path} must hold a JSON object")
    if not isinstance(decision.get("promote"), bool):
        raise ValueError(
            f"{path}: 'promote' must be true or false, "
            f"got {decision.get('promote')!r}"
        )
    if not isinstance(decision.get("reason"), str):
        raise ValueError(f"{path}: 'reason' must be a string")
    decided_for = decision.get("model_name")
    if decided_for is not None and decided_for != model_name:
        raise ValueError(
            f"{path} decides about model {decided_for!r}, "
            f"not --model_name {model_name!r}"
        )
    return decision


def _metric_tags(decision: dict[str, Any]) -> dict[str, str]:
    challenger = decision.get("challenger")
    if not isinstance(challenger, dict):
        return {}
    return {
        f"test_{name}": f"{value:.6g}"
        for name, value in challenger.items()
        if is_finite_number(value)
    }


def register(
    model_input: str | Path, model_name: str, decision: dict[str, Any]
) -> dict[str, Any]:
    """Register ``model_input`` as the champion of ``model_name``.

    The model folder is logged to the run as it is (the very files that
    were evaluated, with their signature and requirements) and registered
    from there. ``mlflow.<flavor>.log_model`` is not used: with MLflow 3 it
    calls the logged-models API, which the Azure ML tracking server does
    not offer (it answers 404).

    Returns the new version and the versions that lost the champion tag.

    Raises:
        FileNotFoundError: if ``model_input`` is not an MLflow model folder.
    """
    folder = Path(model_input)
    if not (folder / MLMODEL_FILE).is_file():
        raise FileNotFoundError(
            f"--model_input {folder} is not an MLflow model folder "
            f"(no {MLMODEL_FILE} file)"
        )
    client = mlflow.MlflowClient()
    with mlflow_run() as run:
        mlflow.log_artifacts(str(folder), artifact_path=MODEL_ARTIFACT)
        registered = mlflow.register_model(
            f"runs:/{run.info.run_id}/{MODEL_ARTIFACT}", model_name
        )
    version = str(registered.version)
    # Tag the new champion first, so there is never a moment without one.
    client.set_model_version_tag(model_name, version, CHAMPION_TAG, "true")
    for key, value in _metric_tags(decision).items():
        client.set_model_version_tag(model_name, version, key, value)
    demoted = []
    for old in client.search_model_versions(f"name='{model_name}'"):
        tags = old.tags or {}
        if str(old.version) != version and (
            str(tags.get(CHAMPION_TAG, "")).lower() == "true"
        ):
            client.set_model_version_tag(
                model_name, str(old.version), CHAMPION_TAG, "false"
            )
            demoted.append(str(old.version))
    return {"version": version, "demoted_versions": sorted(demoted, key=int)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the step; returns what it wrote to registration.json."""
    args = parse_args(argv)
    decision = read_decision(args.evaluation_output, args.model_name)
    with mlflow_run():
        if decision["promote"]:
            outcome = register(args.model_input, args.model_name, decision)
        else:
            outcome = {"version": None, "demoted_versions": []}
        mlflow.log_metric("registered", int(decision["promote"]))
        if outcome["version"] is not None:
            mlflow.log_param("registered_version", outcome["version"])
    result = {
        "registered": decision["promote"],
        "model_name": args.model_name,
        **outcome,
        "reason": decision["reason"],
    }
    if result["registered"]:
        print(
            f"Registered {args.model_name} version {result['version']} "
            f"as champion: {decision['reason']}"
        )
    else:
        print(f"Not registered: {decision['reason']}")
    write_json(Path(args.registration_output) / "registration.json", result)
    return result


if __name__ == "__main__":
    main()
