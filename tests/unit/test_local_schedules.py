"""``ml_client.schedules`` on the local backend: the lifecycle, trigger, macros, refusals, and the
detached scheduler (start, fire on time, at most once, restart after kill -9, gone when none is enabled)."""

# No `from __future__ import annotations`: dsl.pipeline reads the parameter annotations as types.

import datetime as dt
import importlib.machinery
import os
import signal
import sys
import time
import types
from pathlib import Path

import pytest
from azure.ai.ml import Input, Output, command, dsl
from azure.ai.ml._restclient.arm_ml_service.models import ScheduleListViewType
from azure.ai.ml.entities import (
    AlertNotification,
    BaselineDataRange,
    CategoricalDriftMetrics,
    CronTrigger,
    DataDriftMetricThreshold,
    DataDriftSignal,
    JobSchedule,
    MonitorDefinition,
    MonitoringTarget,
    MonitorSchedule,
    NumericalDriftMetrics,
    ProductionData,
    RecurrenceTrigger,
    ReferenceData,
    ServerlessSparkCompute,
)
from azure.ai.ml.exceptions import ValidationException
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from accelerator.local import LocalMLClient
from accelerator.local._exceptions import LocalBackendUnsupportedError
from accelerator.local._scheduling import _fire, _scheduler
from accelerator.local._scheduling._records import ScheduleRecords
from accelerator.local._scheduling._scheduler import claim

pytestmark = pytest.mark.usefixtures("no_stray_processes")

ENVIRONMENT = "azureml:taxi-train:1"  # registered by the jobs_client fixture
ECHO = """\
import pathlib, sys
pathlib.Path(sys.argv[2], "when.txt").write_text(sys.argv[1])
print("as of", sys.argv[1])
"""


