"""The weekly retraining schedule: week 9's pipeline on the latest data.

A ``JobSchedule`` whose job is the same pipeline notebook 09 runs and the
breach handler submits, on ``azureml:<data>@latest``: each fire trains on the
data version that is latest at that moment, and the gate decides.
"""

from __future__ import annotations

from azure.ai.ml.entities import (
    JobSchedule,
    RecurrencePattern,
    RecurrenceTrigger,
)

from accelerator.events import RETRAINING_TAG
from workloads.taxi_fare.pipeline import training_job


def weekly_retraining(
    *,
    data_name: str,
    compute: str,
    model_name: str,
    margin: float,
    start_time: str,
    name: str = "taxi-fare-weekly-retraining",
    week_day: str = "monday",
    hour: int = 3,
    time_zone: str = "UTC",
    experiment_name: str = "taxi-fare-retraining",
    enabled: bool = True,
) -> JobSchedule:
    """Retrain every ``week_day`` at ``hour``:00 (``time_zone``), from
    ``start_time`` on. With a pattern, the first run is the first such time,
    not the moment the schedule is created."""
    job = training_job(
        f"azureml:{data_name}@latest",
        compute=compute,
        model_name=model_name,
        margin=margin,
        display_name="weekly retraining",
        experiment_name=experiment_name,
    )
    trigger = RecurrenceTrigger(
        frequency="week",
        interval=1,
        schedule=RecurrencePattern(
            hours=[hour], minutes=[0], week_days=[week_day]
        ),
        start_time=start_time,
        time_zone=time_zone,
    )
    return JobSchedule(
        name=name,
        trigger=trigger,
        create_job=job,
        is_enabled=enabled,
        tags={RETRAINING_TAG: "weekly"},
    )
