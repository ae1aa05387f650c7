"""Each environment's variables file exists, follows the shared contract (the Design stage's
decision model writes these files) and agrees with the environment topology."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from accelerator import design, naming

INFRA = Path(__file__).resolve().parents[2] / "infra"
ENVIRONMENTS_DIR = INFRA / "environments"

# The contract: exactly these keys, with these types.
CONTRACT = {
    "environment": str,
    "project": str,
    "location": str,
    "resource_group_name": str,
    "workspace_name": str,
    "public_network_access_enabled": bool,
    "private_networking": bool,
    "compute_cluster": dict,
    "role_assignments": dict,
    "tags": dict,
}
COMPUTE_CLUSTER = {
    "name": str,
    "vm_size": str,
    "min_nodes": int,
    "max_nodes": int,
    "idle_seconds_before_scaledown": int,
}
# Given at deploy time (TF_VAR_*), never in the files.
DEPLOY_TIME_VARIABLES = {"principal_ids", "workspace_private_endpoint"}


REPO = INFRA.parent
TOPOLOGY_KEYS = (
    "environment",
    "project",
    "location",
    "resource_group_name",
    "workspace_name",
    "public_network_access_enabled",
    "private_networking",
)


def expected_topology(project: str | None = None) -> dict[str, dict]:
    """What each environment's file must say: the environment topology of the team's solution design
    (design/, the Design stage's inputs), optionally for another project name."""
    solution = design.assemble(design.load_inputs(REPO / "design"))
    topology = {}
    for environment, variables in design.terraform_variables(solution).items():
        expected = {key: variables[key] for key in TOPOLOGY_KEYS}
        if project is not None:
            expected.update(
                project=project,
                resource_group_name=naming.resource_group_name(environment, project),
                workspace_name=naming.workspace_name(environment, project),
            )
        topology[environment] = expected
    return topology


def contract_problems(environment: str, variables: dict, topology: dict[str, dict]) -> list[str]:
    """Everything wrong with one environment's variables; empty when they are right."""
    problems = []
    missing, unexpected = sorted(set(CONTRACT) - set(variables)), sorted(set(variables) - set(CONTRACT))
    if missing or unexpected:
        problems.append(f"keys: missing {missing}, unexpected {unexpected}")
    for key, kind in CONTRACT.items():
        if key in variables and not isinstance(variables[key], kind):
            problems.append(f"{key} is {type(variables[key]).__name__}, not {kind.__name__}")
    for key, value in topology.get(environment, {}).items():
        if variables.get(key) != value:
            problems.append(f"{key} is {variables.get(key)!r}, the topology says {value!r}")
    cluster = variables.get("compute_cluster")
    if isinstance(cluster, dict):
        if set(cluster) != set(COMPUTE_CLUSTER):
            problems.append(f"compute_cluster keys are {sorted(cluster)}, not {sorted(COMPUTE_CLUSTER)}")
        for key, kind in COMPUTE_CLUSTER.items():
            if key in cluster and (not isinstance(cluster[key], kind) or isinstance(cluster[key], bool)):
                problems.append(f"compute_cluster.{key} is not a {kind.__name__}")
        if cluster.get("min_nodes") != 0:
            problems.append(
                f"compute_cluster.min_nodes is {cluster.get('min_nodes')!r}: it must scale to zero"
            )
    roles = variables.get("role_assignments")
    if isinstance(roles, dict) and not all(
        isinstance(names, list) and names and all(isinstance(name, str) for name in names)
        for names in roles.values()
    ):
        problems.append("role_assignments must map each group to a non-empty list of role names")
    tags = variables.get("tags")
    if isinstance(tags, dict) and not all(isinstance(value, str) for value in tags.values()):
        problems.append("tags must map names to strings")
    if environment == "dev" and variables.get("private_networking") is not False:
        problems.append("dev must not use private networking (it is reached without a virtual network)")
    return problems


def load(environment: str) -> dict:
    return json.loads((ENVIRONMENTS_DIR / f"{environment}.tfvars.json").read_text())


def test_the_files_are_what_the_solution_design_generates():
    """`python -m accelerator.design write-tfvars` wrote them; editing design/ means running it again."""
    from accelerator.design.__main__ import main

    assert (
        main(["write-tfvars", "--design", str(REPO / "design"), "--out", str(ENVIRONMENTS_DIR), "--check"])
        == 0
    )


def test_there_is_one_variables_file_per_environment_of_the_topology():
    files = {path.name.removesuffix(".tfvars.json") for path in ENVIRONMENTS_DIR.glob("*.tfvars.json")}
    assert files == set(expected_topology())


@pytest.mark.parametrize("environment", naming.ENVIRONMENTS)
def test_variables_follow_the_contract_and_the_topology(environment):
    assert contract_problems(environment, load(environment), expected_topology()) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda v: v.update(workspace_name="mlw-taxi-development"),
            "workspace_name is 'mlw-taxi-development'",
        ),
        (lambda v: v.update(resource_group_name="rg-cab-dev"), "resource_group_name is 'rg-cab-dev'"),
        (lambda v: v["compute_cluster"].update(min_nodes=1), "min_nodes is 1"),
        (lambda v: v.update(private_networking=True), "dev must not use private networking"),
        (lambda v: v.update(region="westeurope"), "unexpected ['region']"),
        (lambda v: v.pop("tags"), "missing ['tags']"),
        (lambda v: v.update(public_network_access_enabled="yes"), "public_network_access_enabled is str"),
        (lambda v: v["compute_cluster"].update(max_nodes=True), "compute_cluster.max_nodes is not a int"),
        (lambda v: v["role_assignments"].update(pipeline="Reader"), "role_assignments must map each group"),
    ],
)
def test_the_contract_check_reports_what_is_wrong(change, problem):
    variables = copy.deepcopy(load("dev"))
    change(variables)
    problems = contract_problems("dev", variables, expected_topology())
    assert any(problem in line for line in problems), problems


