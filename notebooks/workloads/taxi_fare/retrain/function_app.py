"""The Azure Functions entry point of week 12's retraining route on Azure.

Event Grid delivers the prod workspace's ``RunStatusChanged`` events that
carry the monitor's breach tag (``infra/retraining.tf``) to
``retrain_on_breach``; it hands the event, in Event Grid's schema, to
``handle(event, ml_client)`` with an ``MLClient`` for the workspace of the app
settings ``AZUREML_SUBSCRIPTION_ID``, ``AZUREML_RESOURCE_GROUP`` and
``AZUREML_WORKSPACE_NAME``, logged in as the function's managed identity. The
local backend delivers the same event to the same ``handle``.

``tools/retrain_function.py`` stages the app: this file, ``host.json`` and
``requirements.txt`` at its root, ``workloads/`` and ``accelerator/`` beside.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import azure.functions as func
from azure.ai.ml import MLClient
from azure.identity import ManagedIdentityCredential

SETTINGS = (
    "AZUREML_SUBSCRIPTION_ID",
    "AZUREML_RESOURCE_GROUP",
    "AZUREML_WORKSPACE_NAME",
)

app = func.FunctionApp()


def workspace_client(environ: dict[str, str] | None = None) -> MLClient:
    """An MLClient for the workspace of the app settings, as the app's identity.

    A missing setting is a configuration error: it stops the delivery (Event
    Grid retries it) with the names to set, instead of submitting anywhere.
    """
    environ = dict(os.environ if environ is None else environ)
    missing = [name for name in SETTINGS if not environ.get(name)]
    if missing:
        raise RuntimeError(
            f"The function app has no {', '.join(missing)}: set them "
            "(infra/retraining.tf does) to the workspace to retrain in."
        )
    # The system-assigned identity; a user-assigned one is named by
    # AZURE_CLIENT_ID, as azure-identity reads it.
    client_id = environ.get("AZURE_CLIENT_ID")
    credential = (
        ManagedIdentityCredential(client_id=client_id)
        if client_id
        else ManagedIdentityCredential()
    )
    return MLClient(
        credential,
        subscription_id=environ["AZUREML_SUBSCRIPTION_ID"],
        resource_group_name=environ["AZUREML_RESOURCE_GROUP"],
        workspace_name=environ["AZUREML_WORKSPACE_NAME"],
    )


def as_event(event: func.EventGridEvent) -> dict[str, Any]:
    """The delivered event as Event Grid's schema writes it (what
    ``handle`` reads, on Azure and locally)."""
    return {
        "id": event.id,
        "topic": event.topic,
        "subject": event.subject,
        "eventType": event.event_type,
        "eventTime": (
            event.event_time.isoformat() if event.event_time else None
        ),
        "dataVersion": event.data_version,
        "data": event.get_json(),
    }


# The name infra/retraining.tf's subscription delivers to.
@app.function_name("retrain_on_breach")
@app.event_grid_trigger(arg_name="event")
def retrain_on_breach(event: func.EventGridEvent) -> None:
    # Imported here: the handler pulls in the SDK's pipeline code, which the
    # host need not load to index the function.
    from workloads.taxi_fare.retrain.handler import handle

    job = handle(as_event(event), workspace_client())
    if job is None:
        logging.info("event %s: not a breach, nothing submitted", event.id)
    else:
        logging.info("event %s: retraining %s submitted", event.id, job.name)
