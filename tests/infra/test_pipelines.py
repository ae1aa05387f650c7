"""The deployment pipelines users copy: per environment fmt, checkov, plan, then apply of the saved
plan with the plan's provider lock file, gated on the plan; plans with a read-only identity and
without the state lock, applies with the deploying one; prod's apply behind an approval that comes
after its plan; OpenID Connect login with no stored secret and tokens requested afresh; never
continuing on error. Each rule is a check that reports problems, run on the real files and on
broken copies, so that a check that could never fail would show."""

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

# GitHub fails a job that waits longer than this for its reviewers: the plan must outlive it.
APPROVAL_DAYS = 30
LOCK_FILE = "infra/.terraform.lock.hcl"


def github_concurrency_problems(workflow: dict) -> list[str]:
    """Runs that can apply share one group and are never cancelled in progress; a pull request
    (plans only, without the state lock) may have a group of its own."""
    concurrency = workflow.get("concurrency")
    if not isinstance(concurrency, dict):
        return ["no concurrency group"]
    group, cancel = str(concurrency.get("group", "")), str(concurrency.get("cancel-in-progress", ""))
    problems = []
    # Either one constant group, or `pull_request && <per-PR group> || '<constant group>'`.
    constant = re.fullmatch(r"[\w-]+", group) or re.fullmatch(
        r"\$\{\{\s*github\.event_name == 'pull_request' && .+ \|\| '[\w-]+'\s*\}\}", group
    )
    if not constant:
        problems.append(f"pushes to main do not share one concurrency group: {group}")
    if cancel.lower() not in ("false", "${{ github.event_name == 'pull_request' }}"):
        problems.append(f"the concurrency group cancels in-progress applies: cancel-in-progress {cancel}")
    return problems


def github_identity_problems(environment: str, plan: dict, apply: dict) -> list[str]:
    """Plans run as a read-only identity (the `<env>-plan` GitHub environment's), applies as the
    deploying one (the `<env>` environment's): the same variable names, other environments."""
    problems = []
    environments = {
        job_name: (job.get("environment") or {}).get("name")
        if isinstance(job.get("environment"), dict)
        else job.get("environment")
        for job_name, job in ((f"plan-{environment}", plan), (f"apply-{environment}", apply))
    }
    if environments[f"plan-{environment}"] != f"{environment}-plan":
        problems.append(
            f"plan-{environment} runs with the deploying identity: its GitHub environment is "
            f"{environments[f'plan-{environment}']}, not {environment}-plan"
        )
    if environments[f"apply-{environment}"] != environment:
        problems.append(f"apply-{environment} does not run in the GitHub environment {environment}")
    for job_name, job in ((f"plan-{environment}", plan), (f"apply-{environment}", apply)):
        client_id = str(job.get("env", {}).get("ARM_CLIENT_ID", ""))
        if client_id != "${{ vars.AZURE_CLIENT_ID }}":
            problems.append(f"{job_name} does not take its identity from its environment's variables")
    return problems


def github_artifact_problems(name: str, plan: dict) -> list[str]:
    uploads = [
        step
        for step in plan.get("steps", [])
        if str(step.get("uses", "")).startswith("actions/upload-artifact@")
    ]
    if len(uploads) != 1:
        return [f"plan-{name} does not upload its plan"]
    settings = uploads[0].get("with", {})
    problems = []
    if LOCK_FILE not in str(settings.get("path", "")) or settings.get("include-hidden-files") is not True:
        problems.append(f"plan-{name}'s artifact leaves out the hidden {LOCK_FILE}")
    if int(settings.get("retention-days", 0)) < APPROVAL_DAYS:
        problems.append(
            f"plan-{name}'s artifact expires before an approval can time out ({APPROVAL_DAYS} days)"
        )
    return problems


