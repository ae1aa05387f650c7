"""A monitor run: a job with a child per signal, their metrics, the breach tag and the alert mail.

On Azure a ``MonitorSchedule`` fires a pipeline job (serverless Spark) whose sub-pipelines compute
each signal; each signal's evaluator tags its run ``azureml_modelmonitor_threshold_breached`` with
the breach message (``evaluate_metrics_threshold.py``, ``add_tags_to_run``), which is what an Event
Grid subscription on run-status events filters on. Locally the run is computed in the calling
process and recorded as the same shape: a pipeline job (the run), a completed command child per
signal, each an MLflow run with the signal's metrics, a ``signal_metrics`` output (the metric
table), and the tag.

What reads the results is public SDK and MLflow calls, the same on both backends:
``ml_client.jobs.list(parent_job_name=run)``, the children's tags, ``mlflow.get_run(child)``'s
metrics, and ``ml_client.jobs.download(child, output_name="signal_metrics")``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pandas as pd
from azure.ai.ml import Input
from azure.ai.ml.constants._monitoring import MonitorDatasetContext
from azure.ai.ml.entities import (
    AlertNotification,
    BaselineDataRange,
    DataDriftMetricThreshold,
    DataDriftSignal,
    DataQualityMetricThreshold,
    DataQualitySignal,
    Job,
    ModelPerformanceMetricThreshold,
    ModelPerformanceRegressionThresholds,
    MonitorSchedule,
    PredictionDriftMetricThreshold,
    PredictionDriftSignal,
    ProductionData,
    ReferenceData,
)
from azure.ai.ml.entities._monitoring.signals import ModelPerformanceSignal
from azure.ai.ml.exceptions import ErrorCategory, ErrorTarget, ScheduleException

from accelerator.events import BREACH_MESSAGE, BREACH_TAG
from accelerator.local import _mlflow
from accelerator.local._exceptions import user_error, validation_error
from accelerator.local._execution._paths import _datastore_path
from accelerator.local._execution._records import JobRecords, child_record, now
from accelerator.local._execution._runner import open_run
from accelerator.local._execution._tracking import InProcessTracking
from accelerator.local._monitoring import _alert, _data, _signals
from accelerator.local._monitoring._metrics import MetricRow, MonitoringComputationError

# BREACH_TAG (from accelerator.events, shared with the retraining handler and the Event Grid
# filter) is what the service's evaluator sets on a signal's run when a metric breaches.
__all__ = ["BREACH_TAG", "resolve", "resolve_monitor_schedule", "submit_monitor_run"]

#: The tag the service sets on the monitor run when a window has no data.
ERROR_TAG = "azureml.modelmonitor.error"
SIGNAL_METRICS = "signal_metrics"
PERFORMANCE_THRESHOLDS_PROPERTY = "azureml.modelmonitor.model_performance_thresholds"
_DEFAULT_DATASTORE = "workspaceblobstore"


def _schedule_error(message: str) -> ScheduleException:
    return ScheduleException(
        message=message,
        no_personal_data_message=message,
        target=ErrorTarget.SCHEDULE,
        error_category=ErrorCategory.USER_ERROR,
    )


def data_windows(schedule: MonitorSchedule) -> tuple[str, str]:
    """(production window, reference window) the SDK derives from the trigger
    (``MonitorSchedule._to_rest_object``: P<interval>D and twice that for a daily recurrence)."""
    trigger = schedule.trigger
    size, reference = "P7D", "P14D"
    frequency = str(getattr(trigger, "frequency", "") or "").lower()
    interval = int(getattr(trigger, "interval", 1) or 1)
    if frequency in ("minute", "hour"):
        size, reference = "P1D", "P2D"
    elif frequency == "day":
        size, reference = f"P{interval}D", f"P{interval * 2}D"
    elif frequency == "week":
        size, reference = f"P{interval * 7}D", f"P{interval * 14}D"
    elif frequency == "month":
        size, reference = f"P{interval * 30}D", f"P{interval * 60}D"
    return size, reference


def _collection_uri(endpoint: str, deployment: str, collection: str) -> str:
    return f"azureml://datastores/{_DEFAULT_DATASTORE}/paths/modelDataCollector/{endpoint}/{deployment}/{collection}/"


def _deployment_collections(ml_client: Any, schedule: MonitorSchedule) -> tuple[str, str, set[str]] | None:
    """(endpoint, deployment, enabled collections) of the monitored deployment, if any."""
    target = schedule.create_monitor.monitoring_target
    if target is None or not target.endpoint_deployment_id:
        return None
    deployment_id = str(target.endpoint_deployment_id).removeprefix("azureml:")
    if "/onlineEndpoints/" in deployment_id:
        endpoint = deployment_id.split("/onlineEndpoints/")[1].split("/")[0]
        deployment = deployment_id.rstrip("/").split("/")[-1]
    elif deployment_id.count(":") == 1:
        endpoint, deployment = deployment_id.split(":")
    else:
        raise _schedule_error(
            f"endpoint_deployment_id '{target.endpoint_deployment_id}' is neither "
            "'<endpoint>:<deployment>' nor a deployment's ARM id."
        )
    found = ml_client.online_deployments.get(deployment, endpoint)
    collector = found.data_collector
    enabled = set()
    if collector is not None:
        for name, spec in (collector.collections or {}).items():
            if str(getattr(spec, "enabled", "true")).lower() == "true":
                enabled.add(str(name))
    return endpoint, deployment, enabled


def resolve(ml_client: Any, schedule: MonitorSchedule) -> MonitorSchedule:
    """A copy of ``schedule`` with what ``ScheduleOperations._resolve_monitor_schedule_arm_id``
    fills in at creation: the default signals when ``monitoring_signals`` is None, and each drift or
    quality signal's production and reference data from the deployment's model_inputs /
    model_outputs collections; refused as the SDK refuses when the deployment does not collect them.

    Locally the collections are read from their datastore folders (Azure names them as data assets
    ``<endpoint>-<deployment>-<collection>`` over the same folders).
    """
    resolved = copy.deepcopy(schedule)
    definition = resolved.create_monitor
    found = _deployment_collections(ml_client, resolved)
    enabled = found[2] if found else set()
    if not definition.monitoring_signals:
        if not {"model_inputs", "model_outputs"} <= enabled:
            raise _schedule_error(
                "An ARM id for a deployment with data collector enabled for model inputs and outputs must be "
                "given if monitoring_signals is None"
            )
        resolved._create_default_monitor_definition()
        for signal in definition.monitoring_signals.values():
            signal.alert_enabled = definition.alert_notification is not None
    errors = []
    for name, signal in definition.monitoring_signals.items():
        if not isinstance(signal, _signals.SUPPORTED):
            continue  # refused when the run computes it, naming the signal type
        if isinstance(signal, ModelPerformanceSignal):
            continue  # its data is always given (ground truth)
        if signal.production_data is not None and signal.reference_data is not None:
            continue
        collection = "model_outputs" if isinstance(signal, PredictionDriftSignal) else "model_inputs"
        context = (
            MonitorDatasetContext.MODEL_OUTPUTS
            if collection == "model_outputs"
            else MonitorDatasetContext.MODEL_INPUTS
        )
        if found is None or collection not in enabled:
            errors.append(
                f"A target and baseline dataset must be provided for signal with name {name}"
                f"and type {signal.type} if the monitoring_target endpoint_deployment_id is empty"
                "or refers to a deployment for which data collection for "
                f"{collection.replace('_', ' ')} is not enabled."
            )
            continue
        uri = _collection_uri(found[0], found[1], collection)
        if signal.production_data is None:
            signal.production_data = ProductionData(
                input_data=Input(path=uri, type="uri_folder"),
                data_context=context,
                data_window=BaselineDataRange(lookback_window_size="default", lookback_window_offset="P0D"),
            )
        if signal.reference_data is None:
            signal.reference_data = ReferenceData(
                input_data=Input(path=uri, type="uri_folder"),
                data_context=context,
                data_window=BaselineDataRange(
                    lookback_window_size="default", lookback_window_offset="default"
                ),
            )
    if errors:
        raise _schedule_error("\n".join(errors))
    for signal in definition.monitoring_signals.values():
        for data in (getattr(signal, "production_data", None), getattr(signal, "reference_data", None)):
            if isinstance(signal, _signals.SUPPORTED) and data is not None:
                # As the SDK's _resolve_job_inputs: a named asset must exist, a path must be one
                # the workspace holds.
                _data.asset_location(ml_client, str(data.input_data.path))
    _fill_windows(resolved)
    _fill_thresholds(resolved)
    return resolved


def resolve_monitor_schedule(ml_client: Any, schedule: MonitorSchedule) -> None:
    """:func:`resolve` in place, as the SDK's ``_resolve_monitor_schedule_arm_id`` changes the
    schedule it is given; ``ml_client.schedules.begin_create_or_update`` calls it."""
    schedule.create_monitor = resolve(ml_client, schedule).create_monitor


def _fill_thresholds(schedule: MonitorSchedule) -> None:
    """The SDK's default thresholds where a signal has none, as the service applies them (the SDK's
    REST round trip of a data quality signal without thresholds fails otherwise)."""
    defaults = (
        (PredictionDriftSignal, PredictionDriftMetricThreshold),
        (DataDriftSignal, DataDriftMetricThreshold),
        (DataQualitySignal, DataQualityMetricThreshold),
    )
    for signal in schedule.create_monitor.monitoring_signals.values():
        kind = next((t for cls, t in defaults if isinstance(signal, cls)), None)
        if kind is not None and signal.metric_thresholds is None:
            signal.metric_thresholds = kind._get_default_thresholds()


def _performance_thresholds(ml_client: Any, schedule: MonitorSchedule) -> None:
    """Regression thresholds of model performance signals read back from the stored schedule.

    The SDK (1.35) serialises a ``ModelPerformanceMetricThreshold`` as classification accuracy 0.9
    whatever it holds, and keeps the real thresholds only in the signal's property
    ``azureml.modelmonitor.model_performance_thresholds``, which the service reads and
    ``_from_rest_object`` drops. A schedule read back from the store (``schedules.get``) has lost
    them: they are taken from that property of the stored definition, as the service takes them.
    """
    for name, signal in schedule.create_monitor.monitoring_signals.items():
        if not isinstance(signal, ModelPerformanceSignal):
            continue
        thresholds = signal.metric_thresholds
        if thresholds is not None and thresholds.regression is not None:
            continue
        stored = _stored_signal(ml_client, schedule.name, name)
        text = ((stored or {}).get("properties") or {}).get(PERFORMANCE_THRESHOLDS_PROPERTY)
        if not text:
            continue  # refused when computed: no regression thresholds
        values = {item["metric"]: item["threshold"]["value"] for item in json.loads(text)}
        if not any(item.get("modelType") == "regression" for item in json.loads(text)):
            continue
        signal.metric_thresholds = ModelPerformanceMetricThreshold(
            regression=ModelPerformanceRegressionThresholds(
                mean_absolute_error=values.get("MeanAbsoluteError"),
                mean_squared_error=values.get("MeanSquaredError"),
                root_mean_squared_error=values.get("RootMeanSquaredError"),
            )
        )


def _stored_signal(ml_client: Any, schedule: str, signal: str) -> dict[str, Any] | None:
    records = getattr(getattr(ml_client, "schedules", None), "_records", None)
    if records is None:
        return None
    if not records.exists(schedule):
        return None
    record = records.get(schedule)
    properties = (record.get("rest") or {}).get("properties") or {}
    definition = (properties.get("action") or {}).get("monitorDefinition") or {}
    return (definition.get("signals") or {}).get(signal)


def _fill_windows(schedule: MonitorSchedule) -> None:
    """Replace the SDK's ``"default"`` window markers with the trigger's window sizes, as
    ``ProductionData/ReferenceData._to_rest_object`` do."""
    size, reference = data_windows(schedule)
    for signal in schedule.create_monitor.monitoring_signals.values():
        production = getattr(signal, "production_data", None)
        if production is not None:
            window = production.data_window or BaselineDataRange(
                lookback_window_size=size, lookback_window_offset="P0D"
            )
            if window.lookback_window_size in (None, "default") and not window.window_start:
                window.lookback_window_size = size
            production.data_window = window
        baseline = getattr(signal, "reference_data", None)
        if baseline is not None and baseline.data_window is not None:
            window = baseline.data_window
            if window.lookback_window_size == "default":
                window.lookback_window_size = reference
            if window.lookback_window_offset == "default":
                window.lookback_window_offset = size


def _breach_message(signal_name: str, rows: list[MetricRow]) -> str | None:
    """``_generate_error_message``: the service's text, with the breaching rows as JSON."""
    breaching = [r for r in rows if r.breached]
    if not breaching:
        return None
    listed = [
        json.dumps(
            {
                "metric_value": r.metric_value,
                "metric_name": r.metric_name,
                "threshold_value": r.threshold_value,
            }
            | ({"group": r.group} if r.group else {})
        )
        for r in breaching
    ]
    return (
        f"The signal '{signal_name}' {BREACH_MESSAGE}.\n"
        "The feature names and their corresponding computed metric values violating "
        f"the threshold are \n{listed}\n"
    )


