"""The deployment pipelines users copy: per environment fmt, checkov, plan, then apply of the saved
plan, gated on the plan; prod's apply behind an approval; OpenID Connect login with no stored
secret; never continuing on error. Each rule is a check that reports problems, run on the real
files and on broken copies, so that a check that could never fail would show."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from accelerator import naming

REPO = Path(__file__).resolve().parents[2]
GITHUB = REPO / ".github" / "workflows" / "infra.yml"
AZURE_DEVOPS = REPO / ".azure-pipelines" / "infra.yml"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
SECRET_WORDS = (
    "client-secret",
    "client_secret",
    "ARM_CLIENT_SECRET",
    "AZURE_CLIENT_SECRET",
    "servicePrincipalKey",
)


def walk(node, path=()):
    """Every (path, key, value) of a parsed YAML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from walk(item, (*path, index))


def continues_on_error(document, key: str) -> list[str]:
    return [
        f"{key} at {'/'.join(map(str, path))}"
        for path, found, value in walk(document)
        if found == key and value not in (False, "false")
    ]


def runs(steps: list[dict]) -> list[str]:
    return [
        step.get("run") or step.get("script") or step.get("inputs", {}).get("inlineScript", "")
        for step in steps
    ]


def ordered(commands: list[str], *patterns: str) -> bool:
    """Whether each pattern matches a command, in this order."""
    position = 0
    for pattern in patterns:
        while position < len(commands) and not re.search(pattern, commands[position]):
            position += 1
        if position == len(commands):
            return False
    return True


# GitHub Actions -------------------------------------------------------------------------------


def github_problems(workflow: dict) -> list[str]:
    problems = continues_on_error(workflow, "continue-on-error")
    text = yaml.safe_dump(workflow)
    problems += [f"mentions {word}" for word in SECRET_WORDS if word in text]
    if workflow.get("permissions", {}).get("id-token") != "write":
        problems.append("the workflow does not grant id-token: write (OIDC)")
    if str(workflow.get("env", {}).get("ARM_USE_OIDC")).lower() != "true":
        problems.append("ARM_USE_OIDC is not true")
    jobs = workflow.get("jobs", {})
    previous_apply = None
    for environment in naming.ENVIRONMENTS:
        plan, apply = jobs.get(f"plan-{environment}"), jobs.get(f"apply-{environment}")
        if plan is None or apply is None:
            problems.append(f"no plan-{environment} and apply-{environment} jobs")
            continue
        plan_runs, apply_runs = runs(plan.get("steps", [])), runs(apply.get("steps", []))
        if not ordered(
            plan_runs,
            r"terraform fmt -check -recursive infra",
            rf"make infra-scan INFRA_ENVIRONMENTS={environment}\b",
            rf"init .*-backend-config=environments/{environment}\.backend\.hcl",
            rf"plan .*-var-file=environments/{environment}\.tfvars\.json .*-out={environment}\.tfplan",
        ):
            problems.append(f"plan-{environment} does not run fmt, checkov, init and plan for {environment}")
        if not ordered(
            apply_runs,
            rf"init .*-backend-config=environments/{environment}\.backend\.hcl",
            rf"apply -input=false {environment}\.tfplan$",
        ):
            problems.append(f"apply-{environment} does not apply the saved plan {environment}.tfplan")
        if not str(plan.get("env", {}).get("TF_VAR_principal_ids", "")).startswith("${{ vars."):
            problems.append(
                f"plan-{environment} does not take principal_ids from the environment's variables"
            )
        needs = apply.get("needs")
        if needs != f"plan-{environment}" and f"plan-{environment}" not in (needs or []):
            problems.append(f"apply-{environment} does not need plan-{environment}")
        if re.search(r"always\(\)|failure\(\)", str(apply.get("if", ""))):
            problems.append(f"apply-{environment} can run when its plan failed")
        if previous_apply and previous_apply not in str(plan.get("needs")):
            problems.append(f"plan-{environment} does not wait for {previous_apply}")
        previous_apply = f"apply-{environment}"
        for name, job in ((f"plan-{environment}", plan), (f"apply-{environment}", apply)):
            logins = [
                step for step in job.get("steps", []) if str(step.get("uses", "")).startswith("azure/login@")
            ]
            if not logins or any(
                set(login.get("with", {})) != {"client-id", "tenant-id", "subscription-id"}
                for login in logins
            ):
                problems.append(
                    f"{name} does not log in with azure/login and client, tenant, subscription ids"
                )
        environment_name = apply.get("environment")
        if isinstance(environment_name, dict):
            environment_name = environment_name.get("name")
        if environment_name != environment:
            problems.append(f"apply-{environment} does not run in the GitHub environment {environment}")
    for _path, key, value in walk(workflow):
        if key == "uses" and not PINNED.match(str(value)):
            problems.append(f"{value} is not pinned to a commit")
    return problems