def github_problems(workflow: dict) -> list[str]:
    problems = continues_on_error(workflow, "continue-on-error")
    text = yaml.safe_dump(workflow)
    problems += [f"mentions {word}" for word in SECRET_WORDS if word in text]
    if workflow.get("permissions", {}).get("id-token") != "write":
        problems.append("the workflow does not grant id-token: write (OIDC)")
    if str(workflow.get("env", {}).get("ARM_USE_OIDC")).lower() != "true":
        problems.append("ARM_USE_OIDC is not true")
    problems += github_concurrency_problems(workflow)
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
        if not any(re.search(r"terraform -chdir=infra plan .*-lock=false", run) for run in plan_runs):
            problems.append(f"plan-{environment} takes the state lock, which its read-only identity cannot")
        if any(re.search(r"terraform -chdir=infra apply", run) for run in plan_runs):
            problems.append(f"plan-{environment} applies")
        if not ordered(
            apply_runs,
            rf"init -input=false -lockfile=readonly .*"
            rf"-backend-config=environments/{environment}\.backend\.hcl",
            rf"apply -input=false {environment}\.tfplan$",
        ):
            problems.append(
                f"apply-{environment} does not apply the saved plan {environment}.tfplan "
                "with the plan's lock file (init -lockfile=readonly)"
            )
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
        problems += github_identity_problems(environment, plan, apply)
        problems += github_artifact_problems(environment, plan)
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


def test_github_plans_and_applies_use_different_identities(github_workflow):
    jobs = github_workflow["jobs"]
    for environment in naming.ENVIRONMENTS:
        plan, apply = jobs[f"plan-{environment}"], jobs[f"apply-{environment}"]
        # The same variable names resolve in different GitHub environments: two identities.
        assert plan["environment"] != apply["environment"]
        assert (plan["environment"], apply["environment"]) == (f"{environment}-plan", environment)


def github_broken(workflow: dict, how: str) -> dict:
    broken = copy.deepcopy(workflow)
    jobs = broken["jobs"]

    def upload(job: str) -> dict:
        return next(step for step in jobs[job]["steps"] if "upload-artifact" in step.get("uses", ""))["with"]

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
    elif how == "plan as deployer":
        jobs["plan-dev"]["environment"] = "dev"
    elif how == "plan takes the lock":
        for step in jobs["plan-test"]["steps"]:
            if "run" in step:
                step["run"] = step["run"].replace(" -lock=false", "")
    elif how == "lock file dropped":
        upload("plan-test").pop("include-hidden-files")
    elif how == "short retention":
        upload("plan-prod")["retention-days"] = 5
    elif how == "apply ignores the lock file":
        for step in jobs["apply-dev"]["steps"]:
            if "run" in step:
                step["run"] = step["run"].replace(" -lockfile=readonly", "")
    elif how == "per-branch group":
        broken["concurrency"]["group"] = "infra-${{ github.ref }}"
    elif how == "cancels applies":
        broken["concurrency"]["cancel-in-progress"] = True
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
        ("plan as deployer", "plan-dev runs with the deploying identity"),
        ("plan takes the lock", "plan-test takes the state lock"),
        ("lock file dropped", "plan-test's artifact leaves out the hidden infra/.terraform.lock.hcl"),
        ("short retention", "plan-prod's artifact expires before an approval"),
        (
            "apply ignores the lock file",
            "apply-dev does not apply the saved plan dev.tfplan with the plan's lock",
        ),
        ("per-branch group", "pushes to main do not share one concurrency group"),
        ("cancels applies", "cancels in-progress applies"),
    ],
)
def test_github_checks_catch_a_broken_workflow(github_workflow, how, problem):
    problems = github_problems(github_broken(github_workflow, how))
    assert any(problem in line for line in problems), problems


# Azure DevOps ---------------------------------------------------------------------------------

# What each AzureCLI@2 step must hand Terraform so that it requests a fresh federated token for the
# task's service connection whenever it needs one (a token issued once expires after 10 minutes).
OIDC_ENV = {
    "ARM_USE_OIDC": "true",
    "ARM_OIDC_REQUEST_URL": "$(System.OidcRequestUri)",
    "ARM_OIDC_REQUEST_TOKEN": "$(System.AccessToken)",
}
CONNECTION_ID = 'ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID="$AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"'
APPLY_CONDITION = "and(succeeded(), eq(variables.isMain, true))"