def test_the_topology_follows_the_project_name():
    topology = expected_topology("cab")
    assert topology["prod"]["workspace_name"] == "mlw-cab-prod"
    assert contract_problems("prod", load("prod"), topology) != []


def declared_variables() -> dict[str, bool]:
    """Variable name -> whether it has a default, from infra/variables.tf (kept formatted by
    `terraform fmt`, so a block's own arguments are indented by exactly two spaces)."""
    text = (INFRA / "variables.tf").read_text()
    blocks = re.findall(r'^variable "([^"]+)" \{\n(.*?)^\}', text, flags=re.MULTILINE | re.DOTALL)
    assert blocks, "no variable blocks found in infra/variables.tf"
    return {name: re.search(r"^  default\s*=", body, flags=re.MULTILINE) is not None for name, body in blocks}


@pytest.mark.parametrize("environment", naming.ENVIRONMENTS)
def test_variables_files_give_every_required_variable_and_only_declared_ones(environment):
    declared = declared_variables()
    given = set(load(environment))
    assert given <= set(declared), f"undeclared: {sorted(given - set(declared))}"
    required = {name for name, has_default in declared.items() if not has_default}
    assert required - given == {"principal_ids"}, f"required but not given: {sorted(required - given)}"
    assert set(declared) >= DEPLOY_TIME_VARIABLES
    assert not DEPLOY_TIME_VARIABLES & given, "tenant-specific values do not belong in the files"


@pytest.mark.parametrize("environment", naming.ENVIRONMENTS)
def test_each_environment_has_its_own_state_and_scan_settings(environment):
    backend = (ENVIRONMENTS_DIR / f"{environment}.backend.hcl").read_text()
    keys = re.findall(r'^key\s*=\s*"([^"]+)"', backend, flags=re.MULTILINE)
    assert keys == [f"{naming.DEFAULT_PROJECT}-{environment}.tfstate"]
    assert re.search(r"^use_azuread_auth\s*=\s*true", backend, flags=re.MULTILINE), "state must use Entra ID"
    assert "access_key" not in backend and "sas_token" not in backend
    assert (INFRA / "checkov" / f"{environment}.yaml").is_file()
