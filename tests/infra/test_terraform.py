"""Terraform's own checks of infra/ that run offline: formatting, and the root variables' validation
rules evaluated by Terraform against each environment's variables file; `terraform validate` where
the azurerm provider is installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

INFRA = Path(__file__).resolve().parents[2] / "infra"

ENVIRONMENTS_DIR = INFRA / "environments"
# Stand-in object ids, the shape of real ones pointing at nobody, for every group the environments'
# variables (generated from the solution design) give roles to.
_GROUPS = sorted(
    {
        group
        for path in ENVIRONMENTS_DIR.glob("*.tfvars.json")
        for group in json.loads(path.read_text())["role_assignments"]
    }
)
PRINCIPAL_IDS = {group: f"00000000-0000-4000-8000-{index:012d}" for index, group in enumerate(_GROUPS, 1)}
PRIVATE_ENDPOINT = {
    "subnet_id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network"
    "/providers/Microsoft.Network/virtualNetworks/vnet-hub/subnets/snet-private-endpoints",
    "private_dns_zone_ids": [],
}


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_terraform_files_are_formatted(terraform, terraform_env):
    result = run([terraform, "fmt", "-check", "-recursive", "-diff", str(INFRA)], INFRA, terraform_env)
    assert result.returncode == 0, f"terraform fmt -check -recursive infra:\n{result.stdout}{result.stderr}"


def test_fmt_check_catches_unformatted_files(terraform, terraform_env, tmp_path):
    """The formatting gate is real: a badly indented file fails it."""
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform*", "*.tfplan"))
    outputs = copy / "outputs.tf"
    outputs.write_text(
        outputs.read_text().replace(
            "  value       = module.ml_environment.workspace_id", "value=module.ml_environment.workspace_id"
        )
    )
    result = run([terraform, "fmt", "-check", "-recursive", str(copy)], copy, terraform_env)
    assert result.returncode != 0
    assert "outputs.tf" in result.stdout


@pytest.fixture(scope="module")
def variables_only(terraform, terraform_env, tmp_path_factory) -> Path:
    """infra/variables.tf alone, initialised: no provider is needed, so Terraform evaluates every
    variable's type and validation rules offline, as `plan` does before it touches Azure."""
    folder = tmp_path_factory.mktemp("variables")
    shutil.copy(INFRA / "variables.tf", folder / "variables.tf")
    result = run([terraform, "init", "-input=false", "-no-color"], folder, terraform_env)
    assert result.returncode == 0, result.stdout + result.stderr
    return folder


def plan_variables(
    terraform: str,
    env: dict[str, str],
    folder: Path,
    variables: dict,
    principal_ids: dict[str, str] | None = None,
    private_endpoint: dict | None = None,
) -> subprocess.CompletedProcess[str]:
    """`terraform plan` of the variables alone with a variables file, the principal ids and the
    private endpoint given as the pipelines give them (TF_VAR_*)."""
    var_file = folder / "case.tfvars.json"
    var_file.write_text(json.dumps(variables))
    env = dict(env)
    if principal_ids is not None:
        env["TF_VAR_principal_ids"] = json.dumps(principal_ids)
    if private_endpoint is not None:
        env["TF_VAR_workspace_private_endpoint"] = json.dumps(private_endpoint)
    return run(
        [terraform, "plan", "-input=false", "-no-color", "-lock=false", f"-var-file={var_file.name}"],
        folder,
        env,
    )


def environment_variables(environment: str) -> dict:
    return json.loads((ENVIRONMENTS_DIR / f"{environment}.tfvars.json").read_text())


@pytest.mark.parametrize("environment", ["dev", "test", "prod"])
def test_each_environment_passes_every_validation(terraform, terraform_env, variables_only, environment):
    variables = environment_variables(environment)
    endpoint = None if variables["public_network_access_enabled"] else PRIVATE_ENDPOINT
    result = plan_variables(terraform, terraform_env, variables_only, variables, PRINCIPAL_IDS, endpoint)
    assert result.returncode == 0, result.stdout + result.stderr
    # Every key of the file is a declared variable: Terraform warns about any other.
    assert "undeclared variable" not in result.stdout + result.stderr


def test_principal_ids_are_required(terraform, terraform_env, variables_only):
    result = plan_variables(terraform, terraform_env, variables_only, environment_variables("dev"))
    assert result.returncode != 0
    assert "No value for required variable" in result.stderr
    assert 'variable "principal_ids"' in result.stderr


def test_a_role_for_a_group_without_principal_id_fails_naming_the_group(
    terraform, terraform_env, variables_only
):
    partial = {key: value for key, value in PRINCIPAL_IDS.items() if key != "pipeline"}
    result = plan_variables(terraform, terraform_env, variables_only, environment_variables("dev"), partial)
    assert result.returncode != 0
    assert "principal_ids has no object id for: pipeline." in result.stderr