@pytest.fixture(scope="module")
def github_workflow() -> dict:
    workflow = yaml.safe_load(GITHUB.read_text())
    # YAML 1.1 reads the key `on` as True.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def test_github_workflow_follows_every_rule(github_workflow):
    assert github_problems(github_workflow) == []


def test_github_prod_apply_waits_for_approval_and_runs_on_main_only(github_workflow):
    apply = github_workflow["jobs"]["apply-prod"]
    assert apply["environment"] == "prod"  # required reviewers are this environment's protection rule
    assert "refs/heads/main" in apply["if"] and "pull_request" in apply["if"]
    assert set(github_workflow["on"]) == {"push", "pull_request", "workflow_dispatch"}


def github_broken(workflow: dict, how: str) -> dict:
    broken = copy.deepcopy(workflow)
    jobs = broken["jobs"]
    if how == "continue-on-error":
        jobs["plan-test"]["steps"][3]["continue-on-error"] = True
    elif how == "no approval":
        jobs["apply-prod"]["environment"] = "prod-plan"
    elif how == "stored secret":
        login = next(step for step in jobs["apply-prod"]["steps"] if "azure/login" in step.get("uses", ""))
        login["with"] = {"creds": "${{ secrets.AZURE_CREDENTIALS }}"}
    elif how == "no id-token":
        broken["permissions"].pop("id-token")
    elif how == "apply not gated":
        jobs["apply-dev"]["if"] = "always()"
    elif how == "apply re-plans":
        step = next(step for step in jobs["apply-test"]["steps"] if "apply" in step.get("run", ""))
        step["run"] = (
            "terraform -chdir=infra apply -input=false -auto-approve -var-file=environments/test.tfvars.json"
        )
    elif how == "no scan":
        jobs["plan-prod"]["steps"] = [
            s for s in jobs["plan-prod"]["steps"] if "infra-scan" not in s.get("run", "")
        ]
    elif how == "unpinned":
        jobs["plan-dev"]["steps"][0]["uses"] = "actions/checkout@v4"
    elif how == "ids in the file":
        jobs["plan-test"]["env"]["TF_VAR_principal_ids"] = (
            '{"pipeline": "00000000-0000-0000-0000-000000000000"}'
        )
    return broken


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("continue-on-error", "continue-on-error at jobs/plan-test/steps/3"),
        ("no approval", "apply-prod does not run in the GitHub environment prod"),
        ("stored secret", "apply-prod does not log in with azure/login"),
        ("no id-token", "id-token: write"),
        ("apply not gated", "apply-dev can run when its plan failed"),
        ("apply re-plans", "apply-test does not apply the saved plan"),
        ("no scan", "plan-prod does not run fmt, checkov"),
        ("unpinned", "actions/checkout@v4 is not pinned"),
        ("ids in the file", "plan-test does not take principal_ids from the environment's variables"),
    ],
)
def test_github_checks_catch_a_broken_workflow(github_workflow, how, problem):
    problems = github_problems(github_broken(github_workflow, how))
    assert any(problem in line for line in problems), problems


# Azure DevOps ---------------------------------------------------------------------------------