def azure_cli_steps(steps: list[dict]) -> list[dict]:
    return [step for step in steps if "inlineScript" in step.get("inputs", {})]


def azure_step_problems(stage_name: str, step: dict) -> list[str]:
    inputs, script = step["inputs"], step["inputs"]["inlineScript"]
    problems = []
    if step.get("task") != "AzureCLI@2" or not inputs.get("azureSubscription"):
        problems.append(f"stage {stage_name}: terraform runs outside AzureCLI@2 with a service connection")
    environment = step.get("env", {})
    if (
        any(str(environment.get(name)) != value for name, value in OIDC_ENV.items())
        or CONNECTION_ID not in script
    ):
        problems.append(
            f"stage {stage_name}: terraform does not request fresh federated tokens of the service "
            "connection (ARM_USE_OIDC, ARM_OIDC_REQUEST_URL/TOKEN, ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID)"
        )
    if "ARM_OIDC_TOKEN" in script or "idToken" in script:
        problems.append(f"stage {stage_name}: terraform is given one federated token, which expires")
    return problems


def azure_devops_problems(pipeline: dict) -> list[str]:
    problems = continues_on_error(pipeline, "continueOnError")
    text = yaml.safe_dump(pipeline)
    problems += [f"mentions {word}" for word in SECRET_WORDS if word in text]
    stages = {stage["stage"]: stage for stage in pipeline.get("stages", [])}
    expected = [f"{environment}_{part}" for environment in naming.ENVIRONMENTS for part in ("plan", "apply")]
    if list(stages) != expected:
        problems.append(f"stages are {list(stages)}, not {expected}")
    previous = None
    for environment in naming.ENVIRONMENTS:
        plan_stage, apply_stage = stages.get(f"{environment}_plan"), stages.get(f"{environment}_apply")
        if plan_stage is None or apply_stage is None:
            continue
        # Order: each plan waits for the previous environment's apply, or for its plan when that
        # apply was skipped (pull requests).
        if previous:
            depends = plan_stage.get("dependsOn")
            condition = " ".join(str(plan_stage.get("condition", "")).split())
            if set(depends if isinstance(depends, list) else [depends]) != {
                f"{previous}_plan",
                f"{previous}_apply",
            } or not (
                f"eq(dependencies.{previous}_plan.result, 'Succeeded')" in condition
                and f"in(dependencies.{previous}_apply.result, 'Succeeded', 'Skipped')" in condition
            ):
                problems.append(f"stage {environment}_plan does not wait for {previous}_apply")
        previous = environment
        plan_jobs = {job.get("job") or job.get("deployment"): job for job in plan_stage.get("jobs", [])}
        apply_jobs = {job.get("job") or job.get("deployment"): job for job in apply_stage.get("jobs", [])}
        plan, apply = plan_jobs.get("plan"), apply_jobs.get("apply")
        # An environment's approvals and checks run before the stage that deploys to it starts:
        # none may be in the plan stage, or reviewers approve before a plan exists.
        if any("deployment" in job or "environment" in job for job in plan_stage.get("jobs", [])):
            problems.append(
                f"stage {environment}_plan deploys to an environment: its approval would come first"
            )
        if plan is None or "deployment" in plan or set(plan_jobs) != {"plan"}:
            problems.append(f"stage {environment}_plan has not exactly one plan job")
            continue
        if apply is None or "deployment" not in apply or set(apply_jobs) != {"apply"}:
            problems.append(f"stage {environment}_apply has no apply deployment job")
            continue
        if (
            apply_stage.get("dependsOn") != f"{environment}_plan"
            or apply_stage.get("condition") != APPLY_CONDITION
        ):
            problems.append(f"stage {environment}_apply is not gated on main and a successful plan")
        if apply.get("environment") != environment:
            problems.append(f"stage {environment}_apply does not deploy to the environment {environment}")
        plan_steps = plan.get("steps", [])
        apply_steps = apply.get("strategy", {}).get("runOnce", {}).get("deploy", {}).get("steps", [])
        if not ordered(
            runs(plan_steps),
            r"terraform fmt -check -recursive infra",
            rf"make infra-scan INFRA_ENVIRONMENTS={environment}\b",
            rf"init .*-backend-config=environments/{environment}\.backend\.hcl",
            rf"plan .*-var-file=environments/{environment}\.tfvars\.json .*-out={environment}\.tfplan",
        ):
            problems.append(f"stage {environment}_plan does not run fmt, checkov, init and plan")
        plan_script, apply_script = "\n".join(runs(plan_steps)), "\n".join(runs(apply_steps)) + "\n"
        if not re.search(r"terraform -chdir=infra plan .*-lock=false", plan_script):
            problems.append(
                f"stage {environment}_plan takes the state lock, which its read-only identity cannot"
            )
        if re.search(r"terraform -chdir=infra apply", plan_script):
            problems.append(f"stage {environment}_plan applies")
        if not re.search(
            rf"init -input=false -lockfile=readonly .*\n(.*\n)*.*apply -input=false {environment}\.tfplan\n",
            apply_script,
        ):
            problems.append(
                f"stage {environment}_apply does not apply the saved plan {environment}.tfplan "
                "with the plan's lock file (init -lockfile=readonly)"
            )
        plan_clis, apply_clis = azure_cli_steps(plan_steps), azure_cli_steps(apply_steps)
        for step in plan_clis:
            problems += azure_step_problems(f"{environment}_plan", step)
            if (
                " plan " in step["inputs"]["inlineScript"]
                and step.get("env", {}).get("TF_VAR_principal_ids") != "$(PRINCIPAL_IDS)"
            ):
                problems.append(
                    f"stage {environment}_plan: principal_ids do not come from the variable group"
                )
        for step in apply_clis:
            problems += azure_step_problems(f"{environment}_apply", step)
        # Two identities: plans (pull requests included) with a read-only service connection.
        plan_connections = {step["inputs"].get("azureSubscription") for step in plan_clis}
        apply_connections = {step["inputs"].get("azureSubscription") for step in apply_clis}
        if plan_connections != {f"azure-taxi-{environment}-plan"}:
            problems.append(
                f"stage {environment}_plan plans with {sorted(map(str, plan_connections))}, not the "
                f"read-only service connection azure-taxi-{environment}-plan"
            )
        if apply_connections != {f"azure-taxi-{environment}"}:
            problems.append(f"stage {environment}_apply does not deploy with azure-taxi-{environment}")
    return problems


