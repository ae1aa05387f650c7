"""The Terraform variables of each environment, generated from the solution design.

The infrastructure (``infra/``) takes one ``<env>.tfvars.json`` per environment with exactly the keys
below; ``python -m accelerator.design write-tfvars`` writes them and ``--check`` compares them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from accelerator import naming
from accelerator.design.records import SolutionDesign

SUFFIX = ".tfvars.json"


def terraform_variables(design: SolutionDesign) -> dict[str, dict[str, Any]]:
    """Environment name -> the Terraform root module's variables for that environment."""
    variables = {}
    for env in design.environments:
        cluster = env.cluster
        variables[env.name] = {
            "environment": env.name,
            "project": design.project,
            "location": design.location,
            "resource_group_name": naming.resource_group_name(env.name, design.project),
            "workspace_name": naming.workspace_name(env.name, design.project),
            "public_network_access_enabled": env.network.public_network_access,
            "private_networking": env.network.private_networking,
            "compute_cluster": {
                "name": cluster.name,
                "vm_size": cluster.vm_size,
                "min_nodes": 0,
                "max_nodes": cluster.max_nodes,
                "idle_seconds_before_scaledown": cluster.idle_seconds_before_scaledown,
            },
            # Built-in roles only: custom roles are defined and assigned from the design's definitions.
            "role_assignments": {group: list(roles) for group, roles in env.role_assignments.items()},
            "tags": {key: str(value) for key, value in env.tags.items()},
        }
    return variables


def render(variables: dict[str, Any]) -> str:
    """One environment's variables as the file holds them: sorted keys, 2-space indent, a final newline."""
    return json.dumps(variables, indent=2, sort_keys=True) + "\n"


def tfvars_files(design: SolutionDesign) -> dict[str, str]:
    """File name -> content, for each environment of the topology."""
    return {f"{env}{SUFFIX}": render(v) for env, v in terraform_variables(design).items()}


def write_tfvars(design: SolutionDesign, out: str | Path) -> list[Path]:
    """Write ``<env>.tfvars.json`` for each environment of the topology into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in tfvars_files(design).items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_tfvars(design: SolutionDesign, out: str | Path) -> list[str]:
    """What differs from the design in ``out``: files missing or changed, and files of environments
    the topology no longer has. Empty when everything matches."""
    out = Path(out)
    expected = tfvars_files(design)
    problems = []
    for name, text in expected.items():
        path = out / name
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: differs from the design")
    for env in naming.ENVIRONMENTS:
        path = out / f"{env}{SUFFIX}"
        if path.name not in expected and path.is_file():
            problems.append(f"{path}: {env} is not in the design's topology")
    return problems