def metric_key(row: MetricRow) -> str:
    """The MLflow metric name of a row: ``<feature>.<metric>``, or ``<metric>`` for the signal's own."""
    return f"{row.group}.{row.metric_name}" if row.group else row.metric_name


def submit_monitor_run(
    ml_client: Any, schedule: MonitorSchedule, trigger_time: dt.datetime, job_name: str
) -> Job:
    """Run ``schedule``'s monitor as of ``trigger_time`` as job ``job_name``; the completed job.

    The schedules' ``trigger`` calls this. A signal that cannot be computed (an empty window, a
    refused metric) fails its child, and the run then fails, as a failed step fails Azure's pipeline;
    the others are still computed. Breaches complete normally: they are tagged, not failures.
    """
    if not isinstance(schedule, MonitorSchedule):
        raise validation_error(
            f"A monitor run needs a MonitorSchedule, not {type(schedule).__name__}.", ErrorTarget.SCHEDULE
        )
    if not isinstance(trigger_time, dt.datetime):
        raise validation_error("trigger_time must be a datetime.", ErrorTarget.SCHEDULE)
    workspace_dir = ml_client._scope.require_workspace()
    records = JobRecords(workspace_dir)
    if records.exists(job_name):
        raise user_error(
            f"A job named '{job_name}' already exists in this workspace; names are unique.",
            ErrorTarget.JOB,
        )
    resolved = resolve(ml_client, schedule)
    definition = resolved.create_monitor
    _performance_thresholds(ml_client, resolved)
    # Compute first, write after: bad input leaves no job behind.
    outcomes: dict[str, tuple[list[MetricRow] | None, str | None]] = {}
    cache: dict[Any, Any] = {}
    _signals.prefetch(ml_client, definition.monitoring_signals.values(), trigger_time, cache)
    for name, signal in definition.monitoring_signals.items():
        try:
            outcomes[name] = (_signals.compute(ml_client, signal, trigger_time, cache), None)
        except (MonitoringComputationError, NotImplementedError) as error:
            outcomes[name] = (None, f"{type(error).__name__}: {error}")
    return _record(ml_client, records, resolved, trigger_time, job_name, outcomes)


