"""Retrain on a monitor's breach, without a person.

The handler of the ``retrain-on-monitor-breach`` Event Grid subscription
(``infra/event_subscriptions.yaml``). ``handle(event, ml_client)`` receives
Azure ML's ``RunStatusChanged`` event (Event Grid schema). For a monitor run
that ended with the breach tag, it submits the week 9 training pipeline on
the latest version of the data, in the workspace of ``ml_client`` (dev). The
pipeline's gate decides whether the challenger becomes the champion; nothing
here deploys: a new champion reaches test and prod only through week 11's
promotion.

One retraining per version of the data: drift lasts, so every night's
monitor run breaches until new data lands, and a retraining on data already
retrained on would train the same challenger again. The retraining is named
after the data version, so a later breach (or the same event delivered twice,
or two deliveries at once) finds it instead of starting another.

On Azure an Azure Function wraps it (its app settings give the workspace and
the values below); the local backend delivers the same event to the same
function.

Settings (environment variables, with week 9's defaults):
``RETRAIN_DATA_NAME`` (taxi-trips), ``RETRAIN_COMPUTE`` (cpu-cluster),
``RETRAIN_MODEL_NAME`` (taxi-fare), ``RETRAIN_MARGIN`` (0.01),
``RETRAIN_EXPERIMENT`` (taxi-fare-retraining).
"""

from __future__ import annotations

import os
import re
from typing import Any

from azure.ai.ml.entities import Job
from azure.ai.ml.exceptions import ValidationException
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from accelerator.events import (
    BREACH_MESSAGE,
    BREACH_TAG,
    RETRAINED_ON_BREACH,
    RETRAINING_TAG,
    RUN_STATUS_CHANGED,
)
from workloads.taxi_fare.pipeline import training_job

# A monitor run ends Failed when a signal breaches; either way the run is over
# and its breach tag was set before it ended.
TERMINAL = ("Completed", "Failed", "Canceled")
MONITOR_RUN_TAG = "retraining.monitor_run"  # the breach that started it
DATA_TAG = "retraining.data"  # name:version it trains on


def _get(mapping: Any, key: str) -> Any:
    """A key of the event's data, matched case-insensitively (as Event Grid)."""
    if not isinstance(mapping, dict):
        return None
    for name, value in mapping.items():
        if str(name).lower() == key.lower():
            return value
    return None


def breached_run(event: dict) -> str | None:
    """The monitor run of a breach event; None for any other event."""
    if event.get("eventType") != RUN_STATUS_CHANGED:
        return None
    data = event.get("data") or {}
    breach = _get(_get(data, "RunTags"), BREACH_TAG)
    if not isinstance(breach, str) or BREACH_MESSAGE not in breach:
        return None
    if _get(data, "RunStatus") not in TERMINAL:
        return None
    # The tag is on a signal's run: the monitor run is its parent, and one
    # monitor run retrains once however many of its signals breached.
    parent = _get(_get(data, "RunProperties"), "azureml.parentrunid")
    run_id = parent or _get(data, "RunId")
    return str(run_id) if run_id else None


def retraining_name(data_name: str, data_version: str) -> str:
    """The one retraining on a version of the data."""
    name = f"retrain-{data_name}-{data_version}"
    return re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:255]


def handle(event: dict, ml_client: Any) -> Job | None:
    """Submit the training pipeline for a breached monitor run.

    Returns the retraining on the latest data: submitted now, or the one an
    earlier breach started on the same data. None for any event that is not
    a breach.
    """
    run_id = breached_run(event)
    if run_id is None:
        return None
    data_name = os.environ.get("RETRAIN_DATA_NAME", "taxi-trips")
    data = ml_client.data.get(data_name, label="latest")
    name = retraining_name(data.name, str(data.version))
    try:
        return ml_client.jobs.get(name)  # this data is retrained on already
    except ResourceNotFoundError:
        pass
    job = training_job(
        f"azureml:{data.name}:{data.version}",
        compute=os.environ.get("RETRAIN_COMPUTE", "cpu-cluster"),
        model_name=os.environ.get("RETRAIN_MODEL_NAME", "taxi-fare"),
        margin=float(os.environ.get("RETRAIN_MARGIN", "0.01")),
        display_name=f"retraining: breach in {run_id}",
        experiment_name=os.environ.get(
            "RETRAIN_EXPERIMENT", "taxi-fare-retraining"
        ),
    )
    job.name = name
    job.tags = {
        RETRAINING_TAG: RETRAINED_ON_BREACH,
        MONITOR_RUN_TAG: run_id,
        DATA_TAG: f"{data.name}:{data.version}",
    }
    try:
        return ml_client.jobs.create_or_update(job)
    except (HttpResponseError, ValidationException):
        # Another delivery submitted it a moment ago: names are unique.
        try:
            return ml_client.jobs.get(name)
        except ResourceNotFoundError:
            pass
        raise
