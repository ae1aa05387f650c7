"""Event Grid on the local backend: ``RunStatusChanged`` events delivered to the declared handlers.

When a job's status changes (``JobRecords.update``), ``publish`` builds the event Azure ML would
publish on the workspace's system topic and checks it against the subscriptions declared in
``infra/event_subscriptions.yaml`` (``accelerator.events``). A match is delivered as Event Grid
does, asynchronously: a detached process (``python -m accelerator.local._events <store> <event>``)
imports the handler from the repository and calls ``handler(event, ml_client)`` with the local
client of the handler's environment. Every delivery is recorded in ``<store>/events/``: the event,
the subscription, and the handler's result or error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import json
import re
import subprocess
import sys
import traceback
import uuid
from pathlib import Path
from typing import Any

from accelerator import events
from accelerator._home import HOME_VARIABLE
from accelerator.local._store import read_record, write_record

MODULE = "accelerator.local._events"
# Workspaces the accelerator creates are mlw-<project>-<environment> (accelerator.naming).
_WORKSPACE = re.compile(r"^mlw-(?P<project>[a-z0-9-]+)-(?P<environment>dev|test|prod)$")
_RUN_TYPES = {"pipeline": "azureml.PipelineRun", "command": "azureml.scriptrun", "sweep": "hyperdrive"}
_children: list[subprocess.Popen[bytes]] = []


def _folder(home: Path) -> Path:
    return home / "events"


def event_for(workspace_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    """The ``RunStatusChanged`` event of a job record's current status."""
    # Here, not at the top: _scope imports the SDK (3 s), and every job's status change imports
    # this module to look for subscriptions, which mostly there are none of.
    from accelerator.local._scope import LOCAL_SUBSCRIPTION_ID

    resource_group, workspace = workspace_dir.parent.name, workspace_dir.name
    topic = (
        f"/subscriptions/{LOCAL_SUBSCRIPTION_ID}/resourceGroups/{resource_group}/providers/"
        f"Microsoft.MachineLearningServices/workspaces/{workspace}"
    )
    return events.run_status_changed(
        workspace_id=topic,
        experiment_id=str(record.get("mlflow_experiment_id") or ""),
        experiment_name=str(record.get("experiment_name") or ""),
        run_id=record["name"],
        run_type=_RUN_TYPES.get(record.get("type") or ""),
        tags=record.get("tags") or {},
        # A child run (a pipeline step, a monitor's signal) names its parent, as Azure ML's runs do.
        properties={
            **(record.get("properties") or {}),
            **({"azureml.parentrunid": record["parent"]} if record.get("parent") else {}),
        },
        status=record["status"],
    )


def publish(workspace_dir: Path, record: dict[str, Any]) -> list[str]:
    """Deliver the job's status change to every matching subscription; the deliveries' ids."""
    found = _WORKSPACE.match(workspace_dir.name)
    if not found:
        return []
    home = workspace_dir.parents[2]
    try:
        subscriptions = events.load_subscriptions()
    except (OSError, ValueError) as error:  # a broken declaration never breaks the job itself
        _log(home, f"subscriptions not loaded: {error}")
        return []
    deliveries = []
    event: dict[str, Any] | None = None
    for subscription in subscriptions:
        if found["environment"] not in (subscription.get("source_environments") or []):
            continue
        event = event or event_for(workspace_dir, record)
        if not events.matches(subscription, event):
            continue
        deliveries.append(_deliver(home, found["project"], subscription, event))
    return deliveries


def _deliver(home: Path, project: str, subscription: dict[str, Any], event: dict[str, Any]) -> str:
    delivery = f"{dt.datetime.now(dt.timezone.utc).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    path = _folder(home) / f"{delivery}.yaml"
    write_record(
        path,
        {"subscription": subscription, "project": project, "event": event, "status": "Pending"},
    )
    _children[:] = [p for p in _children if p.poll() is None]
    with open(_folder(home) / "deliveries.log", "ab") as output:
        _children.append(
            subprocess.Popen(
                [sys.executable, "-m", MODULE, str(home), delivery],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        )
    return delivery


def deliveries(home: Path) -> list[dict[str, Any]]:
    """Every delivery recorded in the store, oldest first (with its ``id``)."""
    folder = _folder(home)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.yaml")):
        if not path.name.startswith("."):
            with contextlib.suppress(OSError, ValueError):
                found.append({"id": path.stem, **read_record(path)})
    return found


def _log(home: Path, message: str) -> None:
    folder = _folder(home)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "errors.log", "a", encoding="utf-8") as handle:
        handle.write(f"{dt.datetime.now(dt.timezone.utc).isoformat()} {message}\n")


def _handler(subscription: dict[str, Any]) -> Any:
    spec = subscription["handler"]
    root = (events.SUBSCRIPTIONS_FILE.parents[1] / spec.get("root", ".")).resolve()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return getattr(importlib.import_module(spec["module"]), spec["function"])


def run(home: Path, delivery: str) -> int:
    """Deliver one recorded event to its handler (the detached process)."""
    import os

    from accelerator import naming
    from accelerator.local._ml_client import LocalMLClient

    os.environ[HOME_VARIABLE] = str(home)
    path = _folder(home) / f"{delivery}.yaml"
    record = read_record(path)
    subscription, event = record["subscription"], record["event"]
    environment = subscription["handler"]["environment"]
    try:
        client = LocalMLClient(
            naming.workspace_name(environment, record["project"]),
            resource_group_name=naming.resource_group_name(environment, record["project"]),
            home=home,
        )
        result = _handler(subscription)(json.loads(json.dumps(event)), client)
        record.update(status="Delivered", result=getattr(result, "name", None))
    except Exception:
        record.update(status="Failed", error=traceback.format_exc())
    write_record(path, record)
    return 0 if record["status"] == "Delivered" else 1


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]).resolve(), sys.argv[2]))
