"""The design's inputs: the committed files are valid, and each kind of mistake is reported with its
file and line, every mistake at once."""

from __future__ import annotations

import pytest
from design_inputs import DESIGN, copy_design, edit, line_of, problems

from accelerator import design


@pytest.fixture
def folder(tmp_path):
    return copy_design(tmp_path)


def test_the_committed_design_is_valid():
    inputs = design.load_inputs(DESIGN)
    assert inputs.team.names.project == "taxi"
    assert len(inputs.raci.activities) == 20
    assert set(inputs.environments.environments) == {"dev", "test", "prod"}


def test_an_activity_with_no_accountable(folder):
    edit(folder, "raci.yaml", "{group_manager: AR, team_lead: C,", "{group_manager: R, team_lead: C,")
    line = line_of(folder, "raci.yaml", "roles: {group_manager: R")
    assert problems(folder) == [
        f"design/raci.yaml:{line}: activities[0].roles: no Accountable: exactly one role must be A (or AR)"
    ]


def test_an_activity_with_two_accountable(folder):
    edit(folder, "raci.yaml", "{team_lead: A, administrator: R,", "{team_lead: A, administrator: A,")
    line = line_of(folder, "raci.yaml", "{team_lead: A, administrator: A,")
    index = next(
        i for i, a in enumerate(design.load_inputs(DESIGN).raci.activities) if "Map team roles" in a.activity
    )
    assert problems(folder) == [
        f"design/raci.yaml:{line}: activities[{index}].roles: "
        "2 Accountable (team_lead, administrator): exactly one role may be A"
    ]


def test_an_activity_with_no_responsible(folder):
    edit(folder, "raci.yaml", "{product_owner: A, data_analyst: R,", "{product_owner: A, data_analyst: C,")
    [problem] = problems(folder)
    line = line_of(folder, "raci.yaml", "{product_owner: A, data_analyst: C,")
    assert problem.startswith(f"design/raci.yaml:{line}: ")
    assert problem.endswith("no Responsible: at least one role must be R (or AR)")


def test_a_role_that_does_not_exist_in_the_raci_people_and_owners(folder):
    edit(folder, "raci.yaml", "data_scientist: R, mlops_engineer: R, data_engineer: C}", "data_scientst: R}")
    edit(folder, "team.yaml", "roles: [data_engineer, data_analyst]", "roles: [data_engineer, analyst]")
    edit(folder, "environments.yaml", "owner: mlops_engineer", "owner: ops_engineer")
    found = problems(folder)
    assert found == [
        f"design/team.yaml:{line_of(folder, 'team.yaml', 'roles: [data_engineer, analyst]')}: "
        "people[5].roles[1]: unknown role 'analyst': not one of the roles in team.yaml",
        f"design/raci.yaml:{line_of(folder, 'raci.yaml', 'data_scientst: R}')}: "
        "activities[14].roles.data_scientst: unknown role 'data_scientst': not one of the roles in team.yaml",
        f"design/environments.yaml:{line_of(folder, 'environments.yaml', 'owner: ops_engineer')}: "
        "environments.test.owner: unknown role 'ops_engineer': not one of the roles in team.yaml",
    ]


def test_an_environment_with_no_owner(folder):
    edit(folder, "environments.yaml", "  prod:\n    owner: project_lead\n", "  prod:\n")
    line = line_of(folder, "environments.yaml", "  prod:")
    assert problems(folder) == [
        f"design/environments.yaml:{line}: environments.prod.owner: "
        "no owner: name the role that owns this environment (owner: <role>)"
    ]


def test_unknown_environment_names(folder):
    edit(folder, "environments.yaml", "  test:\n", "  staging:\n")
    edit(folder, "rbac.yaml", "    prod: [Reader, MLOps Endpoint Operator]", "    production: [Reader]")
    edit(folder, "delivery.yaml", "environment: test", "environment: qa")
    assert problems(folder) == [
        f"design/delivery.yaml:{line_of(folder, 'delivery.yaml', 'environment: qa')}: "
        "branching.rules[2].environment: unknown environment 'qa': use dev, test, prod",
        f"design/environments.yaml:{line_of(folder, 'environments.yaml', 'staging:')}: "
        "environments.staging: unknown environment 'staging': use dev, test, prod",
        f"design/rbac.yaml:{line_of(folder, 'rbac.yaml', 'production: [Reader]')}: "
        "assignments.ml_engineers.production: unknown environment 'production': use dev, test, prod",
    ]


