"""Week 2's maturity assessment scored again, from evidence instead of answers.

Each practice of the maturity model (``accelerator/design/data/maturity_model.yaml``) has a check
that looks for what would show it is in place: in the workspaces (pipelines with a gate, models
traced to their runs, registry promotion, monitors, retraining schedules), in the repository
(CI/CD workflows, tests, event routes) and in the design (the RACI's owners are people). A check
that finds nothing says what it looked for. ``rescore`` puts the week 2 answers and the evidence
through the same scoring (``accelerator.design.maturity.assess``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from azure.ai.ml._restclient.arm_ml_service.models import ScheduleListViewType
from azure.ai.ml.entities import JobSchedule, MonitorSchedule
from azure.core.exceptions import ResourceNotFoundError

from accelerator.design.inputs import DesignInputs
from accelerator.design.maturity import MaturityAssessment, assess, maturity_model
from accelerator.events import BREACH_TAG, RETRAINED_ON_BREACH, RETRAINING_TAG, load_subscriptions
from accelerator.handover._workflows import load_workflow, triggers

REGISTRY_PREFIX = "azureml://registries/"
SOURCE_ASSET = "azureml.sourceAssetId"  # where a shared model keeps its workspace origin


@dataclass(frozen=True)
class Finding:
    practice_id: str
    in_place: bool
    evidence: str


class Estate:
    """What the evidence is read from: the design, the repository, the workspaces and the registry,
    and the names of the workload taken across them."""

    def __init__(
        self,
        *,
        inputs: DesignInputs,
        repo: str | Path,
        dev: Any,
        test: Any,
        prod: Any,
        registry: Any | None,
        model_name: str,
        data_name: str,
        prod_endpoint: str,
        gate_step: str = "evaluate",
    ) -> None:
        self.inputs, self.repo = inputs, Path(repo)
        self.dev, self.test, self.prod, self.registry = dev, test, prod, registry
        self.model_name, self.data_name = model_name, data_name
        self.prod_endpoint, self.gate_step = prod_endpoint, gate_step

    # What the checks share, read once.
    @cached_property
    def dev_jobs(self) -> list[Any]:
        return list(self.dev.jobs.list())

    @cached_property
    def dev_models(self) -> list[Any]:
        try:
            return list(self.dev.models.list(name=self.model_name))
        except ResourceNotFoundError:
            return []

    def schedules(self, client: Any) -> list[Any]:
        return list(client.schedules.list(list_view_type=ScheduleListViewType.ALL))

    @cached_property
    def prod_deployment(self) -> Any | None:
        try:
            endpoint = self.prod.online_endpoints.get(self.prod_endpoint)
        except ResourceNotFoundError:
            return None
        live = [name for name, share in (endpoint.traffic or {}).items() if share]
        if not live:
            return None
        return self.prod.online_deployments.get(
            max(live, key=lambda n: endpoint.traffic[n]), self.prod_endpoint
        )

    def workflow(self, name: str) -> dict[str, Any] | None:
        return load_workflow(self.repo / ".github" / "workflows" / name)

    def workflow_text(self, name: str) -> str:
        path = self.repo / ".github" / "workflows" / name
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    def raci_holds(self, activity: str, letters: dict[str, str]) -> tuple[bool, str]:
        """Whether ``activity`` gives each role its letter (R, A, C or I, contained in the role's) and
        someone holds it; with the people, or what is missing."""
        found = self.inputs.raci.find(activity)
        if found is None:
            return False, f"raci.yaml has no activity '{activity}'"
        held, missing = [], []
        for role, letter in letters.items():
            people = self.inputs.team.holders(role)
            given = found.roles.get(role, "")
            if letter not in given or not people:
                missing.append(f"{role} {letter}" + ("" if people else " (nobody holds it)"))
            else:
                held.append(f"{', '.join(people)} ({role}, {given})")
        if missing:
            return False, f"'{activity}' lacks {', '.join(missing)}"
        return True, f"'{activity}': {'; '.join(held)}"


Check = Callable[[Estate], tuple[bool, str]]
CHECKS: dict[str, Check] = {}


def check(practice_id: str) -> Callable[[Check], Check]:
    def register(function: Check) -> Check:
        CHECKS[practice_id] = function
        return function

    return register


def _both(*parts: tuple[bool, str]) -> tuple[bool, str]:
    return all(ok for ok, _ in parts), "; ".join(text for _, text in parts)


# People


@check("devops_releases")
def _devops_releases(estate: Estate) -> tuple[bool, str]:
    infra = estate.workflow("infra.yml")
    return _both(
        (
            infra is not None,
            ".github/workflows/infra.yml deploys the infrastructure" if infra else "no infra.yml",
        ),
        estate.raci_holds(
            "Deploy the workspaces as infrastructure as code",
            {"infrastructure_engineer": "R", "devops_engineer": "R"},
        ),
    )


@check("ds_with_data_engineers")
def _ds_with_data_engineers(estate: Estate) -> tuple[bool, str]:
    pipelines = [j for j in estate.dev_jobs if j.type == "pipeline" and j.status == "Completed"]
    return _both(
        estate.raci_holds("Build and run training pipelines", {"data_scientist": "R", "data_engineer": "C"}),
        (bool(pipelines), f"{len(pipelines)} completed pipeline jobs in dev"),
    )


@check("engineers_automate_integration")
def _engineers_automate_integration(estate: Estate) -> tuple[bool, str]:
    tests = sorted(estate.repo.glob("notebooks/workloads/*/tests/test_acceptance.py"))
    return _both(
        estate.raci_holds(
            "Integrate the model into applications", {"application_developer": "R", "mlops_engineer": "C"}
        ),
        (
            bool(tests),
            f"acceptance tests: {', '.join(str(t.relative_to(estate.repo)) for t in tests) or 'none'}",
        ),
    )


@check("one_team_in_production")
def _one_team_in_production(estate: Estate) -> tuple[bool, str]:
    monitors = [s for s in estate.schedules(estate.prod) if isinstance(s, MonitorSchedule)]
    mailed = sorted(
        {
            e
            for m in monitors
            if m.create_monitor.alert_notification
            for e in m.create_monitor.alert_notification.emails or []
        }
    )
    return _both(
        estate.raci_holds(
            "Monitor the model and service, trigger retraining",
            {"data_scientist": "R", "mlops_engineer": "R"},
        ),
        (bool(mailed), f"prod's alerts mail {', '.join(mailed) or 'nobody'}"),
    )


# Model creation


@check("automated_data_pipeline")
def _automated_data_pipeline(estate: Estate) -> tuple[bool, str]:
    try:
        versions = sorted(int(d.version) for d in estate.dev.data.list(name=estate.data_name))
    except ResourceNotFoundError:
        versions = []
    return bool(versions), f"{estate.data_name} in dev: versions {versions or 'none'}"


@check("managed_compute")
def _managed_compute(estate: Estate) -> tuple[bool, str]:
    clusters = {c.name for c in estate.dev.compute.list() if c.type == "amlcompute"}
    on_clusters = [j for j in estate.dev_jobs if getattr(j, "compute", None) in clusters]
    return bool(
        on_clusters
    ), f"{len(on_clusters)} dev jobs ran on {', '.join(sorted(clusters)) or 'no cluster'}"


@check("tracked_experiments")
def _tracked_experiments(estate: Estate) -> tuple[bool, str]:
    import mlflow

    uri = estate.dev.workspaces.get(estate.dev.workspace_name).mlflow_tracking_uri
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiments = client.search_experiments()
    runs = client.search_runs([e.experiment_id for e in experiments], max_results=1000) if experiments else []
    measured = [r for r in runs if r.data.metrics]
    return bool(measured), f"{len(measured)} runs with metrics in {len(experiments)} experiments in dev"


@check("versioned_code_and_models")
def _versioned_code_and_models(estate: Estate) -> tuple[bool, str]:
    models = estate.dev_models
    traced = [m for m in models if getattr(m, "job_name", None)]
    under_git = (estate.repo / ".git").exists()
    return _both(
        (under_git, "the repository is under git" if under_git else "the repository is not under git"),
        (
            bool(models) and len(traced) == len(models),
            f"{len(traced)} of {len(models)} versions of {estate.model_name} name the job that made them",
        ),
    )


@check("pipeline_training")
def _pipeline_training(estate: Estate) -> tuple[bool, str]:
    gated = [
        j
        for j in estate.dev_jobs
        if j.type == "pipeline"
        and j.status == "Completed"
        and estate.gate_step in (getattr(j, "jobs", None) or {})
    ]
    on = triggers(estate.workflow("model-ci.yml") or {})
    started = "pull_request" in on or "push" in on
    return _both(
        (bool(gated), f"{len(gated)} completed pipeline jobs in dev with the '{estate.gate_step}' gate"),
        (started, "model-ci.yml runs on code changes" if started else "no CI workflow runs on code changes"),
    )


@check("automatic_retraining")
def _automatic_retraining(estate: Estate) -> tuple[bool, str]:
    scheduled = [s.name for s in estate.schedules(estate.dev) if isinstance(s, JobSchedule)]
    routes = [
        s["name"]
        for s in load_subscriptions(estate.repo / "infra" / "event_subscriptions.yaml")
        if any(BREACH_TAG in str(f.get("key", "")) for f in s.get("advanced_filters") or [])
    ]
    started = [j.name for j in estate.dev_jobs if (j.tags or {}).get(RETRAINING_TAG) == RETRAINED_ON_BREACH]
    return _both(
        (bool(scheduled), f"retraining schedules in dev: {', '.join(scheduled) or 'none'}"),
        (
            bool(routes),
            f"breach routes: {', '.join(routes) or 'none'} ({len(started)} retrainings started by a breach)",
        ),
    )


# Model release


@check("repeatable_release")
def _repeatable_release(estate: Estate) -> tuple[bool, str]:
    cd = estate.workflow("model-cd.yml")
    jobs = list((cd or {}).get("jobs") or {})
    return bool(jobs), f"model-cd.yml: {' → '.join(jobs)}" if jobs else "no model-cd.yml"


@check("versioned_scoring")
def _versioned_scoring(estate: Estate) -> tuple[bool, str]:
    deployment = estate.prod_deployment
    script = getattr(getattr(deployment, "code_configuration", None), "scoring_script", None)
    if not script:
        return False, f"no live deployment on {estate.prod_endpoint} with a scoring script"
    name = Path(script).name
    found = sorted(estate.repo.glob(f"notebooks/workloads/*/*/{name}"))
    # The script's own test module, as the project names them (tests/workloads/test_score.py).
    tested = sorted(estate.repo.glob(f"tests/**/test_{Path(name).stem}.py"))
    places = ", ".join(str(f.relative_to(estate.repo)) for f in found)
    return _both(
        (bool(found), f"prod's {name}: {places or 'not in the repository'}"),
        (
            bool(tested),
            f"tested by {', '.join(str(t.relative_to(estate.repo)) for t in tested) or 'no test'}",
        ),
    )


def _prod_model(estate: Estate) -> str:
    deployment = estate.prod_deployment
    return str(getattr(deployment, "model", "") or "")


@check("low_friction_release")
def _low_friction_release(estate: Estate) -> tuple[bool, str]:
    model = _prod_model(estate)
    from_registry = model.startswith(REGISTRY_PREFIX)
    return from_registry, f"prod serves {model or 'nothing'}" + (
        ", the registry's copy" if from_registry else ""
    )


@check("cicd_release")
def _cicd_release(estate: Estate) -> tuple[bool, str]:
    jobs = (estate.workflow("model-cd.yml") or {}).get("jobs") or {}
    environments = [str(j.get("environment", "")) for j in jobs.values() if isinstance(j, dict)]
    ordered = environments[-3:] == ["dev", "test", "prod"] or environments[-2:] == ["test", "prod"]
    return ordered, f"model-cd.yml's environments: {' → '.join(e for e in environments if e) or 'none'}" + (
        " (prod waits for its required reviewers)" if ordered else ""
    )


@check("deployment_traceability")
def _deployment_traceability(estate: Estate) -> tuple[bool, str]:
    model = _prod_model(estate)
    if not model.startswith(REGISTRY_PREFIX) or estate.registry is None:
        return False, f"prod serves {model or 'nothing'}: not traced through the registry"
    parts = model.split("/")  # azureml://registries/<r>/models/<name>/versions/<v>
    shared = estate.registry.models.get(parts[-3], version=parts[-1])
    source = (shared.properties or {}).get(SOURCE_ASSET, "")
    if "/models/" not in source:
        return False, f"{parts[-3]}:{parts[-1]} in the registry does not name its source"
    name, version = source.rstrip("/").split("/")[-3], source.rstrip("/").split("/")[-1]
    origin = estate.dev.models.get(name, version=version)
    job = getattr(origin, "job_name", None)
    if not job:
        return False, f"dev's {name}:{version} names no job"
    run = estate.dev.jobs.get(job)
    return (
        True,
        f"prod → registry {parts[-3]}:{parts[-1]} → dev {name}:{version} → its job ({run.status})",
    )


@check("safe_rollout")
def _safe_rollout(estate: Estate) -> tuple[bool, str]:
    try:
        deployments = [d.name for d in estate.prod.online_deployments.list(estate.prod_endpoint)]
    except ResourceNotFoundError:
        deployments = []
    rollout = sorted(estate.repo.glob("notebooks/workloads/*/deploy/rollout.py"))
    blue_green = len(deployments) >= 2 or bool(rollout)
    return blue_green, (
        f"prod's deployments: {', '.join(deployments) or 'none'}; "
        f"blue/green rollout: {', '.join(str(r.relative_to(estate.repo)) for r in rollout) or 'none'}"
    )


# Application integration


@check("app_unit_tests")
def _app_unit_tests(estate: Estate) -> tuple[bool, str]:
    tests = sorted(estate.repo.glob("tests/workloads/test_*.py"))
    in_ci = "pytest" in estate.workflow_text("model-ci.yml")
    return _both(
        (bool(tests), f"{len(tests)} unit test files for the workload"),
        (in_ci, "model-ci.yml runs them" if in_ci else "no CI runs them"),
    )


@check("model_integration_tests")
def _model_integration_tests(estate: Estate) -> tuple[bool, str]:
    # The acceptance tests take the endpoint's scoring URI and key: they test the model as the
    # application calls it (notebook 11 and the CD pipeline run them on each release).
    tests = sorted(estate.repo.glob("notebooks/workloads/*/tests/test_acceptance.py"))
    calls = [
        t for t in tests if "def test_" in (text := t.read_text(encoding="utf-8")) and "endpoint" in text
    ]
    return bool(calls), f"{len(calls)} acceptance test files call the deployed endpoint"


@check("release_tests_without_ds")
def _release_tests_without_ds(estate: Estate) -> tuple[bool, str]:
    text = estate.workflow_text("model-cd.yml")
    automatic = (
        "stage test" in text and "stage prod" in text and text.index("stage test") < text.index("stage prod")
    )
    return automatic, (
        "model-cd.yml runs the acceptance tests in test before prod"
        if automatic
        else "no release runs the tests"
    )


@check("production_monitoring")
def _production_monitoring(estate: Estate) -> tuple[bool, str]:
    monitors = [s for s in estate.schedules(estate.prod) if isinstance(s, MonitorSchedule)]
    on_endpoint = [
        m
        for m in monitors
        if estate.prod_endpoint
        in str(getattr(m.create_monitor.monitoring_target, "endpoint_deployment_id", ""))
    ]
    runs = [
        j for m in on_endpoint for j in estate.prod.jobs.list() if (j.name or "").startswith(m.name + "-")
    ]
    return bool(on_endpoint) and bool(runs), (
        f"monitors on {estate.prod_endpoint}: {', '.join(m.name for m in on_endpoint) or 'none'}; "
        f"{len(runs)} runs"
    )


def gather(estate: Estate) -> list[Finding]:
    """A finding per practice of the maturity model, in the model's order."""
    missing = [p.id for p in maturity_model().practices if p.id not in CHECKS]
    if missing:  # a practice added to the model needs its evidence
        raise LookupError(f"no evidence check for {', '.join(missing)}")
    findings = []
    for practice in maturity_model().practices:
        try:
            in_place, evidence = CHECKS[practice.id](estate)
        except ResourceNotFoundError as error:  # what the check followed is gone: not in place
            in_place, evidence = False, f"not found: {str(error).splitlines()[0]}"
        findings.append(Finding(practice.id, in_place, evidence))
    return findings


def rescore(inputs: DesignInputs, findings: list[Finding]) -> tuple[MaturityAssessment, MaturityAssessment]:
    """(week 2's assessment from the team's answers, today's from the evidence), same target."""
    target = inputs.maturity.target_level
    before = assess(dict(inputs.maturity.answers), target)
    after = assess({f.practice_id: f.in_place for f in findings}, target)
    return before, after
