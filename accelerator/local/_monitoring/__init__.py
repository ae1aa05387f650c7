"""Model monitoring on the local backend, computed as Azure ML's monitoring components compute it.

- ``_metrics``: the numeric code (column typing, bins, drift distances and tests, data quality
  rates, regression errors, breach direction), pandas/numpy/scipy only;
- ``_data``: data windows and the production/reference data a signal reads;
- ``_signals``: one SDK signal entity computed into metric rows, with the SDK's default thresholds;
- ``_run``: a monitor run recorded as a job with a child per signal, metrics, breach tag, alert;
- ``_alert``: the alert mail (a Maildir in the workspace, and SMTP when configured).

``ml_client.schedules.trigger(...)`` calls :func:`submit_monitor_run` for a ``MonitorSchedule``;
``ml_client.schedules.begin_create_or_update`` calls :func:`resolve_monitor_schedule`, which fills
in the default signals and the deployment's collected data and refuses, at creation as the SDK
does, a monitor whose deployment does not collect what its signals need.
"""

from accelerator.local._monitoring._alert import SMTP_FROM, SMTP_HOST, SMTP_PORT, kept, maildir
from accelerator.local._monitoring._metrics import MonitoringComputationError
from accelerator.local._monitoring._run import (
    BREACH_TAG,
    ERROR_TAG,
    SIGNAL_METRICS,
    data_windows,
    metric_key,
    resolve,
    resolve_monitor_schedule,
    submit_monitor_run,
)

__all__ = [
    "BREACH_TAG",
    "ERROR_TAG",
    "SIGNAL_METRICS",
    "SMTP_FROM",
    "SMTP_HOST",
    "SMTP_PORT",
    "MonitoringComputationError",
    "data_windows",
    "kept",
    "maildir",
    "metric_key",
    "resolve",
    "resolve_monitor_schedule",
    "submit_monitor_run",
]