def azure_devops_problems(pipeline: dict) -> list[str]:
    problems = continues_on_error(pipeline, "continueOnError")
    text = yaml.safe_dump(pipeline)
    problems += [f"mentions {word}" for word in SECRET_WORDS if word in text]
    stages = {stage["stage"]: stage for stage in pipeline.get("stages", [])}
    if list(stages) != list(naming.ENVIRONMENTS):
        problems.append(f"stages are {list(stages)}, not {list(naming.ENVIRONMENTS)}")
    previous = None
    for environment, stage in stages.items():
        if previous and stage.get("dependsOn") != previous:
            problems.append(f"stage {environment} does not depend on {previous}")
        previous = environment
        jobs = {job.get("job") or job.get("deployment"): job for job in stage.get("jobs", [])}
        plan, apply = jobs.get("plan"), jobs.get("apply")
        if plan is None or apply is None or "deployment" not in apply:
            problems.append(f"stage {environment} has no plan job and apply deployment job")
            continue
        apply_steps = apply.get("strategy", {}).get("runOnce", {}).get("deploy", {}).get("steps", [])
        if not ordered(
            runs(plan.get("steps", [])),
            r"terraform fmt -check -recursive infra",
            rf"make infra-scan INFRA_ENVIRONMENTS={environment}\b",
            rf"init .*-backend-config=environments/{environment}\.backend\.hcl",
            rf"plan .*-var-file=environments/{environment}\.tfvars\.json .*-out={environment}\.tfplan",
        ):
            problems.append(f"stage {environment} does not run fmt, checkov, init and plan")
        if not re.search(rf"apply -input=false {environment}\.tfplan\n", "\n".join(runs(apply_steps)) + "\n"):
            problems.append(f"stage {environment} does not apply the saved plan {environment}.tfplan")
        if apply.get("dependsOn") != "plan" or not str(apply.get("condition", "")).startswith(
            "and(succeeded()"
        ):
            problems.append(f"stage {environment}: apply is not gated on a successful plan")
        if apply.get("environment") != environment:
            problems.append(f"stage {environment}: apply does not deploy to the environment {environment}")
        for step in plan.get("steps", []) + apply_steps:
            if "inlineScript" not in step.get("inputs", {}):
                continue
            inputs, script = step["inputs"], step["inputs"]["inlineScript"]
            if step.get("task") != "AzureCLI@2" or not inputs.get("azureSubscription"):
                problems.append(
                    f"stage {environment}: terraform runs outside AzureCLI@2 with a service connection"
                )
            if inputs.get("addSpnToEnvironment") is not True or 'ARM_OIDC_TOKEN="$idToken"' not in script:
                problems.append(f"stage {environment}: terraform does not use the federated token (OIDC)")
            if "ARM_USE_OIDC=true" not in script:
                problems.append(f"stage {environment}: ARM_USE_OIDC is not true")
            if " plan " in script and step.get("env", {}).get("TF_VAR_principal_ids") != "$(PRINCIPAL_IDS)":
                problems.append(f"stage {environment}: principal_ids do not come from the variable group")
    return problems


@pytest.fixture(scope="module")
def azure_pipeline() -> dict:
    return yaml.safe_load(AZURE_DEVOPS.read_text())


def test_azure_devops_pipeline_follows_every_rule(azure_pipeline):
    assert azure_devops_problems(azure_pipeline) == []


def test_azure_devops_prod_apply_is_a_deployment_to_the_approved_environment(azure_pipeline):
    prod = next(stage for stage in azure_pipeline["stages"] if stage["stage"] == "prod")
    apply = next(job for job in prod["jobs"] if job.get("deployment") == "apply")
    assert apply["environment"] == "prod"  # its approvals and checks are set on the environment
    assert "eq(variables.isMain, true)" in apply["condition"]


def azure_broken(pipeline: dict, how: str) -> dict:
    broken = copy.deepcopy(pipeline)
    stages = {stage["stage"]: stage for stage in broken["stages"]}
    if how == "continueOnError":
        stages["dev"]["jobs"][0]["steps"][3]["continueOnError"] = True
    elif how == "no approval environment":
        stages["prod"]["jobs"][1]["environment"] = "dev"
    elif how == "secret":
        script = stages["test"]["jobs"][0]["steps"][5]["inputs"]
        script["inlineScript"] = script["inlineScript"].replace(
            'ARM_OIDC_TOKEN="$idToken"', 'ARM_CLIENT_SECRET="$servicePrincipalKey"'
        )
    elif how == "ungated apply":
        stages["prod"]["jobs"][1]["condition"] = "always()"
    elif how == "out of order":
        stages["prod"]["dependsOn"] = "dev"
    elif how == "ids in the file":
        stages["dev"]["jobs"][0]["steps"][5]["env"]["TF_VAR_principal_ids"] = '{"pipeline": "0000"}'
    return broken


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("continueOnError", "continueOnError at stages/0/jobs/0/steps/3"),
        ("no approval environment", "apply does not deploy to the environment prod"),
        ("secret", "mentions ARM_CLIENT_SECRET"),
        ("ungated apply", "stage prod: apply is not gated"),
        ("out of order", "stage prod does not depend on test"),
        ("ids in the file", "stage dev: principal_ids do not come from the variable group"),
    ],
)
def test_azure_devops_checks_catch_a_broken_pipeline(azure_pipeline, how, problem):
    problems = azure_devops_problems(azure_broken(azure_pipeline, how))
    assert any(problem in line for line in problems), problems


def test_makefile_scan_is_checkov_per_environment_offline():
    """The pipelines' `make infra-scan` is the scan the tests run: offline, with each environment's
    variables and accepted checks."""
    makefile = (REPO / "Makefile").read_text()
    target = makefile[makefile.index("\ninfra-scan:") : makefile.index("\n## infra-validate")]
    for part in (
        "BC_SKIP_MAPPING=TRUE",
        "checkov -d infra --framework terraform --skip-download",
        "--var-file infra/environments/$$env.tfvars.json",
        "--config-file infra/checkov/$$env.yaml",
        "|| exit 1",
    ):
        assert part in target, part