@pytest.fixture
def client(jobs_client: LocalMLClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The dev workspace, a fast-polling scheduler, and no scheduler left when the test ends."""
    monkeypatch.setenv(_scheduler.POLL_VARIABLE, "0.2")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "echo.py").write_text(ECHO)
    yield jobs_client
    _scheduler.stop(jobs_client.home)


def pipeline(folder: Path):
    step = command(
        code=str(folder / "src"),
        command="python echo.py '${{inputs.when}}' ${{outputs.out}}",
        environment=ENVIRONMENT,
        inputs={"when": Input(type="string")},
        outputs={"out": Output(type="uri_folder")},
    )

    @dsl.pipeline(compute="cpu-cluster")
    def as_of(when: str) -> dict:
        echoed = step(when=when)
        return {"out": echoed.outputs.out}

    job = as_of(when="${{creation_context.trigger_time}}")
    job.outputs.out = Output(
        type="uri_folder", path="azureml://datastores/workspaceblobstore/paths/scheduled/${{name}}/"
    )
    return job


def wait_for(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def scheduled_jobs(client: LocalMLClient, schedule: str) -> list[str]:
    return sorted(j.name for j in client.jobs.list() if (j.tags or {}).get(_fire.SCHEDULE_TAG) == schedule)


def test_lifecycle_list_views_and_delete_refused_while_enabled(client: LocalMLClient, tmp_path: Path) -> None:
    schedule = JobSchedule(
        name="nightly", trigger=CronTrigger(expression="0 2 * * *"), create_job=pipeline(tmp_path)
    )
    created = client.schedules.begin_create_or_update(schedule).result()
    assert isinstance(created, JobSchedule)
    assert created.is_enabled
    assert created.trigger.expression == "0 2 * * *"
    assert list(created.create_job.jobs) == ["echoed"]
    assert created.creation_context.created_at is not None  # (the SDK gives a JobSchedule no id)
    assert _scheduler.state(client.home) is not None  # the first enabled schedule starts the scheduler

    assert [s.name for s in client.schedules.list()] == ["nightly"]
    with pytest.raises(HttpResponseError, match=r"is enabled and cannot be deleted\. Disable it first"):
        client.schedules.begin_delete("nightly")
    assert client.schedules.get("nightly").is_enabled  # still there

    disabled = client.schedules.begin_disable("nightly").result()
    assert not disabled.is_enabled
    assert [s.name for s in client.schedules.list()] == []  # enabled only, by default
    assert [s.name for s in client.schedules.list(list_view_type=ScheduleListViewType.ALL)] == ["nightly"]
    assert [s.name for s in client.schedules.list(list_view_type=ScheduleListViewType.DISABLED_ONLY)] == [
        "nightly"
    ]
    # No schedule enabled: the scheduler leaves by itself.
    assert wait_for(lambda: _scheduler.state(client.home) is None, 15)

    assert client.schedules.begin_enable("nightly").result().is_enabled
    assert _scheduler.state(client.home) is not None
    client.schedules.begin_disable("nightly").result()
    client.schedules.begin_delete("nightly").result()
    with pytest.raises(ResourceNotFoundError, match="Schedule 'nightly' was not found"):
        client.schedules.get("nightly")
    assert wait_for(lambda: _scheduler.state(client.home) is None, 15)


def test_trigger_runs_the_pipeline_as_of_its_time_with_the_macros(
    client: LocalMLClient, tmp_path: Path
) -> None:
    schedule = JobSchedule(
        name="daily-train",
        trigger=RecurrenceTrigger(frequency="day", interval=1, start_time="2030-01-01T02:00:00"),
        create_job=pipeline(tmp_path),
        is_enabled=False,  # trigger needs no running scheduler
    )
    client.schedules.begin_create_or_update(schedule).result()
    result = client.schedules.trigger("daily-train", schedule_time="2026-01-14T02:00:00")
    assert result.job_name == "daily-train-20260114T020000Z"
    assert result.schedule_action_type == "CreateJob"
    client.jobs.stream(result.job_name)
    job = client.jobs.get(result.job_name)
    assert job.status == "Completed"
    assert job.tags[_fire.SCHEDULE_TAG] == "daily-train"
    assert job.properties[_fire.TRIGGER_TIME_PROPERTY] == "2026-01-14T02:00:00Z"
    # ${{name}} in the output path is the job's name; ${{creation_context.trigger_time}} the trigger time.
    assert job.outputs["out"].path.rstrip("/").endswith("/paths/scheduled/daily-train-20260114T020000Z")
    client.jobs.download(result.job_name, output_name="out", download_path=tmp_path / "got")
    assert (tmp_path / "got" / "named-outputs" / "out" / "when.txt").read_text() == "2026-01-14T02:00:00Z"
    # The same trigger time twice would start the same job twice: refused.
    with pytest.raises(HttpResponseError, match="already triggered"):
        client.schedules.trigger("daily-train", schedule_time="2026-01-14T02:00:00")
    # A time with an offset is converted to UTC for the name.
    again = client.schedules.trigger("daily-train", schedule_time="2026-01-15T03:00:00+01:00")
    assert again.job_name == "daily-train-20260115T020000Z"
    client.jobs.begin_cancel(again.job_name).result()


def test_bad_schedules_are_refused_and_nothing_is_written(client: LocalMLClient, tmp_path: Path) -> None:
    job = pipeline(tmp_path)
    with pytest.raises(ValidationException, match="Invalid schedule name"):
        client.schedules.begin_create_or_update(
            JobSchedule(name="../escape", trigger=CronTrigger(expression="0 2 * * *"), create_job=job)
        )
    with pytest.raises(ValidationException, match="Invalid time zone"):
        client.schedules.begin_create_or_update(
            JobSchedule(
                name="zoned",
                trigger=CronTrigger(expression="0 2 * * *", time_zone="Atlantis Time"),
                create_job=job,
            )
        )
    with pytest.raises(ValidationException, match="Invalid cron expression"):
        client.schedules.begin_create_or_update(
            JobSchedule(name="cron", trigger=CronTrigger(expression="0 25 * * *"), create_job=job)
        )
    with pytest.raises(ValidationException, match="a JobSchedule runs a PipelineJob"):
        single = command(command="echo hi", environment=ENVIRONMENT, compute="cpu-cluster")
        client.schedules.begin_create_or_update(
            JobSchedule(name="single", trigger=CronTrigger(expression="0 2 * * *"), create_job=single)
        )
    with pytest.raises(ResourceNotFoundError):
        client.schedules.trigger("never-created")
    assert list(client.schedules.list(list_view_type=ScheduleListViewType.ALL)) == []
    assert not (client._scope.require_workspace() / "schedules").exists() or not any(
        p for p in (client._scope.require_workspace() / "schedules").iterdir() if not p.name.startswith(".")
    )
    assert _scheduler.state(client.home) is None  # nothing enabled, nothing started


def monitor_schedule(enabled: bool = False) -> MonitorSchedule:
    drift = DataDriftSignal(
        production_data=ProductionData(
            input_data=Input(path="azureml:taxi-prod-inputs:1", type="uri_folder"),
            data_context="model_inputs",
            data_window=BaselineDataRange(lookback_window_size="P1D", lookback_window_offset="P0D"),
        ),
        reference_data=ReferenceData(
            input_data=Input(path="azureml:taxi-trips:1", type="uri_folder"), data_context="training"
        ),
        metric_thresholds=DataDriftMetricThreshold(
            numerical=NumericalDriftMetrics(normalized_wasserstein_distance=0.1),
            categorical=CategoricalDriftMetrics(jensen_shannon_distance=0.1),
        ),
    )
    return MonitorSchedule(
        name="taxi-prod-monitor",
        trigger=RecurrenceTrigger(frequency="day", interval=1, start_time="2030-01-01T03:00:00"),
        create_monitor=MonitorDefinition(
            compute=ServerlessSparkCompute(instance_type="standard_e4s_v3", runtime_version="3.4"),
            monitoring_target=MonitoringTarget(
                ml_task="regression", endpoint_deployment_id="azureml:taxi:blue"
            ),
            monitoring_signals={"fare-drift": drift},
            alert_notification=AlertNotification(emails=["ml-team@example.com"]),
        ),
        is_enabled=enabled,
    )


def test_monitor_schedules_round_trip_and_hand_their_runs_to_the_monitoring_module(
    client: LocalMLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def submit_monitor_run(ml_client, schedule, trigger_time, job_name):
        calls.append((ml_client, schedule, trigger_time, job_name))
        return types.SimpleNamespace(name=job_name)

    fake = types.ModuleType(_fire.MONITORING_MODULE)
    fake.__spec__ = importlib.machinery.ModuleSpec(_fire.MONITORING_MODULE, None)
    fake.submit_monitor_run = submit_monitor_run
    monkeypatch.setitem(sys.modules, _fire.MONITORING_MODULE, fake)

    client.schedules.begin_create_or_update(monitor_schedule()).result()
    got = client.schedules.get("taxi-prod-monitor")
    assert isinstance(got, MonitorSchedule)
    assert got.create_monitor.monitoring_target.endpoint_deployment_id == "azureml:taxi:blue"
    assert list(got.create_monitor.monitoring_signals) == ["fare-drift"]
    assert got.create_monitor.alert_notification.emails == ["ml-team@example.com"]

    result = client.schedules.trigger("taxi-prod-monitor", schedule_time="2026-02-03T03:00:00")
    assert result.job_name == "taxi-prod-monitor-20260203T030000Z"
    assert result.schedule_action_type == "CreateMonitor"
    ((ml_client, schedule, trigger_time, job_name),) = calls
    assert ml_client is client and isinstance(schedule, MonitorSchedule)
    assert trigger_time == dt.datetime(2026, 2, 3, 3, 0, tzinfo=dt.timezone.utc)
    assert job_name == result.job_name

    # Without the monitoring module, a monitor run is refused by name (the schedule itself is kept).
    monkeypatch.setattr(_fire, "MONITORING_MODULE", "accelerator.local._no_monitoring_here")
    with pytest.raises(LocalBackendUnsupportedError, match="MonitorSchedule runs"):
        client.schedules.trigger("taxi-prod-monitor", schedule_time="2026-02-04T03:00:00")


def test_a_due_time_far_in_the_past_is_skipped_not_back_filled(client: LocalMLClient, tmp_path: Path) -> None:
    schedule = JobSchedule(
        name="hourly",
        trigger=RecurrenceTrigger(frequency="hour", interval=1, start_time="2026-01-01T00:00:00+00:00"),
        create_job=pipeline(tmp_path),
        is_enabled=False,
    )
    client.schedules.begin_create_or_update(schedule).result()
    workspace = client._scope.require_workspace()
    records = ScheduleRecords(workspace)
    now = dt.datetime.now(dt.timezone.utc)
    with records.lock("hourly"):
        record = records.get("hourly")
        record.update(is_enabled=True, next_due=(now - dt.timedelta(minutes=30)).isoformat())
        records.put(record)
    assert claim(workspace, "hourly", now) is None
    record = records.get("hourly")
    assert record["missed"] == 1
    assert now < dt.datetime.fromisoformat(record["next_due"]) <= now + dt.timedelta(hours=1)
    # A due time just passed is claimed once: the second claim finds the next due time in the future.
    with records.lock("hourly"):
        record["next_due"] = (now - dt.timedelta(seconds=5)).replace(microsecond=0).isoformat()
        records.put(record)
    claimed = claim(workspace, "hourly", now)
    assert claimed is not None
    assert claim(workspace, "hourly", now) is None


def test_the_scheduler_fires_on_time_once_survives_kill_9_and_leaves(
    client: LocalMLClient, tmp_path: Path
) -> None:
    due = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=8)).replace(microsecond=0)
    schedule = JobSchedule(
        name="every-minute",
        trigger=RecurrenceTrigger(frequency="minute", interval=1, start_time=due.isoformat()),
        create_job=pipeline(tmp_path),
    )
    client.schedules.begin_create_or_update(schedule).result()
    first = _scheduler.state(client.home)
    assert first is not None
    # kill -9 before the due time: nothing fires while no scheduler runs.
    os.kill(first["pid"], signal.SIGKILL)
    assert wait_for(lambda: _scheduler.state(client.home) is None, 10)
    assert wait_for(lambda: dt.datetime.now(dt.timezone.utc) > due + dt.timedelta(seconds=1), 20)
    assert scheduled_jobs(client, "every-minute") == []

    # A later client finds no scheduler and starts one; the due time, a little late, fires once.
    client.schedules.begin_enable("every-minute").result()
    second = _scheduler.state(client.home)
    assert second is not None and second["pid"] != first["pid"]
    expected = f"every-minute-{due.strftime('%Y%m%dT%H%M%SZ')}"
    assert wait_for(lambda: scheduled_jobs(client, "every-minute") == [expected], 90)  # a loaded machine
    client.jobs.stream(expected)

    # Killed and restarted again: the fired time is not fired twice.
    os.kill(second["pid"], signal.SIGKILL)
    assert wait_for(lambda: _scheduler.state(client.home) is None, 10)
    client.schedules.begin_enable("every-minute").result()
    time.sleep(2)
    assert scheduled_jobs(client, "every-minute") == [expected]

    client.schedules.begin_disable("every-minute").result()
    assert wait_for(lambda: _scheduler.state(client.home) is None, 15)  # none enabled: it leaves