def _record(
    ml_client: Any,
    records: JobRecords,
    schedule: MonitorSchedule,
    trigger_time: dt.datetime,
    job_name: str,
    outcomes: dict[str, tuple[list[MetricRow] | None, str | None]],
) -> Job:
    workspace_dir = records.workspace_dir
    # The runner's tracking interface (main's _execution._tracking), in this process.
    tracking = InProcessTracking(workspace_dir)
    started = now()
    trigger = trigger_time.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    properties = {"azureml.modelmonitor.name": schedule.name, "azureml.modelmonitor.trigger_time": trigger}
    parent = {
        "name": job_name,
        "type": "pipeline",
        "parent": None,
        "status": "Running",
        "display_name": job_name,
        "experiment_name": schedule.name,
        "description": f"Model monitor {schedule.name} as of {trigger}",
        "tags": {},
        "compute": None,
        "started": started,
        "rest": {
            "name": job_name,
            "properties": {
                "jobType": "Pipeline",
                "displayName": job_name,
                "experimentName": schedule.name,
                "properties": properties,
                "tags": {},
                "jobs": {},
                "inputs": {},
                "outputs": {},
                "settings": {},
            },
        },
    }
    experiment, run_id = open_run(tracking, workspace_dir, parent)
    parent.update(mlflow_run_id=run_id, mlflow_experiment_id=experiment)
    records.create(parent)
    emails = _emails(schedule.create_monitor.alert_notification)
    failed = []
    for name, (rows, error) in outcomes.items():
        signal = schedule.create_monitor.monitoring_signals[name]
        child = child_record(
            parent,
            # Child names are lower case: the SDK lowers a node's upper-case name, warning each time.
            f"{job_name}-{name}".lower()[:255],
            step=name,
            display_name=name,
            command=f"model monitor signal {name} ({_signals.signal_type(signal)})",
            code=None,
            environment=None,
            inputs={},
            outputs={SIGNAL_METRICS: {"type": "uri_folder", "uri": None}},
            properties={"azureml.modelmonitor.signal_type": _signals.signal_type(signal)},
        )
        child_experiment, child_run = open_run(tracking, workspace_dir, child, parent_run=run_id)
        child.update(mlflow_run_id=child_run, mlflow_experiment_id=child_experiment, started=now())
        records.create(child)
        if rows is None:
            failed.append(name)
            records.append_log(child["name"], error or "failed")
            records.update(child["name"], status="Failed", ended=now(), error=error)
            _mlflow.end_run(tracking, child_run, "FAILED")
            continue
        _write_metrics(ml_client, records, child, rows)
        # One batch per run: a SQLite transaction per metric would cost more than the computation.
        _log_batch(tracking, child_run, {metric_key(row): row.metric_value for row in rows})
        _log_batch(tracking, run_id, {f"{name}.{metric_key(row)}": row.metric_value for row in rows})
        records.append_log(child["name"], _table(rows))
        tags = {}
        message = _breach_message(name, rows)
        if message:
            tags[BREACH_TAG] = message
            tracking.set_tag(child_run, BREACH_TAG, message)
            records.append_log(child["name"], message)
            if emails and getattr(signal, "alert_enabled", False):
                _alert.send(workspace_dir, _alert.message(emails, schedule.name, name, job_name, message))
        records.update(child["name"], status="Completed", ended=now(), tags=tags)
        _mlflow.end_run(tracking, child_run, "FINISHED")
    status = "Failed" if failed else "Completed"
    tags = {}
    if failed:
        errors = " ".join(outcomes[n][1] or "" for n in failed)
        if "DataNotFoundError" in errors:
            tags[ERROR_TAG] = "DataNotFoundError"
            tracking.set_tag(run_id, ERROR_TAG, "DataNotFoundError")
    records.update(
        job_name,
        status=status,
        ended=now(),
        tags=tags,
        error=f"Signal(s) {', '.join(failed)} failed." if failed else None,
    )
    _mlflow.end_run(tracking, run_id, "FAILED" if failed else "FINISHED")
    return ml_client.jobs.get(job_name)