def test_settings_for_every_environment(folder):
    test = "  test:\n    owner: mlops_engineer\n"
    test += "    purpose: integration and load tests of each release candidate\n"
    edit(folder, "environments.yaml", test + "    tags: {data-classification: internal}\n", "")
    [problem] = problems(folder)
    assert problem == (
        f"design/environments.yaml:{line_of(folder, 'environments.yaml', 'environments:')}: environments: "
        "no settings for test: set dev, test and prod (week 3 decides which are built)"
    )


def test_branch_rules_must_cover_every_environment_and_approve_prod(folder):
    edit(folder, "delivery.yaml", "      approval: team_lead\n", "")
    [problem] = problems(folder)
    line = line_of(folder, "delivery.yaml", "rules:")
    assert problem == (
        f"design/delivery.yaml:{line}: branching.rules: main deploys to prod without an approval: "
        "name the approving role"
    )
    edit(folder, "delivery.yaml", "environment: test", "environment: dev")
    assert "no branch deploys to test: add a rule for each environment" in problems(folder)[0]


def test_maturity_answers_unknown_and_missing(folder):
    edit(folder, "maturity.yaml", "  safe_rollout: no\n", "  safe_rolout: no\n")
    [problem] = problems(folder)
    line = line_of(folder, "maturity.yaml", "safe_rolout")
    assert problem == (
        f"design/maturity.yaml:{line}: answers.safe_rolout: unknown practice 'safe_rolout': "
        "not a practice of the maturity model"
    )
    edit(folder, "maturity.yaml", "  safe_rolout: no\n", "")
    [problem] = problems(folder)
    assert problem == "design/maturity.yaml:5: answers: no answer for safe_rollout (answer yes or no)"
    edit(folder, "maturity.yaml", "target_level: 3", "target_level: 5")
    assert "target_level: Input should be less than or equal to 4" in problems(folder)[0]


def test_azure_roles_groups_and_custom_roles(folder):
    edit(folder, "rbac.yaml", "    dev: [Contributor]", "    dev: [Contributer, Owner]")
    edit(folder, "rbac.yaml", "  leads:\n    dev:", "  managers:\n    dev:")
    edit(folder, "rbac.yaml", "  MLOps Endpoint Operator:", "  Reader:")
    dev_line = line_of(folder, "rbac.yaml", "dev: [Contributer, Owner]")
    unknown = "is neither an Azure built-in role the design knows (accelerator/design/data/azure_roles.txt) "
    unknown += "nor a custom role defined under custom_roles"
    assert problems(folder) == [
        # The custom role is now called Reader: prod's 'MLOps Endpoint Operator' is unknown, and a clash.
        f"design/rbac.yaml:{line_of(folder, 'rbac.yaml', 'Reader, MLOps Endpoint Operator')}: "
        f"assignments.ml_engineers.prod[1]: 'MLOps Endpoint Operator' {unknown}",
        f"design/rbac.yaml:{dev_line}: assignments.platform_engineers.dev[0]: 'Contributer' {unknown}",
        f"design/rbac.yaml:{dev_line}: assignments.platform_engineers.dev[1]: 'Owner' grants access to "
        "others: keep it out of the design (it is the bootstrap's)",
        f"design/rbac.yaml:{line_of(folder, 'rbac.yaml', 'managers:')}: assignments.managers: "
        "unknown group 'managers': not one of the groups above",
        f"design/rbac.yaml:{line_of(folder, 'rbac.yaml', 'custom_roles:')}: custom_roles: Reader: a built-in "
        "role has this name; name the custom role otherwise",
    ]