@pytest.fixture(scope="module")
def azure_pipeline() -> dict:
    return yaml.safe_load(AZURE_DEVOPS.read_text())


def test_azure_devops_pipeline_follows_every_rule(azure_pipeline):
    assert azure_devops_problems(azure_pipeline) == []


def test_azure_devops_prod_approval_comes_after_the_prod_plan(azure_pipeline):
    stages = {stage["stage"]: stage for stage in azure_pipeline["stages"]}
    apply = stages["prod_apply"]
    assert apply["dependsOn"] == "prod_plan"
    assert "eq(variables.isMain, true)" in apply["condition"]  # pull requests never reach the approval
    assert [job.get("environment") for job in apply["jobs"]] == ["prod"]
    # The only stage that uses the environment `prod`, whose approvals and checks gate the apply.
    using_prod = [
        name
        for name, stage in stages.items()
        if any(key == "environment" and value == "prod" for _path, key, value in walk(stage))
    ]
    assert using_prod == ["prod_apply"]


def test_azure_devops_plans_and_applies_use_different_service_connections(azure_pipeline):
    stages = {stage["stage"]: stage for stage in azure_pipeline["stages"]}
    for environment in naming.ENVIRONMENTS:
        plan_steps = stages[f"{environment}_plan"]["jobs"][0]["steps"]
        apply_steps = stages[f"{environment}_apply"]["jobs"][0]["strategy"]["runOnce"]["deploy"]["steps"]
        plan = {step["inputs"]["azureSubscription"] for step in azure_cli_steps(plan_steps)}
        apply = {step["inputs"]["azureSubscription"] for step in azure_cli_steps(apply_steps)}
        assert plan == {f"azure-taxi-{environment}-plan"} and apply == {f"azure-taxi-{environment}"}
        assert plan.isdisjoint(apply)


