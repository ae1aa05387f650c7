"""Run-status events on the local backend: the event's shape, Event Grid's filters, delivery of a
breach-tagged job's status changes to the declared handler, and the retraining handler itself."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import pytest
import yaml
from azure.ai.ml.entities import AmlCompute, Data, Environment, Workspace
from azure.ai.ml.entities._job.pipeline.pipeline_job import PipelineJob
from azure.core.exceptions import ResourceNotFoundError

from accelerator import connect, events
from accelerator.local import LocalMLClient
from accelerator.local import _events as local_events
from accelerator.local._execution import _process
from accelerator.local._execution._records import JobRecords

pytestmark = pytest.mark.usefixtures("no_stray_processes")

REPO = Path(__file__).resolve().parents[2]
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250601.v1"
BREACH = events.breach_tag_value(["fare-drift"])
RECORDER = """\
import json, pathlib

def handle(event, ml_client):
    folder = pathlib.Path(__file__).parent / "received"
    folder.mkdir(exist_ok=True)
    (folder / (event["id"] + ".json")).write_text(
        json.dumps({"event": event, "workspace": ml_client.workspace_name})
    )
    return None
"""


def breach_event(status: str = "Failed", tags: dict | None = None) -> dict:
    return events.run_status_changed(
        workspace_id="/subscriptions/0/resourceGroups/rg-taxi-prod/providers/"
        "Microsoft.MachineLearningServices/workspaces/mlw-taxi-prod",
        experiment_id="7",
        experiment_name="monitoring",
        run_id="taxi-prod-monitor-20260203T030000Z",
        run_type="azureml.PipelineRun",
        tags={events.BREACH_TAG: BREACH} if tags is None else tags,
        properties={},
        status=status,
    )


def test_the_event_has_the_event_grid_schema_of_run_status_changed() -> None:
    event = breach_event()
    assert set(event) == {
        "id",
        "topic",
        "subject",
        "eventType",
        "eventTime",
        "data",
        "dataVersion",
        "metadataVersion",
    }
    assert event["eventType"] == "Microsoft.MachineLearningServices.RunStatusChanged"
    assert event["subject"] == "experiments/7/runs/taxi-prod-monitor-20260203T030000Z"
    assert event["eventTime"].endswith("Z")
    assert set(event["data"]) == {
        "ExperimentId",
        "ExperimentName",
        "RunId",
        "RunType",
        "RunTags",
        "RunProperties",
        "RunStatus",
    }
    assert events.BREACH_MESSAGE in event["data"]["RunTags"][events.BREACH_TAG]


def test_the_declared_subscription_filters_on_the_documented_breach_tag() -> None:
    (subscription,) = events.load_subscriptions(events.SUBSCRIPTIONS_FILE)
    assert subscription["name"] == "retrain-on-monitor-breach"
    (rule,) = subscription["advanced_filters"]
    assert rule == {
        "key": f"data.RunTags.{events.BREACH_TAG}",
        "operator": "StringContains",
        "values": [events.BREACH_MESSAGE],
    }
    assert events.matches(subscription, breach_event())
    # Event Grid compares keys and strings case-insensitively.
    shouted = breach_event(tags={events.BREACH_TAG.upper(): BREACH.upper()})
    shouted["data"]["runtags"] = shouted["data"].pop("RunTags")
    assert events.matches(subscription, shouted)
    assert not events.matches(subscription, breach_event(tags={}))
    assert not events.matches(subscription, breach_event(tags={events.BREACH_TAG: "all good"}))
    other = breach_event()
    other["eventType"] = "Microsoft.MachineLearningServices.ModelRegistered"
    assert not events.matches(subscription, other)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"subscriptions": {"a": 1}}, "must be a list"),
        ({"subscriptions": [{"name": "x", "handler": {}}]}, "handler needs module"),
        (
            {
                "subscriptions": [
                    {"name": "x", "advanced_filters": [{"key": "data.RunId", "operator": "Regex"}]}
                ]
            },
            "an operator of",
        ),
        ({"subscriptions": [{"handler": {}}]}, "unique name"),
    ],
)
def test_a_bad_subscription_file_is_refused(tmp_path: Path, document: dict, message: str) -> None:
    path = tmp_path / "subscriptions.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ValueError, match=message):
        events.load_subscriptions(path)


def _ready(client: LocalMLClient) -> LocalMLClient:
    client.workspaces.begin_create(Workspace(name=client.workspace_name, location="westeurope")).result()
    client.environments.create_or_update(Environment(name="taxi-train", version="1", image=IMAGE))
    client.compute.begin_create_or_update(AmlCompute(name="cpu-cluster", size="Standard_DS3_v2")).result()
    return client


def _wait(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        time.sleep(0.2)
    return condition()


def test_a_breach_tagged_job_in_prod_is_delivered_to_the_handler(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.ai.ml import command

    handler_dir = tmp_path / "handlers"
    handler_dir.mkdir()
    (handler_dir / "recorder.py").write_text(RECORDER)
    subscriptions = tmp_path / "subscriptions.yaml"
    (declared,) = events.load_subscriptions(events.SUBSCRIPTIONS_FILE)
    declared["handler"] = {
        "root": str(handler_dir),
        "module": "recorder",
        "function": "handle",
        "environment": "dev",
    }
    subscriptions.write_text(yaml.safe_dump({"subscriptions": [declared]}))
    monkeypatch.setenv(events.SUBSCRIPTIONS_VARIABLE, str(subscriptions))
    prod = _ready(connect("prod", backend="local"))
    dev = _ready(connect("dev", backend="local"))

    def run(client: LocalMLClient, tags: dict) -> str:
        job = command(command="exit 1", environment="azureml:taxi-train:1", compute="cpu-cluster", tags=tags)
        submitted = client.jobs.create_or_update(job)
        assert _wait(lambda: client.jobs.get(submitted.name).status == "Failed")
        runner = JobRecords(client._scope.require_workspace()).get(submitted.name)["runner"]
        assert _wait(lambda: not _process.is_alive(runner["pid"], runner["started"]))  # its bookkeeping done
        return submitted.name

    breached = run(prod, {events.BREACH_TAG: BREACH})
    quiet = run(prod, {"signal": "fare-drift"})
    in_dev = run(dev, {events.BREACH_TAG: BREACH})  # dev is not a source of the subscription

    def delivered() -> list[dict]:
        return [d for d in local_events.deliveries(home) if d["status"] != "Pending"]

    assert _wait(lambda: any(d["event"]["data"]["RunStatus"] == "Failed" for d in delivered()))
    time.sleep(1)  # any stray delivery of the other jobs would have been recorded by now
    found = delivered()
    assert {d["event"]["data"]["RunId"] for d in found} == {breached}
    assert all(d["status"] == "Delivered" for d in found), [d.get("error") for d in found]
    statuses = [d["event"]["data"]["RunStatus"] for d in found]
    assert "Failed" in statuses  # every status change of the run is an event; the last one is Failed
    received = list((handler_dir / "received").glob("*.json"))
    assert len(received) == len(found)
    got = yaml.safe_load(received[0].read_text())
    assert got["workspace"] == "mlw-taxi-dev"  # the handler acts on its declared environment
    assert got["event"]["topic"].endswith("/workspaces/mlw-taxi-prod")
    assert quiet != breached and in_dev != breached


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch):
    """The handler as its Function app imports it: ``workloads`` from the notebooks folder (not the
    tests' own ``workloads`` package, which pytest may have imported under that name)."""
    saved = {
        m: sys.modules.pop(m) for m in list(sys.modules) if m == "workloads" or m.startswith("workloads.")
    }
    monkeypatch.syspath_prepend(str(REPO / "notebooks"))
    from workloads.taxi_fare.retrain import handler as module

    yield module
    for name in [m for m in sys.modules if m == "workloads" or m.startswith("workloads.")]:
        del sys.modules[name]
    sys.modules.update(saved)


def _trips(client: LocalMLClient, folder: Path, version: str) -> None:
    folder.mkdir()
    (folder / "trips.csv").write_text("distance\n1.0\n")
    trips = Data(name="taxi-trips", version=version, path=str(folder), type="uri_folder")
    client.data.create_or_update(trips)


def test_the_handler_retrains_once_per_version_of_the_data(
    jobs_client: LocalMLClient, handler, tmp_path: Path
) -> None:
    _trips(jobs_client, tmp_path / "trips-1", "1")
    assert handler.handle(breach_event(status="Running"), jobs_client) is None  # not over yet
    assert handler.handle(breach_event(tags={"signal": "fare-drift"}), jobs_client) is None
    started = []
    try:
        job = handler.handle(breach_event(), jobs_client)
        started.append(job.name)
        assert isinstance(job, PipelineJob)
        assert job.name == "retrain-taxi-trips-1"
        assert list(job.jobs) == ["prep", "train", "evaluate", "register"]  # the week 9 pipeline and gate
        assert job.tags[handler.MONITOR_RUN_TAG] == "taxi-prod-monitor-20260203T030000Z"
        assert job.tags[handler.DATA_TAG] == "taxi-trips:1"
        assert job.experiment_name == "taxi-fare-retraining"
        # The same event delivered again starts nothing new, nor does another signal of the same run,
        # nor the next night's breach while the data is the same.
        assert handler.handle(breach_event(), jobs_client).name == job.name
        sibling = breach_event()
        sibling["data"]["RunId"] = "taxi-prod-monitor-20260203T030000Z_prediction-drift"
        sibling["data"]["RunProperties"] = {"azureml.parentrunid": "taxi-prod-monitor-20260203T030000Z"}
        assert handler.handle(sibling, jobs_client).name == job.name
        next_night = breach_event()
        next_night["data"]["RunId"] = "taxi-prod-monitor-20260204T030000Z"
        assert handler.handle(next_night, jobs_client).name == job.name
        assert [j.name for j in jobs_client.jobs.list()] == [job.name]
        # New data landed: the next breach retrains on it.
        _trips(jobs_client, tmp_path / "trips-2", "2")
        second = handler.handle(next_night, jobs_client)
        started.append(second.name)
        assert second.name == "retrain-taxi-trips-2"
        assert second.tags[handler.DATA_TAG] == "taxi-trips:2"
        assert second.tags[handler.MONITOR_RUN_TAG] == "taxi-prod-monitor-20260204T030000Z"
    finally:
        for name in started:  # the gate's run itself is week 9's test
            jobs_client.jobs.begin_cancel(name).result()


def test_two_deliveries_at_once_start_one_retraining(
    jobs_client: LocalMLClient, handler, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other delivery submits between this one's look-up and its submission: this one gets
    the service's refusal of a taken name, and returns the retraining the other started."""
    _trips(jobs_client, tmp_path / "trips", "1")
    other = handler.handle(breach_event(), jobs_client)
    try:
        get = jobs_client.jobs.get
        calls = []

        def get_racing(name: str):
            calls.append(name)
            if len(calls) == 1:  # the look-up, made before the other delivery submitted
                raise ResourceNotFoundError(f"(UserError) job '{name}' was not found")
            return get(name)

        monkeypatch.setattr(jobs_client.jobs, "get", get_racing)
        night = breach_event()
        night["data"]["RunId"] = "taxi-prod-monitor-20260204T030000Z"
        assert handler.handle(night, jobs_client).name == other.name
        assert calls == [other.name, other.name]
        assert [j.name for j in jobs_client.jobs.list()] == [other.name]
    finally:
        jobs_client.jobs.begin_cancel(other.name).result()


def test_a_breach_without_the_data_asset_names_it(jobs_client: LocalMLClient, handler) -> None:
    with pytest.raises(ResourceNotFoundError, match="taxi-trips"):
        handler.handle(breach_event(), jobs_client)
    assert list(jobs_client.jobs.list()) == []


def test_the_weekly_retraining_schedule_runs_the_same_pipeline_on_the_latest_data(
    jobs_client: LocalMLClient, handler, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workloads.taxi_fare.retrain.schedule import weekly_retraining

    from accelerator.local._scheduling import _scheduler
    from accelerator.local._scheduling._fire import build_job
    from accelerator.local._scheduling._records import ScheduleRecords

    schedule = weekly_retraining(
        data_name="taxi-trips",
        compute="cpu-cluster",
        model_name="taxi-fare",
        margin=0.01,
        start_time="2030-01-01T00:00:00",
        enabled=False,
    )
    created = jobs_client.schedules.begin_create_or_update(schedule).result()
    assert created.trigger.schedule.week_days == ["monday"]
    assert list(created.create_job.jobs) == ["prep", "train", "evaluate", "register"]
    assert _scheduler.state(jobs_client.home) is None  # disabled: no scheduler
    record = ScheduleRecords(jobs_client._scope.require_workspace()).get(schedule.name)
    when = dt.datetime(2030, 1, 7, 3, 0, tzinfo=dt.timezone.utc)  # the first Monday 03:00
    job = build_job(record, when)
    assert job.name == "taxi-fare-weekly-retraining-20300107T030000Z"
    assert job.inputs["raw_data"].path == "azureml:taxi-trips@latest"  # resolved when it fires
