"""Azure ML's run-status events, the model monitor's breach tag, and Event Grid subscriptions.

Shared by the monitoring code (which sets the breach tag), the retraining handler (which reacts to
it), the local backend (which delivers the events) and the infrastructure (which subscribes on
Azure). Nothing here imports the SDK, so an Azure Function can import it cheaply.

- The event: Event Grid schema of ``Microsoft.MachineLearningServices.RunStatusChanged``
  (learn.microsoft.com, "Azure Machine Learning as an Event Grid source"): ``topic`` is the
  workspace's ARM id, ``subject`` ``experiments/<experiment id>/runs/<run id>``, and ``data``
  holds ``ExperimentId``, ``ExperimentName``, ``RunId``, ``RunType``, ``RunTags``,
  ``RunProperties`` and ``RunStatus``.
- The breach tag: a monitor run whose signal breaches its threshold is tagged
  ``azureml_modelmonitor_threshold_breached`` with a message containing "has failed due to one or
  more features violating metric thresholds" (the service's monitoring components, Azure/azureml-
  assets ``model_monitoring``; the filter Azure's how-to-monitor-model-performance documents:
  key ``data.RunTags.azureml_modelmonitor_threshold_breached``, operator String contains).
- Subscriptions are declared once, in ``infra/event_subscriptions.yaml``: Terraform creates them on
  each workspace's Event Grid system topic, the local backend delivers to the same handler.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path
from typing import Any

import yaml

RUN_STATUS_CHANGED = "Microsoft.MachineLearningServices.RunStatusChanged"
BREACH_TAG = "azureml_modelmonitor_threshold_breached"
BREACH_MESSAGE = "has failed due to one or more features violating metric thresholds"
# What started a retraining, on its job: the breach handler's value, or the weekly schedule's.
RETRAINING_TAG = "retraining.trigger"
RETRAINED_ON_BREACH = "monitor-breach"
SUBSCRIPTIONS_VARIABLE = "ACCELERATOR_EVENT_SUBSCRIPTIONS"
SUBSCRIPTIONS_FILE = Path(__file__).resolve().parents[1] / "infra" / "event_subscriptions.yaml"
OPERATORS = ("StringContains", "StringIn", "StringBeginsWith", "StringEndsWith", "IsNotNull")


def breach_tag_value(signals: list[str]) -> str:
    """The breach tag's value for the signals that breached, containing the documented message."""
    return f"Monitor {BREACH_MESSAGE}: {', '.join(signals)}."


def run_status_changed(
    *,
    workspace_id: str,
    experiment_id: str,
    experiment_name: str,
    run_id: str,
    run_type: str | None,
    tags: dict[str, Any],
    properties: dict[str, Any],
    status: str,
    when: dt.datetime | None = None,
) -> dict[str, Any]:
    """A ``RunStatusChanged`` event in the Event Grid schema, as Azure ML publishes it."""
    moment = when or dt.datetime.now(dt.timezone.utc)
    return {
        "id": str(uuid.uuid4()),
        "topic": workspace_id,
        "subject": f"experiments/{experiment_id}/runs/{run_id}",
        "eventType": RUN_STATUS_CHANGED,
        "eventTime": moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
        "data": {
            "ExperimentId": experiment_id,
            "ExperimentName": experiment_name,
            "RunId": run_id,
            "RunType": run_type,
            "RunTags": {str(k): str(v) for k, v in tags.items()},
            "RunProperties": {str(k): str(v) for k, v in properties.items()},
            "RunStatus": status,
        },
        "dataVersion": "",
        "metadataVersion": "1",
    }


def _lookup(event: dict[str, Any], key: str) -> Any:
    """A dotted key (``data.RunTags.x``) in the event; Event Grid matches keys case-insensitively."""
    value: Any = event
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        matches = [v for k, v in value.items() if str(k).lower() == part.lower()]
        value = matches[0] if matches else None
    return value


def _passes(event: dict[str, Any], rule: dict[str, Any]) -> bool:
    value = _lookup(event, rule["key"])
    operator = rule["operator"]
    if operator == "IsNotNull":
        return value is not None
    if value is None:
        return False
    text = str(value).lower()
    values = [str(v).lower() for v in rule.get("values") or []]
    if operator == "StringContains":
        return any(v in text for v in values)
    if operator == "StringIn":
        return text in values
    if operator == "StringBeginsWith":
        return any(text.startswith(v) for v in values)
    return any(text.endswith(v) for v in values)  # StringEndsWith


def matches(subscription: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether Event Grid would deliver ``event`` to ``subscription`` (event types, then every filter)."""
    types = subscription.get("included_event_types") or []
    if types and event.get("eventType") not in types:
        return False
    return all(_passes(event, rule) for rule in subscription.get("advanced_filters") or [])


def load_subscriptions(path: Path | None = None) -> list[dict[str, Any]]:
    """The declared subscriptions, checked; ``ACCELERATOR_EVENT_SUBSCRIPTIONS`` names another file
    (``none`` for no subscription at all)."""
    configured = os.environ.get(SUBSCRIPTIONS_VARIABLE)
    if path is None:
        if configured and configured.lower() == "none":
            return []
        path = Path(configured) if configured else SUBSCRIPTIONS_FILE
    if not path.is_file():
        return []
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    subscriptions = document.get("subscriptions") or []
    if not isinstance(subscriptions, list):
        raise ValueError(f"{path}: 'subscriptions' must be a list.")
    names = set()
    for subscription in subscriptions:
        name = subscription.get("name") if isinstance(subscription, dict) else None
        if not name or name in names:
            raise ValueError(f"{path}: every subscription needs a unique name ({name!r}).")
        names.add(name)
        for rule in subscription.get("advanced_filters") or []:
            if rule.get("operator") not in OPERATORS or not rule.get("key"):
                raise ValueError(
                    f"{path}: subscription {name}: a filter needs a key and an operator of "
                    f"{', '.join(OPERATORS)}."
                )
        handler = subscription.get("handler") or {}
        if not (handler.get("module") and handler.get("function") and handler.get("environment")):
            raise ValueError(f"{path}: subscription {name}: handler needs module, function and environment.")
    return subscriptions
