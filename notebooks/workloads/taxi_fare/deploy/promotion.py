"""Promotion of the taxi fare champion: dev, the registry, test and prod.

The champion is the version week 9's gate tagged ``champion=true``. Its evidence
is read back from where the gate left it: the tags on the version (test
metrics), the pipeline job that registered it (its ``evaluation`` output holds
the gate's ``decision.json``) and that job's training data (a version of the
data asset). Only a champion whose gate decision promoted it may be released.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

CHAMPION_TAG = "champion"


class PromotionRefused(ValueError):
    """The model may not be promoted: the message says why."""


@dataclass(frozen=True)
class Evidence:
    model: str  # name:version in dev
    champion: bool
    promote: bool  # the gate's decision
    reason: str  # the gate's own words
    test_rmse: str
    training_job: str  # the pipeline job's display name
    training_status: str
    data_asset: str  # name:version of the training data

    def rows(self) -> dict[str, str]:
        """The evidence as a table a reviewer reads."""
        return {
            "model": self.model,
            "champion tag": str(self.champion).lower(),
            "gate decision": "PROMOTE" if self.promote else "BLOCK",
            "test RMSE": self.test_rmse,
            "training job": f"{self.training_job} ({self.training_status})",
            "training data": self.data_asset,
        }


def champion(ml_client: Any, model_name: str) -> Any:
    """The version tagged ``champion=true`` by the gate."""
    found = [
        m
        for m in ml_client.models.list(name=model_name)
        if m.tags.get(CHAMPION_TAG) == "true"
    ]
    if not found:
        raise PromotionRefused(
            f"{model_name} has no champion: run the training pipeline and its "
            "gate first (09_training_pipeline.ipynb)."
        )
    return found[-1]


def _pipeline_of(ml_client: Any, model: Any) -> Any:
    """The pipeline job that registered ``model`` (its register step's
    parent)."""
    if not model.job_name:
        raise PromotionRefused(
            f"{model.name}:{model.version} was not registered by a job: there "
            "is no gate decision to promote it on."
        )
    step = ml_client.jobs.get(model.job_name)
    parent = (step.properties or {}).get("azureml.parentrunid")
    return ml_client.jobs.get(parent) if parent else step


def _data_version(ml_client: Any, job: Any, data_name: str) -> str:
    """The version of ``data_name`` the job was given as ``raw_data``."""
    given = job.inputs["raw_data"]
    path = str(getattr(given, "path", None) or getattr(given._data, "path", ""))
    if path.startswith(f"azureml:{data_name}:"):  # as Azure ML keeps it
        return path.removeprefix("azureml:")
    for data in ml_client.data.list(name=data_name):  # resolved to its path
        if data.path.rstrip("/") == path.rstrip("/"):
            return f"{data.name}:{data.version}"
    return f"(not a version of {data_name})"


def evidence(ml_client: Any, model: Any, data_name: str) -> Evidence:
    """What the gate recorded about ``model``."""
    job = _pipeline_of(ml_client, model)
    with tempfile.TemporaryDirectory() as folder:
        ml_client.jobs.download(
            job.name, output_name="evaluation", download_path=folder
        )
        decision_file = (
            Path(folder) / "named-outputs" / "evaluation" / "decision.json"
        )
        decision = json.loads(decision_file.read_text())
    return Evidence(
        model=f"{model.name}:{model.version}",
        champion=model.tags.get(CHAMPION_TAG) == "true",
        promote=bool(decision.get("promote")),
        reason=str(decision.get("reason", "")),
        test_rmse=model.tags.get("test_rmse", "(not recorded)"),
        training_job=job.display_name or job.name,
        training_status=str(job.status).split(".")[-1].capitalize(),
        data_asset=_data_version(ml_client, job, data_name),
    )


def require_champion(found: Evidence) -> None:
    """Refuse a model that is not the gate's promoted champion."""
    if not found.champion:
        raise PromotionRefused(
            f"{found.model} is not the champion (tag {CHAMPION_TAG}="
            f"{str(found.champion).lower()}): only the gate's champion is "
            "promoted."
        )
    if not found.promote:
        raise PromotionRefused(
            f"{found.model}: the gate did not promote it ({found.reason})"
        )


def files_sha256(folder: str | Path) -> str:
    """sha256 over every file's relative path and bytes under ``folder``."""
    root = Path(folder)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()


def model_sha256(ml_client: Any, name: str, version: str) -> str:
    """The sha256 of a model version's files, downloaded as any user would."""
    with tempfile.TemporaryDirectory() as folder:
        ml_client.models.download(name, version, download_path=folder)
        return files_sha256(Path(folder) / name)


def in_registry(registry: Any, name: str, version: str) -> Any | None:
    """The registry's version, or None."""
    try:
        return registry.models.get(name, version=version)
    except ResourceNotFoundError:
        return None


def share_model(
    ml_client: Any, registry: Any, model: Any, registry_name: str
) -> tuple[Any, str]:
    """The model's version in the registry, shared now unless it is there.

    ``share`` refuses a name and version the registry has (as Azure ML does): a
    second run finds it and checks that it holds the same files."""
    found = in_registry(registry, model.name, model.version)
    if found is None:
        shared = ml_client.models.share(
            model.name,
            model.version,
            share_with_name=model.name,
            share_with_version=model.version,
            registry_name=registry_name,
        )
        return shared, "shared"
    dev_hash = model_sha256(ml_client, model.name, model.version)
    if model_sha256(registry, found.name, found.version) != dev_hash:
        raise PromotionRefused(
            f"The registry's {found.name}:{found.version} holds other files "
            "than dev's: registry versions are immutable, register and "
            "promote a new version."
        )
    return found, "already in the registry, same files"


def share_environment(
    ml_client: Any, registry: Any, name: str, version: str, registry_name: str
) -> tuple[Any, str]:
    """The environment's version in the registry, shared now unless it is."""
    try:
        return registry.environments.get(name, version=version), (
            "already in the registry"
        )
    except ResourceNotFoundError:
        shared = ml_client.environments.share(
            name,
            version,
            share_with_name=name,
            share_with_version=version,
            registry_name=registry_name,
        )
        return shared, "shared"