def test_a_closed_workspace_needs_its_private_endpoint(terraform, terraform_env, variables_only):
    result = plan_variables(
        terraform, terraform_env, variables_only, environment_variables("prod"), PRINCIPAL_IDS
    )
    assert result.returncode != 0
    assert "give workspace_private_endpoint" in result.stderr


def mutated(environment: str, path: tuple[str, ...], value) -> dict:
    variables = environment_variables(environment)
    target = variables
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return variables


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("compute_cluster", "min_nodes"), 1, "min_nodes must be 0"),
        (("compute_cluster", "max_nodes"), 0, "max_nodes is a whole number from 1 to 100"),
        (("compute_cluster", "idle_seconds_before_scaledown"), 10, "idle_seconds_before_scaledown is whole"),
        (("compute_cluster", "vm_size"), "DS3_v2", "vm_size is an Azure VM size"),
        (("compute_cluster", "name"), "cpu_cluster", "compute_cluster.name is 3-16 letters"),
        (("environment",), "staging", "environment must be one of dev, test, prod"),
        (("project",), "Taxi", "project is 1-20 lowercase letters"),
        (("location",), "West Europe", "location is a region name"),
        (("resource_group_name",), "rg-taxi-development", "rg-<project>-<environment>"),
        (("workspace_name",), "taxi-dev", "mlw-<project>-<environment>"),
        (("role_assignments", "pipeline"), ["Owner"], "must not grant Owner"),
        (("role_assignments", "pipeline"), [], "lists at least one role"),
        (("role_assignments", "Data Scientists"), ["Reader"], "keys are group keys in snake_case"),
        (("public_network_access_enabled",), False, "needs private_networking = true"),
    ],
)
def test_variables_that_break_a_rule_are_refused(
    terraform, terraform_env, variables_only, path, value, message
):
    variables = mutated("dev", path, value)
    principal_ids = dict(
        PRINCIPAL_IDS, **{key: PRINCIPAL_IDS["pipeline"] for key in variables["role_assignments"]}
    )
    endpoint = None if variables["public_network_access_enabled"] else PRIVATE_ENDPOINT
    result = plan_variables(terraform, terraform_env, variables_only, variables, principal_ids, endpoint)
    assert result.returncode != 0, f"{path}={value!r} was accepted"
    assert message in " ".join(result.stderr.split()), result.stderr


def test_a_principal_id_must_be_an_object_id(terraform, terraform_env, variables_only):
    ids = dict(PRINCIPAL_IDS, pipeline="ml-pipeline")
    result = plan_variables(terraform, terraform_env, variables_only, environment_variables("dev"), ids)
    assert result.returncode != 0
    assert "Entra ID object id (a GUID)" in result.stderr


def provider_installed() -> bool:
    """Whether `terraform init` already put the azurerm provider in infra/.terraform."""
    return any(
        (INFRA / ".terraform" / "providers" / "registry.terraform.io" / "hashicorp").glob("azurerm/*/*")
    )


def test_terraform_validate(terraform, terraform_env):
    if not provider_installed():
        pytest.skip(
            "terraform validate needs the hashicorp/azurerm provider, which is not installed in "
            "infra/.terraform and cannot be downloaded here (no access to registry.terraform.io). "
            "Run `make infra-validate` on a machine that can reach it; this test then validates too."
        )
    result = run([terraform, "validate", "-no-color"], INFRA, terraform_env)
    assert result.returncode == 0, result.stdout + result.stderr


# The provider version ------------------------------------------------------------------------

# The oldest azurerm 4.x with every argument infra/ sets: the workspace's storage_account_access_type
# (4.77.0, hashicorp/terraform-provider-azurerm#32514); the storage account's SAS expiration_action
# "Block" came in 4.45.0 and the key vault's rbac_authorization_enabled in 4.42.0.
PROVIDER_FLOOR = (4, 77)
AZURERM_CONSTRAINT = re.compile(
    r'azurerm\s*=\s*\{[^}]*?source\s*=\s*"hashicorp/azurerm"[^}]*?version\s*=\s*"([^"]+)"', re.S
)


def azurerm_constraints(infra: Path) -> dict[str, str]:
    """The azurerm version constraint of every versions.tf under infra/, by file."""
    found = {}
    for path in sorted(infra.rglob("versions.tf")):
        if ".terraform" in path.parts:
            continue
        match = AZURERM_CONSTRAINT.search(path.read_text())
        if match:
            found[str(path.relative_to(infra))] = match.group(1)
    return found


