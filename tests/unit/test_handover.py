"""Week 12's handover (accelerator.handover): the runbook from what exists, the maturity assessment
scored again from evidence, the Migrate checklist; and design/runbook.yaml's validation."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from azure.ai.ml import Input, command
from azure.ai.ml._restclient.arm_ml_service.models import ScheduleListViewType
from azure.ai.ml.entities import (
    AlertNotification,
    BaselineDataRange,
    CronTrigger,
    DataDriftSignal,
    DataQualitySignal,
    JobSchedule,
    MonitorDefinition,
    MonitoringTarget,
    MonitorSchedule,
    ProductionData,
    RecurrencePattern,
    RecurrenceTrigger,
    ReferenceData,
    ServerlessSparkCompute,
)
from design_inputs import DESIGN, copy_design, edit, line_of, problems

from accelerator import design
from accelerator.design.maturity import maturity_model
from accelerator.handover import (
    CHECKS,
    Estate,
    build_runbook,
    checklist_markdown,
    describe_trigger,
    gather,
    migrate_checklist,
    owners,
    rescore,
    runbook_markdown,
)
from accelerator.handover.runbook import NO_PROCEDURE
from accelerator.local import LocalMLClient

REPO = DESIGN.parent


@pytest.fixture(scope="module")
def inputs() -> design.DesignInputs:
    return design.load_inputs(DESIGN)


def _monitor(enabled: bool) -> MonitorSchedule:
    production = ProductionData(
        input_data=Input(path="azureml:taxi-prod-inputs:1", type="uri_folder"),
        data_context="model_inputs",
        data_window=BaselineDataRange(lookback_window_size="P1D", lookback_window_offset="P0D"),
    )
    reference = ReferenceData(
        input_data=Input(path="azureml:taxi-trips:1", type="uri_folder"), data_context="training"
    )
    return MonitorSchedule(
        name="fares-monitor",
        trigger=RecurrenceTrigger(
            frequency="day",
            interval=1,
            schedule=RecurrencePattern(hours=[0], minutes=[0]),
            start_time="2030-01-01",
        ),
        create_monitor=MonitorDefinition(
            compute=ServerlessSparkCompute(instance_type="standard_e4s_v3", runtime_version="3.4"),
            monitoring_target=MonitoringTarget(
                ml_task="regression", endpoint_deployment_id="azureml:fares:blue"
            ),
            monitoring_signals={
                "drift": DataDriftSignal(
                    production_data=production, reference_data=reference, alert_enabled=True
                ),
                # Computed, but mails nobody: not an alert of the runbook.
                "quality": DataQualitySignal(
                    production_data=production, reference_data=reference, alert_enabled=False
                ),
            },
            alert_notification=AlertNotification(emails=["oncall@example.com"]),
        ),
        is_enabled=enabled,
    )


def _repo(tmp_path: Path) -> Path:
    """A repository with the project's event routes and workflows, and one workflow nobody owns."""
    repo = tmp_path / "repo"
    shutil.copytree(REPO / ".github", repo / ".github")
    (repo / "infra").mkdir()
    shutil.copy(REPO / "infra" / "event_subscriptions.yaml", repo / "infra")
    (repo / ".github" / "workflows" / "nightly-report.yml").write_text(
        "name: nightly report\non:\n  schedule:\n    - cron: '0 6 * * *'\njobs: {}\n"
    )
    return repo


class _Schedules:
    """A workspace's ``schedules`` as the runbook reads them: every schedule, disabled ones too."""

    def __init__(self, *schedules: object) -> None:
        self._schedules = list(schedules)

    def list(self, *, list_view_type: ScheduleListViewType) -> list[object]:
        assert list_view_type == ScheduleListViewType.ALL
        return self._schedules