def _log_batch(tracking: Any, run_id: str, values: dict[str, float]) -> None:
    from mlflow.entities import Metric

    stamp = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
    metrics = [Metric(key, float(value), stamp, 0) for key, value in values.items()]
    for start in range(0, len(metrics), 1000):  # MLflow's limit per batch
        tracking.log_batch(run_id, metrics=metrics[start : start + 1000])


def _emails(notification: Any) -> list[str]:
    if isinstance(notification, AlertNotification):
        return [str(e) for e in notification.emails or []]
    return []


def _write_metrics(ml_client: Any, records: JobRecords, child: dict[str, Any], rows: list[MetricRow]) -> None:
    """The signal's metric table as its ``signal_metrics`` output (parquet and JSON), at Azure ML's
    default output location ``<default datastore>/azureml/<job>/<output>``."""
    relative = f"azureml/{child['name']}/{SIGNAL_METRICS}"
    uri = ml_client._scope.datastore_uri(_DEFAULT_DATASTORE, relative)
    fs, folder = _datastore_path(records.workspace_dir, uri)
    fs.makedirs(folder, exist_ok=True)
    table = pd.DataFrame([vars(r) | {"breached": r.breached} for r in rows])
    with fs.open(f"{folder}/signal_metrics.parquet", "wb") as handle:
        table.to_parquet(handle, index=False)
    with fs.open(f"{folder}/signal_metrics.json", "w") as handle:
        handle.write(table.to_json(orient="records", indent=1))
    rest = copy.deepcopy(child["rest"])
    rest["properties"]["outputs"] = {SIGNAL_METRICS: {"jobOutputType": "uri_folder", "uri": uri}}
    records.update(child["name"], outputs={SIGNAL_METRICS: {"type": "uri_folder", "uri": uri}}, rest=rest)


def _table(rows: list[MetricRow]) -> str:
    lines = ["group\tmetric_name\tmetric_value\tthreshold_value\tbreached"]
    lines += [
        f"{r.group}\t{r.metric_name}\t{r.metric_value:.6g}\t{r.threshold_value}\t{r.breached}" for r in rows
    ]
    return "\n".join(lines)