def test_groups_and_identities(folder):
    edit(folder, "rbac.yaml", "    kind: identity\n", "    kind: identity\n    members: [tester]\n")
    [problem] = problems(folder)
    assert problem == (
        f"design/rbac.yaml:{line_of(folder, 'rbac.yaml', '  pipeline:')}: groups.pipeline: "
        "an identity has no members: it is a pipeline's or service's own identity"
    )


def test_misspelt_settings_duplicate_keys_and_people(folder):
    edit(folder, "compute.yaml", "  gpu: false", "  gpus: false")
    edit(folder, "cost.yaml", "  key_vault: 1\n", "  key_vault: 1\n  key_vault: 2\n")
    edit(folder, "team.yaml", "  - name: Lena Novak", "  - name: Chen Wei")
    found = problems(folder)
    assert found == [
        f"design/cost.yaml:{line_of(folder, 'cost.yaml', 'key_vault: 2')}: "
        f"'key_vault' is given twice (first on line {line_of(folder, 'cost.yaml', 'key_vault: 1')})",
        f"design/team.yaml:{line_of(folder, 'team.yaml', 'people:')}: people: listed twice: Chen Wei "
        "(give a person all their roles in one entry)",
        f"design/compute.yaml:{line_of(folder, 'compute.yaml', 'workload:')}: workload.gpu: "
        "missing: this setting is required",
        f"design/compute.yaml:{line_of(folder, 'compute.yaml', 'gpus: false')}: workload.gpus: "
        "unknown setting (check the spelling against design/README.md)",
    ]


def test_values_of_the_wrong_kind(folder):
    edit(folder, "team.yaml", "teams: 1", "teams: 0")
    edit(folder, "environments.yaml", "location: westeurope", "location: west-europe")
    edit(folder, "cost.yaml", "endpoint_vm_size: Standard_DS3_v2", "endpoint_vm_size: Standard_Q9")
    edit(folder, "compute.yaml", "model_family: classical", "model_family: forest")
    found = problems(folder)
    assert found[
        0
    ] == f"design/team.yaml:{line_of(folder, 'team.yaml', 'teams: 0')}: organisation.teams: " + (
        "Input should be greater than or equal to 1"
    )
    assert found[1] == (
        f"design/environments.yaml:{line_of(folder, 'environments.yaml', 'west-europe')}: location: "
        "'west-europe' is not an Azure region with Azure ML (for example westeurope)"
    )
    assert found[2].startswith(
        f"design/compute.yaml:{line_of(folder, 'compute.yaml', 'model_family')}: workload.model_family: "
        "Input should be 'classical', 'gradient_boosting', 'deep_learning' or 'fine_tuning'"
    )
    assert found[3].startswith(
        f"design/cost.yaml:{line_of(folder, 'cost.yaml', 'Standard_Q9')}: endpoint_vm_size"
    )
    assert "Standard_Q9 is not in the VM table" in found[3]


def test_broken_yaml_and_missing_files(folder):
    (folder / "raci.yaml").write_text("activities:\n  - activity: [unclosed\n")
    (folder / "cost.yaml").unlink()
    (folder / "technology.yaml").write_text("")
    found = problems(folder)
    assert found[0].startswith("design/raci.yaml:3: not valid YAML:")
    assert found[1] == "design/cost.yaml: file not found"
    assert found[2] == "design/technology.yaml: the file must be a mapping of settings"


def test_a_missing_folder(tmp_path):
    assert problems(tmp_path / "nowhere") == ["nowhere: the design folder does not exist"]


def test_the_error_lists_every_problem(folder):
    edit(folder, "raci.yaml", "{group_manager: AR, team_lead: C,", "{group_manager: R, team_lead: C,")
    edit(folder, "environments.yaml", "  prod:\n    owner: project_lead\n", "  prod:\n")
    with pytest.raises(design.DesignError) as raised:
        design.load_inputs(folder)
    text = str(raised.value)
    assert text.splitlines()[0] == "The design has 2 problems:"
    assert "  design/raci.yaml:" in text
    assert "  design/environments.yaml:" in text
    assert isinstance(raised.value, ValueError)
