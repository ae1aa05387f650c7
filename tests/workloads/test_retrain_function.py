"""The retraining Azure Function's entry point (retrain/function_app.py): the workspace client it
builds from its app settings and managed identity, the event it hands to ``handle``, and its
trigger as the Functions host indexes it. The handler itself is tested with the local backend's
event delivery; here a recording stand-in takes its place, so only the entry point is under test."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
import types
from pathlib import Path

import azure.functions as func
import pytest
from azure.ai.ml import MLClient

REPO = Path(__file__).resolve().parents[2]
APP_FILE = REPO / "notebooks" / "workloads" / "taxi_fare" / "retrain" / "function_app.py"
SETTINGS = {
    "AZUREML_SUBSCRIPTION_ID": "00000000-0000-4000-8000-000000000001",
    "AZUREML_RESOURCE_GROUP": "rg-taxi-dev",
    "AZUREML_WORKSPACE_NAME": "mlw-taxi-dev",
}
BREACH = {
    "RunId": "monitor-day-14",
    "RunStatus": "Failed",
    "RunTags": {
        "azureml_modelmonitor_threshold_breached": (
            "has failed due to one or more features violating metric thresholds"
        )
    },
}


@pytest.fixture(scope="module")
def function_app():
    spec = importlib.util.spec_from_file_location("function_app", APP_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def grid_event() -> func.EventGridEvent:
    return func.EventGridEvent(
        id="5e8f6a1c-0000-4000-8000-000000000014",
        data=BREACH,
        topic="/subscriptions/s/resourceGroups/rg-taxi-prod/providers/"
        "Microsoft.MachineLearningServices/workspaces/mlw-taxi-prod",
        subject="experiments/e/runs/monitor-day-14",
        event_type="Microsoft.MachineLearningServices.RunStatusChanged",
        event_time=dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.timezone.utc),
        data_version="2",
    )


def test_the_client_is_the_app_settings_workspace(function_app):
    client = function_app.workspace_client(SETTINGS)
    assert isinstance(client, MLClient)
    assert (client.subscription_id, client.resource_group_name, client.workspace_name) == (
        SETTINGS["AZUREML_SUBSCRIPTION_ID"],
        "rg-taxi-dev",
        "mlw-taxi-dev",
    )
    assert type(client._credential).__name__ == "ManagedIdentityCredential"


@pytest.mark.parametrize("missing", sorted(SETTINGS))
def test_a_missing_setting_stops_with_its_name(function_app, missing):
    settings = {k: v for k, v in SETTINGS.items() if k != missing}
    with pytest.raises(RuntimeError, match=missing):
        function_app.workspace_client(settings)


def test_the_event_reaches_handle_in_event_grid_schema(function_app, monkeypatch):
    """The trigger hands handle() the event as Event Grid's schema writes it, with the client."""
    calls = []
    handler = types.ModuleType("workloads.taxi_fare.retrain.handler")

    def handle(event, ml_client):
        calls.append((event, ml_client))
        return types.SimpleNamespace(name="retrain-monitor-day-14")

    handler.handle = handle
    monkeypatch.setitem(sys.modules, "workloads.taxi_fare.retrain.handler", handler)
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    function_app.retrain_on_breach(grid_event())
    [(event, client)] = calls
    assert event == {
        "id": "5e8f6a1c-0000-4000-8000-000000000014",
        "topic": grid_event().topic,
        "subject": "experiments/e/runs/monitor-day-14",
        "eventType": "Microsoft.MachineLearningServices.RunStatusChanged",
        "eventTime": "2026-12-01T06:00:00+00:00",
        "dataVersion": "2",
        "data": BREACH,
    }
    assert client.workspace_name == "mlw-taxi-dev"


def test_the_host_indexes_one_event_grid_function(function_app):
    """What the Functions host finds in the app: retrain_on_breach, an Event Grid trigger (the
    name infra/retraining.tf's subscription delivers to)."""
    functions = function_app.app.get_functions()
    assert [f.get_function_name() for f in functions] == ["retrain_on_breach"]
    [binding] = functions[0].get_bindings()
    assert binding.type == "eventGridTrigger" and binding.name == "event"