def test_the_runbook_lists_what_exists_with_its_owners_and_gaps(
    inputs: design.DesignInputs, tmp_path: Path
) -> None:
    job = command(command="echo retrain", environment="azureml:taxi-train:1", compute="cpu-cluster")
    weekly = JobSchedule(
        name="weekly", trigger=CronTrigger(expression="0 3 * * 1"), create_job=job, is_enabled=True
    )
    prod = SimpleNamespace(
        workspace_name="mlw-fares-prod", schedules=_Schedules(_monitor(enabled=False), weekly)
    )
    entries = build_runbook(inputs, {"prod": prod}, _repo(tmp_path))
    by_name = {e.name: e for e in entries}

    monitor = by_name["fares-monitor"]
    assert (monitor.kind, monitor.enabled, monitor.runs) == ("schedule", False, "every day at 00:00 UTC")
    assert monitor.where == "prod (mlw-fares-prod)" and by_name["weekly"].enabled
    alert = by_name["fares-monitor/drift (data_drift)"]
    assert alert.kind == "alert" and alert.notify == ("oncall@example.com",)
    # The owners are the RACI's, as the people holding the roles (design/raci.yaml, team.yaml).
    assert alert.activity == "Monitor the model and service, trigger retraining"
    assert alert.accountable == "Jordan Lee (Project lead)"
    assert "Tom Becker (MLOps engineer)" in alert.responsible and "Priya Shah, Chen Wei" in alert.responsible
    assert alert.do and alert.when
    assert not any(name.startswith("fares-monitor/quality") for name in by_name)
    assert by_name["weekly"].runs == "cron 0 3 * * 1 (UTC)"
    assert by_name["weekly"].activity == "Build and run training pipelines"

    route = by_name["retrain-on-monitor-breach"]
    assert route.kind == "event" and "workloads.taxi_fare.retrain.handler.handle" in route.where
    assert route.runs == "on RunStatusChanged in prod"
    assert by_name["model-cd"].runs == "on push to main, by hand"
    assert by_name["model-cd"].accountable == "Sam Patel (Team lead)"
    # Found without a procedure: listed as a gap, never left out.
    report = by_name["nightly report"]
    assert not report.has_procedure and report.when == NO_PROCEDURE and report.runs == "on cron 0 6 * * *"
    text = runbook_markdown(entries)
    assert "**pipeline: nightly report**" in text and NO_PROCEDURE in text
    assert "Owner: Jordan Lee (Project lead)" in text and "Mails: oncall@example.com." in text