def constraint_problems(constraints: dict[str, str]) -> list[str]:
    problems = []
    if "versions.tf" not in constraints:
        problems.append("the root versions.tf does not require hashicorp/azurerm")
    for path, constraint in constraints.items():
        match = re.fullmatch(r"~>\s*(\d+)\.(\d+)", constraint)
        if not match:
            problems.append(f"{path}: {constraint!r} is not a pessimistic major.minor constraint (~> 4.NN)")
        elif (int(match.group(1)), int(match.group(2))) < PROVIDER_FLOOR or int(match.group(1)) != 4:
            problems.append(f"{path}: {constraint!r} allows azurerm older than 4.77 or other than 4.x")
    if len(set(constraints.values())) > 1:
        problems.append(f"the modules disagree on the azurerm version: {constraints}")
    return problems


def test_provider_constraint_is_the_oldest_version_with_every_argument():
    constraints = azurerm_constraints(INFRA)
    assert set(constraints) == {"versions.tf", "modules/ml-environment/versions.tf"}, constraints
    assert constraint_problems(constraints) == []


@pytest.mark.parametrize(
    ("constraints", "problem"),
    [
        ({"versions.tf": "~> 4.42", "modules/ml-environment/versions.tf": "~> 4.42"}, "older than 4.77"),
        ({"versions.tf": "~> 4.77", "modules/ml-environment/versions.tf": "~> 4.80"}, "disagree"),
        ({"versions.tf": ">= 4.77", "modules/ml-environment/versions.tf": ">= 4.77"}, "not a pessimistic"),
        ({"modules/ml-environment/versions.tf": "~> 4.77"}, "root versions.tf"),
    ],
)
def test_provider_constraint_check_catches_a_wrong_one(constraints, problem):
    assert any(problem in line for line in constraint_problems(constraints)), constraint_problems(constraints)


def test_the_committed_lock_file_pins_a_provider_the_constraint_allows():
    """infra/.terraform.lock.hcl, written by `make infra-validate` on a connected machine and committed,
    is what the pipelines install with `terraform init -lockfile=readonly`."""
    lock = INFRA / ".terraform.lock.hcl"
    if not lock.exists():
        pytest.skip(
            "infra/.terraform.lock.hcl is not committed yet: run `make infra-validate` where "
            "registry.terraform.io is reachable and commit the file it writes."
        )
    match = re.search(
        r'provider "registry\.terraform\.io/hashicorp/azurerm" \{\s*version\s*=\s*"(\d+)\.(\d+)\.(\d+)"',
        lock.read_text(),
    )
    assert match, "the lock file has no hashicorp/azurerm entry"
    major, minor = int(match.group(1)), int(match.group(2))
    assert major == 4 and (major, minor) >= PROVIDER_FLOOR, match.group(0)


# ISO 8601 durations (infra/modules/duration) ---------------------------------------------------


@pytest.fixture(scope="module")
def duration_module(terraform, terraform_env, tmp_path_factory) -> Path:
    """infra/modules/duration alone, initialised: it needs no provider, so Terraform evaluates it offline."""
    folder = tmp_path_factory.mktemp("duration")
    shutil.copytree(INFRA / "modules" / "duration", folder, dirs_exist_ok=True)
    result = run([terraform, "init", "-input=false", "-no-color"], folder, terraform_env)
    assert result.returncode == 0, result.stdout + result.stderr
    return folder


def iso8601(terraform: str, env: dict[str, str], folder: Path, seconds) -> str:
    result = subprocess.run(
        [terraform, "console", f"-var=seconds={seconds}"],
        cwd=folder,
        env=env,
        input="local.iso8601\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip())


@pytest.mark.parametrize(
    ("seconds", "duration"),
    [
        (900, "PT15M"),  # what every environment's file gives: Azure returns PT15M, never PT900S
        (60, "PT1M"),
        (45, "PT45S"),
        (90, "PT1M30S"),
        (3600, "PT1H"),
        (5400, "PT1H30M"),
        (3661, "PT1H1M1S"),
        (86400, "P1D"),
    ],
)
def test_idle_time_is_sent_in_the_form_azure_returns(
    terraform, terraform_env, duration_module, seconds, duration
):
    assert iso8601(terraform, terraform_env, duration_module, seconds) == duration


def test_the_cluster_takes_its_idle_time_from_the_duration_module():
    module = (INFRA / "modules" / "ml-environment" / "main.tf").read_text()
    assert "scale_down_nodes_after_idle_duration = module.idle_duration.iso8601" in module
    assert re.search(r'module "idle_duration" \{\s*source\s*=\s*"\.\./duration"', module)
    for environment in ("dev", "test", "prod"):
        seconds = environment_variables(environment)["compute_cluster"]["idle_seconds_before_scaledown"]
        assert seconds >= 60, environment
