"""Monitor runs on the local backend: a job with a child per signal, metrics readable through the SDK
and MLflow, the breach tag, the alert mail (Maildir always, a real SMTP server on 127.0.0.1 when
configured), the service's refusals and the SDK's defaults."""

from __future__ import annotations

import datetime as dt
import email
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from azure.ai.ml import Input
from azure.ai.ml.entities import (
    AlertNotification,
    BaselineDataRange,
    Data,
    DataCollector,
    DataDriftMetricThreshold,
    DataDriftSignal,
    DataQualitySignal,
    DeploymentCollection,
    ManagedOnlineDeployment,
    ModelPerformanceMetricThreshold,
    ModelPerformanceRegressionThresholds,
    ModelPerformanceSignal,
    MonitorDefinition,
    MonitoringTarget,
    MonitorSchedule,
    NumericalDriftMetrics,
    ProductionData,
    RecurrenceTrigger,
    ReferenceData,
    ServerlessSparkCompute,
)
from azure.ai.ml.exceptions import ScheduleException, ValidationException

from accelerator.local import LocalMLClient
from accelerator.local._local_endpoints import _collect
from accelerator.local._monitoring import (
    BREACH_TAG,
    ERROR_TAG,
    SIGNAL_METRICS,
    SMTP_HOST,
    SMTP_PORT,
    kept,
    resolve,
    submit_monitor_run,
)

ENDPOINT, DEPLOYMENT = "taxi-fare-prod", "blue"
DAY = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc)
COMPUTE = ServerlessSparkCompute(instance_type="standard_e4s_v3", runtime_version="3.4")
OWNER = "ml-engineer@contoso.example"


def _collected(
    workspace_dir: Path, collection: str, when: dt.datetime, rows: list[dict[str, Any]]
) -> list[str]:
    """Write one request's rows as the deployment's data collector does (its own writer); its id."""
    correlation = str(uuid.uuid4())
    event = {"data": rows, "correlationid": correlation, "specversion": "1.0", "id": str(uuid.uuid4())}
    _collect._write(workspace_dir, ENDPOINT, DEPLOYMENT, when, [(collection, event)])
    return [f"{correlation}_{index}" for index in range(len(rows))]


def _trips(n: int, seed: int, stretch: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "distance": np.round(rng.gamma(2.0, 1.0, n) * stretch, 3),
            "passengers": rng.choice([1, 1, 1, 2, 3], n),
            "vendor": rng.choice(["1", "2"], n),
        }
    )


def _uri(collection: str) -> str:
    return f"azureml://datastores/workspaceblobstore/paths/modelDataCollector/{ENDPOINT}/{DEPLOYMENT}/{collection}/"