def azure_broken(pipeline: dict, how: str) -> dict:
    broken = copy.deepcopy(pipeline)
    stages = {stage["stage"]: stage for stage in broken["stages"]}

    def cli(stage: str) -> dict:
        job = stages[stage]["jobs"][0]
        steps = job.get("steps") or job["strategy"]["runOnce"]["deploy"]["steps"]
        return azure_cli_steps(steps)[0]

    if how == "continueOnError":
        stages["dev_plan"]["jobs"][0]["steps"][3]["continueOnError"] = True
    elif how == "no approval environment":
        stages["prod_apply"]["jobs"][0]["environment"] = "dev"
    elif how == "secret":
        step = cli("test_plan")
        step["inputs"]["inlineScript"] += 'export ARM_CLIENT_SECRET="$servicePrincipalKey"\n'
    elif how == "ungated apply":
        stages["prod_apply"]["condition"] = "always()"
    elif how == "out of order":
        stages["prod_plan"]["dependsOn"] = ["dev_plan", "dev_apply"]
    elif how == "ids in the file":
        cli("dev_plan")["env"]["TF_VAR_principal_ids"] = '{"pipeline": "0000"}'
    elif how == "one expiring token":
        step = cli("test_apply")
        step["env"] = {}
        step["inputs"]["addSpnToEnvironment"] = True
        step["inputs"]["inlineScript"] = step["inputs"]["inlineScript"].replace(
            CONNECTION_ID, 'ARM_USE_OIDC=true ARM_OIDC_TOKEN="$idToken"'
        )
    elif how == "approval before the plan":
        # The former layout: the deployment to `prod` in the same stage as prod's plan.
        stages["prod_plan"]["jobs"].append(stages["prod_apply"]["jobs"][0])
    elif how == "plan as deployer":
        cli("test_plan")["inputs"]["azureSubscription"] = "azure-taxi-test"
    elif how == "plan takes the lock":
        step = cli("prod_plan")
        step["inputs"]["inlineScript"] = step["inputs"]["inlineScript"].replace(" -lock=false", "")
    elif how == "apply ignores the lock file":
        step = cli("dev_apply")
        step["inputs"]["inlineScript"] = step["inputs"]["inlineScript"].replace(" -lockfile=readonly", "")
    return broken


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("continueOnError", "continueOnError at stages/0/jobs/0/steps/3"),
        ("no approval environment", "stage prod_apply does not deploy to the environment prod"),
        ("secret", "mentions ARM_CLIENT_SECRET"),
        ("ungated apply", "stage prod_apply is not gated"),
        ("out of order", "stage prod_plan does not wait for test_apply"),
        ("ids in the file", "stage dev_plan: principal_ids do not come from the variable group"),
        ("one expiring token", "stage test_apply: terraform does not request fresh federated tokens"),
        ("one expiring token", "stage test_apply: terraform is given one federated token, which expires"),
        ("approval before the plan", "stage prod_plan deploys to an environment"),
        ("plan as deployer", "not the read-only service connection azure-taxi-test-plan"),
        ("plan takes the lock", "stage prod_plan takes the state lock"),
        (
            "apply ignores the lock file",
            "stage dev_apply does not apply the saved plan dev.tfplan with the plan's",
        ),
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