def test_the_runbook_refuses_a_folder_that_is_not_the_repository(inputs, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not the project's repository"):
        build_runbook(inputs, {}, tmp_path)


def test_triggers_in_words() -> None:
    weekly = RecurrenceTrigger(
        frequency="week",
        interval=2,
        schedule=RecurrencePattern(hours=[3], minutes=[30], week_days=["monday"]),
        time_zone="W. Europe Standard Time",
    )
    assert describe_trigger(weekly) == "every 2 weeks on monday at 03:30 W. Europe Standard Time"
    assert describe_trigger(RecurrenceTrigger(frequency="hour", interval=1)) == "every hour UTC"
    assert describe_trigger(CronTrigger(expression="*/5 * * * *")) == "cron */5 * * * * (UTC)"


def test_owners_of_an_unknown_activity(inputs) -> None:
    with pytest.raises(ValueError, match="no activity 'Water the plants'"):
        owners(inputs, "Water the plants")


def test_runbook_yaml_is_validated_against_the_raci(tmp_path: Path) -> None:
    folder = copy_design(tmp_path)
    edit(
        folder,
        "runbook.yaml",
        "  data_quality:\n    activity: Land data",
        "  data_quality:\n    activity: Land dat",
    )
    edit(folder, "runbook.yaml", "schedules:\n  job:", "schedules:\n  jobs:")
    edit(folder, "runbook.yaml", "signals:\n  data_drift:", "signals:\n  drift_of_data:")
    edit(folder, "runbook.yaml", "      - A failed lint", "      []\n      #")
    found = problems(folder)
    line = line_of(folder, "runbook.yaml", "activity: Land dat")
    assert (
        f"design/runbook.yaml:{line}: signals.data_quality.activity: unknown activity "
        "'Land dat and build ingestion pipelines': not an activity of raci.yaml"
    ) in found
    line = line_of(folder, "runbook.yaml", "jobs:")
    assert (
        f"design/runbook.yaml:{line}: schedules.jobs: unknown schedule kind jobs: "
        "use job (JobSchedule) or monitor (MonitorSchedule)"
    ) in found
    assert any(
        "signals.drift_of_data: unknown signal type drift_of_data: use one of custom, data_drift" in p
        for p in found
    )
    line = line_of(folder, "runbook.yaml", "do:", after="model-ci.yml")
    assert (
        f"design/runbook.yaml:{line}: pipelines.model-ci.yml.do: List should have at least 1 item"
        in "\n".join(found)
    )
    assert len(found) == 4, found


def _bare_estate(client: LocalMLClient, inputs: design.DesignInputs, repo: Path) -> Estate:
    return Estate(
        inputs=inputs,
        repo=repo,
        dev=client,
        test=client,
        prod=client,
        registry=None,
        model_name="taxi-fare",
        data_name="taxi-trips",
        prod_endpoint="taxi-fare-prod",
    )


def test_nothing_built_yet_scores_no_practice(ml_client: LocalMLClient, inputs, tmp_path: Path) -> None:
    """An empty workspace and an empty repository: no practice is in place, every finding says what
    it looked for, the level after is 0 beside week 2's answers, and no checklist item is ticked."""
    empty = tmp_path / "empty"
    (empty / ".github" / "workflows").mkdir(parents=True)
    findings = gather(_bare_estate(ml_client, inputs, empty))
    assert [f.practice_id for f in findings] == [p.id for p in maturity_model().practices]
    in_place = {f.practice_id for f in findings if f.in_place}
    # Only the design's own people practices could show; their evidence needs what the repo lacks.
    assert in_place == set(), in_place
    assert all(f.evidence for f in findings)
    before, after = rescore(inputs, findings)
    # Week 2's answers (design/maturity.yaml): level 1 in every dimension.
    assert before.level == 1 and [d.level for d in before.dimensions] == [1, 1, 1, 1]
    assert after.level == 0 and after.target_level == before.target_level
    assert [d.level for d in after.dimensions] == [0, 0, 0, 0]
    items = migrate_checklist(findings, [])
    assert not any(i.done for i in items)
    text = checklist_markdown(items)
    assert text.count("- [ ] ") == len(items)
    assert "[Training data lands in dev as a versioned data asset](07_land_and_version_data.ipynb)" in text


def test_every_practice_needs_a_check(ml_client: LocalMLClient, inputs, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delitem(CHECKS, "safe_rollout")
    with pytest.raises(LookupError, match="no evidence check for safe_rollout"):
        gather(_bare_estate(ml_client, inputs, tmp_path))


def test_the_repository_alone_shows_its_practices(ml_client: LocalMLClient, inputs) -> None:
    """The project's own repository, against an empty workspace: what the repo and the design show
    is found (CI/CD files, tests, event routes, owners), what only a workspace can show is not."""
    findings = {f.practice_id: f for f in gather(_bare_estate(ml_client, inputs, REPO))}
    for practice in ("repeatable_release", "cicd_release", "release_tests_without_ds", "app_unit_tests"):
        assert findings[practice].in_place, findings[practice]
    assert "dev → test → prod" in findings["cicd_release"].evidence
    assert findings["model_integration_tests"].in_place
    for practice in (
        "production_monitoring",
        "low_friction_release",
        "deployment_traceability",
        "managed_compute",
    ):
        assert not findings[practice].in_place, findings[practice]
    assert (
        findings["deployment_traceability"].evidence == "prod serves nothing: not traced through the registry"
    )
    # A dimension stands on its lowest level: the release dimension has nothing served yet.
    _, after = rescore(inputs, list(findings.values()))
    assert after.level == 0
