"""Production data the team brings itself: ProductionData with a pre-processing component (Azure ML's
documented contract: data_window_start, data_window_end, input_data -> preprocessed_input_data), run
as a job of the workspace in each monitor run, so days of traffic with their own timestamps are
monitored day by day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import pytest
from azure.ai.ml import Input, load_component
from azure.ai.ml.entities import (
    AlertNotification,
    BaselineDataRange,
    Data,
    DataDriftSignal,
    MonitorDefinition,
    MonitorSchedule,
    ProductionData,
    RecurrenceTrigger,
    ReferenceData,
    ServerlessSparkCompute,
)

from accelerator.local import LocalMLClient
from accelerator.local._monitoring import BREACH_TAG, submit_monitor_run

ROOT = Path(__file__).resolve().parents[2]
COMPONENT = ROOT / "notebooks/workloads/taxi_fare/components/production_data.yaml"
FOLDER = "azureml://datastores/workspaceblobstore/paths/production/taxi-fare/"
DAY = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc)


def _trips(n: int, seed: int, stretch: float, day: dt.datetime) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "distance": np.round(rng.gamma(2.0, 1.0, n) * stretch, 3),
            "passengers": rng.choice([1, 1, 2, 3], n),
            "timestamp": [day + dt.timedelta(minutes=int(m)) for m in rng.integers(0, 1440, n)],
        }
    )


@pytest.fixture
def brought(jobs_client: LocalMLClient, tmp_path: Path) -> LocalMLClient:
    """Reference trips, the component, and two days of the team's own production data: the first
    like the reference, the second with trips 60% longer, partitioned by day in the datastore."""
    reference = tmp_path / "reference.parquet"
    _trips(2000, 1, 1.0, DAY)[["distance", "passengers"]].to_parquet(reference)
    jobs_client.data.create_or_update(Data(name="ref", version="1", path=str(reference), type="uri_file"))
    component = load_component(COMPONENT)
    component.environment = "azureml:taxi-train:1"
    jobs_client.components.create_or_update(component)
    scope = jobs_client._scope
    fs, root = fsspec.core.url_to_fs(scope.datastore_uri("workspaceblobstore", "production/taxi-fare/"))
    for offset, stretch in ((-1, 1.0), (0, 1.6)):
        day = DAY + dt.timedelta(days=offset)
        fs.makedirs(f"{root}/day={day:%Y-%m-%d}", exist_ok=True)
        with fs.open(f"{root}/day={day:%Y-%m-%d}/trips.parquet", "wb") as handle:
            _trips(300, offset + 5, stretch, day).to_parquet(handle)
    return jobs_client


def _schedule(component: str = "azureml:taxi_fare_production_data:1") -> MonitorSchedule:
    signal = DataDriftSignal(
        production_data=ProductionData(
            input_data=Input(path=FOLDER, type="uri_folder"),
            data_context="model_inputs",
            pre_processing_component=component,
            data_window=BaselineDataRange(lookback_window_size="P1D", lookback_window_offset="P0D"),
        ),
        reference_data=ReferenceData(
            input_data=Input(path="azureml:ref:1", type="uri_file"), data_context="training"
        ),
        features=["distance", "passengers"],
        alert_enabled=True,
    )
    return MonitorSchedule(
        name="brought",
        trigger=RecurrenceTrigger(frequency="day", interval=1),
        create_monitor=MonitorDefinition(
            compute=ServerlessSparkCompute(instance_type="standard_e4s_v3", runtime_version="3.4"),
            monitoring_signals={"data-drift": signal},
            alert_notification=AlertNotification(emails=["owner@contoso.example"]),
        ),
    )


def _child(client: LocalMLClient, job: str) -> Any:
    (child,) = list(client.jobs.list(parent_job_name=job))
    return child


def test_each_day_is_monitored_in_its_own_window(brought: LocalMLClient, tracking: Any) -> None:
    quiet = submit_monitor_run(brought, _schedule(), DAY, "brought-20260302T000000Z")
    child = _child(brought, quiet.name)
    assert BREACH_TAG not in (child.tags or {})
    metrics = tracking.get_run(child.name).data.metrics
    # Only the first day's 300 rows are in the 24 hours before DAY.
    assert metrics["TargetRowCount"] == 300
    assert metrics["distance.NormalizedWassersteinDistance"] < 0.1
    drifted = submit_monitor_run(brought, _schedule(), DAY + dt.timedelta(days=1), "brought-20260303T000000Z")
    child = _child(brought, drifted.name)
    assert "distance" in child.tags[BREACH_TAG] and "passengers" not in child.tags[BREACH_TAG]
    # The window's rows came from a pre-processing job of the workspace, as on Azure.
    jobs = [j for j in brought.jobs.list() if j.experiment_name == "model-monitoring-preprocessing"]
    assert len(jobs) == 2 and all(j.status == "Completed" for j in jobs)


def test_a_component_without_the_contract_is_refused_before_any_run(brought: LocalMLClient) -> None:
    component = load_component(ROOT / "notebooks/workloads/taxi_fare/components/prep.yaml")
    component.environment = "azureml:taxi-train:1"
    brought.components.create_or_update(component)
    before = {j.name for j in brought.jobs.list()}
    with pytest.raises(Exception, match="data_window_start"):
        submit_monitor_run(brought, _schedule("azureml:taxi_fare_prep:1"), DAY, "brought-20260302T000000Z")
    with pytest.raises(Exception, match="component version"):
        submit_monitor_run(
            brought, _schedule("azureml:taxi_fare_prep@latest"), DAY, "brought-20260302T000000Z"
        )
    assert {j.name for j in brought.jobs.list()} == before
