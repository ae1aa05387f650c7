"""The design's inputs: the YAML files a team edits in ``design/``, loaded and validated together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from accelerator.design.compute import ComputeInputs
from accelerator.design.cost import CostInputs
from accelerator.design.delivery import DeliveryInputs
from accelerator.design.errors import DesignError, Problem
from accelerator.design.maturity import MaturityInputs
from accelerator.design.raci import Raci
from accelerator.design.rbac import RbacInputs
from accelerator.design.runbook import RunbookInputs
from accelerator.design.sources import YamlSource, read_yaml, validate
from accelerator.design.team import Team
from accelerator.design.technology import TechnologyInputs
from accelerator.design.topology import EnvironmentsInputs

# Each input, its file in the design folder, and its model; team.yaml first, as the others name its roles.
FILES: dict[str, tuple[str, type[BaseModel]]] = {
    "team": ("team.yaml", Team),
    "raci": ("raci.yaml", Raci),
    "maturity": ("maturity.yaml", MaturityInputs),
    "delivery": ("delivery.yaml", DeliveryInputs),
    "environments": ("environments.yaml", EnvironmentsInputs),
    "technology": ("technology.yaml", TechnologyInputs),
    "compute": ("compute.yaml", ComputeInputs),
    "rbac": ("rbac.yaml", RbacInputs),
    "cost": ("cost.yaml", CostInputs),
    "runbook": ("runbook.yaml", RunbookInputs),
}


@dataclass(frozen=True)
class DesignInputs:
    team: Team
    raci: Raci
    maturity: MaturityInputs
    delivery: DeliveryInputs
    environments: EnvironmentsInputs
    technology: TechnologyInputs
    compute: ComputeInputs
    rbac: RbacInputs
    cost: CostInputs
    runbook: RunbookInputs


def _keys(data: Any, *path: str) -> set[str] | None:
    """The keys of the mapping at ``path`` in raw data, or None when there is no such mapping."""
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return {str(k) for k in data} if isinstance(data, dict) else None


def _activities(raci_data: Any) -> set[str] | None:
    """raci.yaml's activity names, for the files that refer to them (runbook.yaml)."""
    listed = raci_data.get("activities") if isinstance(raci_data, dict) else None
    if not isinstance(listed, list):
        return None
    return {str(a["activity"]) for a in listed if isinstance(a, dict) and "activity" in a}


def load_inputs(folder: str | Path) -> DesignInputs:
    """Read and validate every file of the design folder; raise ``DesignError`` listing all problems.

    Errors name the file as ``<folder name>/<file>`` and the line of the value that is wrong.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DesignError([Problem(folder.name or str(folder), None, "the design folder does not exist")])
    problems: list[Problem] = []
    sources: dict[str, YamlSource] = {}
    for key, (file, _) in FILES.items():
        try:
            sources[key] = read_yaml(folder / file, f"{folder.name}/{file}")
        except DesignError as error:
            problems += error.problems
    # What the files refer to across each other: team.yaml's roles, rbac.yaml's groups and custom roles.
    team_data = sources["team"].data if "team" in sources else None
    rbac_data = sources["rbac"].data if "rbac" in sources else None
    context = {
        "roles": _keys(team_data, "roles"),
        "groups": _keys(rbac_data, "groups"),
        "custom_roles": _keys(rbac_data, "custom_roles") or set(),
        "activities": _activities(sources["raci"].data if "raci" in sources else None),
    }
    loaded: dict[str, BaseModel] = {}
    for key, (_, model) in FILES.items():
        if key not in sources:
            continue
        try:
            loaded[key] = validate(model, sources[key], context)
        except DesignError as error:
            problems += error.problems
    if problems:
        raise DesignError(problems)
    return DesignInputs(**loaded)  # type: ignore[arg-type]