@pytest.fixture
def monitored(jobs_client: LocalMLClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalMLClient:
    """Reference trips registered as data, and two days of collected model inputs: the first like
    the reference, the second with trips 60% longer."""
    monkeypatch.delenv(SMTP_HOST, raising=False)
    reference = tmp_path / "reference.parquet"
    _trips(2000, 1).to_parquet(reference)
    jobs_client.data.create_or_update(
        Data(name="taxi-reference", version="1", path=str(reference), type="uri_file")
    )
    workspace_dir = jobs_client._scope.require_workspace()
    for hour in (9, 15):
        _collected(
            workspace_dir,
            "model_inputs",
            DAY - dt.timedelta(hours=24 - hour),
            _trips(150, hour).to_dict("records"),
        )
        _collected(
            workspace_dir,
            "model_inputs",
            DAY + dt.timedelta(hours=hour),
            _trips(150, hour, 1.6).to_dict("records"),
        )
    return jobs_client


def _schedule(signals: dict[str, Any] | None, *, target: MonitoringTarget | None = None) -> MonitorSchedule:
    return MonitorSchedule(
        name="taxi-fare-monitor",
        trigger=RecurrenceTrigger(frequency="day", interval=1),
        create_monitor=MonitorDefinition(
            compute=COMPUTE,
            monitoring_target=target,
            monitoring_signals=signals,
            alert_notification=AlertNotification(emails=[OWNER]),
        ),
    )


def _drift(**kwargs: Any) -> DataDriftSignal:
    return DataDriftSignal(
        production_data=ProductionData(
            input_data=Input(path=_uri("model_inputs"), type="uri_folder"),
            data_context="model_inputs",
            data_window=BaselineDataRange(lookback_window_size="P1D", lookback_window_offset="P0D"),
        ),
        reference_data=ReferenceData(
            input_data=Input(path="azureml:taxi-reference:1", type="uri_file"), data_context="training"
        ),
        alert_enabled=True,
        **kwargs,
    )


def _children(client: LocalMLClient, job: str) -> dict[str, Any]:
    return {child.display_name: child for child in client.jobs.list(parent_job_name=job)}


def test_a_quiet_day_then_a_breach_on_the_drifted_feature_only(
    monitored: LocalMLClient, tracking: Any
) -> None:
    schedule = _schedule(
        {
            "data-drift": _drift(),
            "data-quality": DataQualitySignal(
                production_data=_drift().production_data, reference_data=_drift().reference_data
            ),
        }
    )
    # The day-1 window is the 24 hours before midnight of day 2: the stable traffic.
    quiet = submit_monitor_run(monitored, schedule, DAY, "taxi-fare-monitor-20260302T000000Z")
    assert quiet.status == "Completed"
    children = _children(monitored, quiet.name)
    assert sorted(children) == ["data-drift", "data-quality"]
    assert all(BREACH_TAG not in (c.tags or {}) for c in children.values())
    metrics = tracking.get_run(children["data-drift"].name).data.metrics
    assert metrics["distance.NormalizedWassersteinDistance"] < 0.1
    assert metrics["TargetRowCount"] == 300
    assert kept(monitored._scope.require_workspace()) == []

    drifted = submit_monitor_run(
        monitored, schedule, DAY + dt.timedelta(days=1), "taxi-fare-monitor-20260303T000000Z"
    )
    children = _children(monitored, drifted.name)
    drift = children["data-drift"]
    assert drift.status == "Completed"
    message = drift.tags[BREACH_TAG]
    assert "has failed due to one or more features violating metric thresholds" in message
    assert '"group": "distance"' in message
    assert "passengers" not in message and "vendor" not in message
    run_metrics = tracking.get_run(drifted.name).data.metrics
    assert run_metrics["data-drift.distance.NormalizedWassersteinDistance"] > 0.1
    # The metric table is the signal's output, downloaded as any job output.
    monitored.jobs.download(drift.name, download_path="out", output_name=SIGNAL_METRICS)
    table = pd.read_parquet(Path("out/named-outputs") / SIGNAL_METRICS / "signal_metrics.parquet")
    assert table.loc[table["breached"], "group"].tolist() == ["distance"]
    assert set(table["metric_name"]) >= {
        "NormalizedWassersteinDistance",
        "JensenShannonDistance",
        "TargetRowCount",
    }
    mails = kept(monitored._scope.require_workspace())
    assert len(mails) == 1 and mails[0]["To"] == OWNER
    assert "'data-drift'" in mails[0]["Subject"]


def test_quality_breaches_when_longer_trips_leave_the_reference_range(monitored: LocalMLClient) -> None:
    """Trips 60% longer exceed the reference's maximum distance: an out-of-bounds rate above 0."""
    signal = DataQualitySignal(
        production_data=_drift().production_data, reference_data=_drift().reference_data
    )
    job = submit_monitor_run(
        monitored, _schedule({"quality": signal}), DAY + dt.timedelta(days=1), "quality-run"
    )
    child = _children(monitored, job.name)["quality"]
    assert "OutOfBoundsRate" in child.tags[BREACH_TAG]
    # alert_enabled is False: the run is tagged, and no one is mailed.
    assert kept(monitored._scope.require_workspace()) == []


@pytest.fixture
def smtp_server() -> Iterator[list[bytes]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; the messages it receives."""
    from aiosmtpd.controller import Controller

    received: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope.content)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    received.append(str(port).encode())  # the first item is the port, for the test
    try:
        yield received
    finally:
        controller.stop()
        assert not [t for t in threading.enumerate() if "aiosmtpd" in t.name.lower()]


def test_the_alert_reaches_a_configured_smtp_server(
    monitored: LocalMLClient, smtp_server: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = smtp_server.pop(0).decode()
    monkeypatch.setenv(SMTP_HOST, "127.0.0.1")
    monkeypatch.setenv(SMTP_PORT, port)
    submit_monitor_run(monitored, _schedule({"data-drift": _drift()}), DAY + dt.timedelta(days=1), "mailed")
    assert len(smtp_server) == 1
    mail = email.message_from_bytes(smtp_server[0])
    assert mail["To"] == OWNER and mail["X-AzureML-Monitor-Run"] == "mailed"
    assert "distance" in mail.get_payload()
    assert len(kept(monitored._scope.require_workspace())) == 1  # and a copy kept


def test_an_empty_window_fails_its_signal_and_the_run(monitored: LocalMLClient, tracking: Any) -> None:
    schedule = _schedule(
        {
            "data-drift": _drift(),
            "late": DataQualitySignal(
                production_data=_drift().production_data, reference_data=_drift().reference_data
            ),
        }
    )
    job = submit_monitor_run(monitored, schedule, DAY + dt.timedelta(days=30), "empty-window")
    assert job.status == "Failed"
    children = _children(monitored, job.name)
    assert {c.status for c in children.values()} == {"Failed"}
    assert tracking.get_run(job.name).data.tags[ERROR_TAG] == "DataNotFoundError"
    assert "no rows" in monitored.jobs._records.get(children["data-drift"].name)["error"]


def test_ks_over_ten_thousand_rows_is_refused_as_the_service_refuses(
    monitored: LocalMLClient, tmp_path: Path
) -> None:
    thresholds = DataDriftMetricThreshold(
        numerical=NumericalDriftMetrics(two_sample_kolmogorov_smirnov_test=0.05)
    )
    small = submit_monitor_run(
        monitored, _schedule({"ks": _drift(metric_thresholds=thresholds)}), DAY, "ks-small"
    )
    child = _children(monitored, small.name)["ks"]
    assert child.status == "Completed"  # 2,000 reference rows and 300 production rows: computed
    large = tmp_path / "large.parquet"
    _trips(10_000, 5).to_parquet(large)
    monitored.data.create_or_update(
        Data(name="taxi-reference", version="2", path=str(large), type="uri_file")
    )
    signal = _drift(metric_thresholds=thresholds)
    signal.reference_data.input_data = Input(path="azureml:taxi-reference:2", type="uri_file")
    job = submit_monitor_run(monitored, _schedule({"ks": signal}), DAY, "ks-refused")
    child = _children(monitored, job.name)["ks"]
    assert child.status == "Failed"
    assert "more than 10000 entries" in monitored.jobs._records.get(child.name)["error"]


def test_model_performance_joins_ground_truth_on_the_correlation_id(
    monitored: LocalMLClient, tracking: Any, tmp_path: Path
) -> None:
    workspace_dir = monitored._scope.require_workspace()
    predictions = [12.0, 7.5, 30.0, 9.0]
    ids = _collected(
        workspace_dir, "model_outputs", DAY + dt.timedelta(hours=10), [{"prediction": p} for p in predictions]
    )
    actual = [10.0, 7.5, 36.0, 8.0]
    # Ground truth arrives later, for three of the four trips only, plus one unknown trip.
    truth = pd.DataFrame({"correlationid": [*ids[:3], "unknown_0"], "cost": [*actual[:3], 99.0]})
    truth.to_csv(tmp_path / "truth.csv", index=False)
    monitored.data.create_or_update(
        Data(name="taxi-truth", version="1", path=str(tmp_path / "truth.csv"), type="uri_file")
    )
    signal = ModelPerformanceSignal(
        production_data=ProductionData(
            input_data=Input(path=_uri("model_outputs"), type="uri_folder"),
            data_context="model_outputs",
            data_column_names={"prediction": "prediction", "correlation_id": "correlationid"},
            data_window=BaselineDataRange(lookback_window_size="P1D", lookback_window_offset="P0D"),
        ),
        reference_data=ReferenceData(
            input_data=Input(path="azureml:taxi-truth:1", type="uri_file"),
            data_context="ground_truth",
            data_column_names={"actual": "cost", "correlation_id": "correlationid"},
        ),
        metric_thresholds=ModelPerformanceMetricThreshold(
            regression=ModelPerformanceRegressionThresholds(root_mean_squared_error=3.0)
        ),
    )
    job = submit_monitor_run(
        monitored, _schedule({"rmse": signal}), DAY + dt.timedelta(days=1), "performance"
    )
    child = _children(monitored, job.name)["rmse"]
    errors = np.array(predictions[:3]) - np.array(actual[:3])
    metrics = tracking.get_run(child.name).data.metrics
    assert metrics["RowCount"] == 3
    assert metrics["RootMeanSquaredError"] == pytest.approx(float(np.sqrt(np.mean(errors**2))))
    assert metrics["MeanAbsoluteError"] == pytest.approx(float(np.mean(np.abs(errors))))
    assert (
        json.loads(child.tags[BREACH_TAG].split("are \n")[1].replace("'", ""))[0]["metric_name"]
        == "RootMeanSquaredError"
    )


def test_bad_input_leaves_no_job(monitored: LocalMLClient) -> None:
    schedule = _schedule({"data-drift": _drift()})
    submit_monitor_run(monitored, schedule, DAY, "taken")
    before = sorted(j.name for j in monitored.jobs.list())
    with pytest.raises(ValidationException, match="already exists"):
        submit_monitor_run(monitored, schedule, DAY, "taken")
    with pytest.raises(ValidationException, match="trigger_time"):
        submit_monitor_run(monitored, schedule, "2026-03-02", "other")  # type: ignore[arg-type]
    bad_window = _drift()
    bad_window.production_data.data_window = BaselineDataRange(lookback_window_size="one day")
    job = submit_monitor_run(monitored, _schedule({"data-drift": bad_window}), DAY, "bad-window")
    assert _children(monitored, job.name)["data-drift"].status == "Failed"
    assert sorted(j.name for j in monitored.jobs.list()) == sorted([*before, "bad-window"])


def _deployment(collections: list[str]) -> ManagedOnlineDeployment:
    return ManagedOnlineDeployment(
        name=DEPLOYMENT,
        endpoint_name=ENDPOINT,
        model="azureml:taxi-fare:1",
        data_collector=DataCollector(
            collections={c: DeploymentCollection(enabled="true") for c in collections}
        )
        if collections
        else None,
    )


def test_default_signals_need_a_deployment_collecting_inputs_and_outputs(
    monitored: LocalMLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = MonitoringTarget(ml_task="regression", endpoint_deployment_id=f"azureml:{ENDPOINT}:{DEPLOYMENT}")
    deployments: dict[str, ManagedOnlineDeployment] = {}
    monkeypatch.setattr(monitored.online_deployments, "get", lambda name, endpoint, **_: deployments[name])
    deployments[DEPLOYMENT] = _deployment(["request", "response"])
    with pytest.raises(ScheduleException, match="data collector enabled for model inputs and outputs"):
        resolve(monitored, _schedule(None, target=target))
    with pytest.raises(ScheduleException, match="data collection for model inputs is not enabled"):
        resolve(monitored, _schedule({"drift": DataDriftSignal()}, target=target))

    deployments[DEPLOYMENT] = _deployment(["model_inputs", "model_outputs"])
    schedule = _schedule(None, target=target)
    resolved = resolve(monitored, schedule)
    assert schedule.create_monitor.monitoring_signals is None  # the caller's schedule is untouched
    signals = resolved.create_monitor.monitoring_signals
    assert sorted(signals) == ["data-drift-signal", "data-quality-signal", "prediction-drift-signal"]
    drift = signals["data-drift-signal"]
    assert drift.production_data.input_data.path == _uri("model_inputs")
    assert signals["prediction-drift-signal"].production_data.input_data.path == _uri("model_outputs")
    # A daily trigger: production is the last day; reference the two days before it.
    assert (
        drift.production_data.data_window.lookback_window_size,
        drift.production_data.data_window.lookback_window_offset,
    ) == ("P1D", "P0D")
    assert (
        drift.reference_data.data_window.lookback_window_size,
        drift.reference_data.data_window.lookback_window_offset,
    ) == ("P2D", "P1D")
    thresholds = drift.metric_thresholds
    assert thresholds.numerical.normalized_wasserstein_distance == 0.1
    assert thresholds.categorical.jensen_shannon_distance == 0.1


def test_unsupported_signals_and_feature_filters_are_named(monitored: LocalMLClient) -> None:
    from azure.ai.ml.entities import MonitorFeatureFilter

    job = submit_monitor_run(
        monitored,
        _schedule({"top": _drift(features=MonitorFeatureFilter(top_n_feature_importance=3))}),
        DAY,
        "top-n",
    )
    child = _children(monitored, job.name)["top"]
    assert "MonitorFeatureFilter" in monitored.jobs._records.get(child.name)["error"]


def test_triggered_through_ml_client_schedules(
    monitored: LocalMLClient, tracking: Any, tmp_path: Path
) -> None:
    """The schedules' contract: create the MonitorSchedule, trigger it as of a day, read the run. The
    schedule comes back from the store through the SDK's REST form, regression thresholds included."""
    workspace_dir = monitored._scope.require_workspace()
    ids = _collected(
        workspace_dir,
        "model_outputs",
        DAY + dt.timedelta(hours=11),
        [{"prediction": 10.0}, {"prediction": 20.0}],
    )
    pd.DataFrame({"correlationid": ids, "cost": [10.0, 30.0]}).to_csv(tmp_path / "truth.csv", index=False)
    monitored.data.create_or_update(
        Data(name="taxi-truth", version="1", path=str(tmp_path / "truth.csv"), type="uri_file")
    )
    performance = ModelPerformanceSignal(
        production_data=ProductionData(
            input_data=Input(path=_uri("model_outputs"), type="uri_folder"),
            data_context="model_outputs",
            data_column_names={"prediction": "prediction", "correlation_id": "correlationid"},
        ),
        reference_data=ReferenceData(
            input_data=Input(path="azureml:taxi-truth:1", type="uri_file"),
            data_context="ground_truth",
            data_column_names={"actual": "cost", "correlation_id": "correlationid"},
        ),
        metric_thresholds=ModelPerformanceMetricThreshold(
            regression=ModelPerformanceRegressionThresholds(root_mean_squared_error=5.0)
        ),
        alert_enabled=True,
    )
    schedule = _schedule({"data-drift": _drift(), "rmse": performance})
    monitored.schedules.begin_create_or_update(schedule).result()
    try:
        result = monitored.schedules.trigger(schedule.name, schedule_time="2026-03-03T00:00:00Z")
        job = monitored.jobs.get(result.job_name)
        assert job.name == "taxi-fare-monitor-20260303T000000Z" and job.status == "Completed"
        children = _children(monitored, job.name)
        assert BREACH_TAG in children["data-drift"].tags
        rmse = tracking.get_run(children["rmse"].name).data.metrics["RootMeanSquaredError"]
        assert rmse == pytest.approx(np.sqrt((0 + 100) / 2))  # above 5.0: breached
        assert "RootMeanSquaredError" in children["rmse"].tags[BREACH_TAG]
    finally:
        monitored.schedules.begin_disable(schedule.name).result()


RECORDER = """\
import json, pathlib

def handle(event, ml_client):
    folder = pathlib.Path(__file__).parent / "received"
    folder.mkdir(exist_ok=True)
    (folder / (event["id"] + ".json")).write_text(json.dumps(event))
"""


@pytest.mark.usefixtures("no_stray_processes")
def test_a_breach_in_prod_reaches_the_retraining_subscription_once(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The declared Event Grid subscription (its filter on the breach tag) receives the breached
    signal's run, and nothing from a quiet run: the route a breach takes to retraining."""
    import time

    import yaml
    from azure.ai.ml.entities import Workspace

    from accelerator import connect, events
    from accelerator.local import _events as local_events

    monkeypatch.delenv(SMTP_HOST, raising=False)
    handlers = tmp_path / "handlers"
    handlers.mkdir()
    (handlers / "recorder.py").write_text(RECORDER)
    (declared,) = events.load_subscriptions(events.SUBSCRIPTIONS_FILE)
    declared["handler"] = {
        "root": str(handlers),
        "module": "recorder",
        "function": "handle",
        "environment": "dev",
    }
    (tmp_path / "subscriptions.yaml").write_text(yaml.safe_dump({"subscriptions": [declared]}))
    monkeypatch.setenv(events.SUBSCRIPTIONS_VARIABLE, str(tmp_path / "subscriptions.yaml"))
    for environment in ("dev", "prod"):
        client = connect(environment, backend="local")
        client.workspaces.begin_create(Workspace(name=client.workspace_name, location="westeurope")).result()
    prod = connect("prod", backend="local")
    reference = tmp_path / "reference.parquet"
    _trips(2000, 1).to_parquet(reference)
    prod.data.create_or_update(Data(name="taxi-reference", version="1", path=str(reference), type="uri_file"))
    workspace_dir = prod._scope.require_workspace()
    _collected(
        workspace_dir, "model_inputs", DAY - dt.timedelta(hours=12), _trips(1000, 3).to_dict("records")
    )
    _collected(
        workspace_dir, "model_inputs", DAY + dt.timedelta(hours=12), _trips(1000, 4, 1.6).to_dict("records")
    )
    schedule = _schedule({"data-drift": _drift()})
    submit_monitor_run(prod, schedule, DAY, "quiet-day")
    drifted = submit_monitor_run(prod, schedule, DAY + dt.timedelta(days=1), "drifted-day")
    breached_child = _children(prod, drifted.name)["data-drift"].name

    def delivered() -> list[dict[str, Any]]:
        return [d for d in local_events.deliveries(home) if d["status"] != "Pending"]

    deadline = time.monotonic() + 30
    while not delivered() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # a stray delivery of another run would be recorded by now
    found = delivered()
    assert [d["event"]["data"]["RunId"] for d in found] == [breached_child]
    assert found[0]["status"] == "Delivered", found[0].get("error")
    assert found[0]["event"]["data"]["RunStatus"] == "Completed"
    assert events.BREACH_MESSAGE in found[0]["event"]["data"]["RunTags"][BREACH_TAG]
    assert len(list((handlers / "received").glob("*.json"))) == 1


def test_inputs_outside_the_workspace_are_refused_before_anything_is_written(
    monitored: LocalMLClient,
) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    outside = _drift()
    outside.reference_data.input_data = Input(path="/etc/passwd", type="uri_file")
    with pytest.raises(ValidationException, match=r"register it with ml_client\.data\.create_or_update"):
        submit_monitor_run(monitored, _schedule({"data-drift": outside}), DAY, "outside")
    missing = _drift()
    missing.reference_data.input_data = Input(path="azureml:no-such-data:1", type="uri_file")
    with pytest.raises(ResourceNotFoundError):
        submit_monitor_run(monitored, _schedule({"data-drift": missing}), DAY, "missing")
    climbing = _drift()
    climbing.production_data.input_data = Input(
        path="azureml://datastores/workspaceblobstore/paths/../../../", type="uri_folder"
    )
    with pytest.raises(ValueError, match=r"'\.\.' is not allowed"):
        submit_monitor_run(monitored, _schedule({"data-drift": climbing}), DAY, "climbing")
    assert not monitored.jobs._records.exists("outside")
    assert not monitored.jobs._records.exists("missing")
    assert not monitored.jobs._records.exists("climbing")


def test_prediction_drift_compares_the_last_day_with_the_two_before(
    monitored: LocalMLClient, tracking: Any
) -> None:
    """The SDK's default windows for a daily monitor: production the last day, reference the two days
    before it (P2D, offset P1D), both from the collected model outputs."""
    from azure.ai.ml.entities import PredictionDriftMetricThreshold, PredictionDriftSignal

    workspace_dir = monitored._scope.require_workspace()
    rng = np.random.default_rng(11)
    for days_before, scale in ((3, 1.0), (2, 1.0), (1, 1.4)):
        fares = np.round(rng.gamma(3.0, 4.0, 400) * scale, 2)
        when = DAY + dt.timedelta(days=1) - dt.timedelta(days=days_before) + dt.timedelta(hours=12)
        _collected(workspace_dir, "model_outputs", when, [{"prediction": float(f)} for f in fares])
    outputs = Input(path=_uri("model_outputs"), type="uri_folder")
    signal = PredictionDriftSignal(
        production_data=ProductionData(input_data=outputs, data_context="model_outputs"),
        reference_data=ReferenceData(
            input_data=outputs,
            data_context="model_outputs",
            data_window=BaselineDataRange(lookback_window_size="default", lookback_window_offset="default"),
        ),
        metric_thresholds=PredictionDriftMetricThreshold._get_default_thresholds(),
    )
    job = submit_monitor_run(
        monitored, _schedule({"fare-drift": signal}), DAY + dt.timedelta(days=1), "fares"
    )
    child = _children(monitored, job.name)["fare-drift"]
    metrics = tracking.get_run(child.name).data.metrics
    assert metrics["BaselineRowCount"] == 800 and metrics["TargetRowCount"] == 400
    assert metrics["prediction.NormalizedWassersteinDistance"] > 0.1
    assert '"group": "prediction"' in child.tags[BREACH_TAG]
