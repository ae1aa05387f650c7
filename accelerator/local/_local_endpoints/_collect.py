"""Inference data collection: what a deployment's ``data_collector`` asks Azure ML to keep.

Collected data goes where Azure ML's model data collector writes it, in the workspace's default
datastore: ``modelDataCollector/<endpoint>/<deployment>/<collection>/<yyyy>/<MM>/<dd>/<HH>/*.jsonl``,
one JSON line per request, with the correlation id that joins a request's inputs to its outputs.

As on Azure:
- ``request`` and ``response`` (payload logging) keep the HTTP bodies of every deployment;
- ``model_inputs`` and ``model_outputs`` are kept here for no-code MLflow deployments only. A
  deployment with a scoring script collects them on Azure by calling ``azureml-ai-monitoring``'s
  ``Collector`` in the script; the local backend does not emulate that, and says so when such a
  deployment is created.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import threading
import uuid
from pathlib import Path
from typing import Any

from fsspec.implementations.local import LocalFileSystem

from accelerator.local._storage import datastore_filesystem

PAYLOADS = ("request", "response")
MODEL_DATA = ("model_inputs", "model_outputs")
DEFAULT_DATASTORE = "workspaceblobstore"
_lock = threading.Lock()


def settings_of(data_collector: Any) -> dict[str, Any] | None:
    """A deployment's ``DataCollector`` as the plain settings its record keeps (None: collect nothing)."""
    if data_collector is None:
        return None
    collections = {
        str(name): str(getattr(spec, "enabled", "true")).lower() == "true"
        for name, spec in (data_collector.collections or {}).items()
    }
    unknown = sorted(set(collections) - set(PAYLOADS) - set(MODEL_DATA))
    if unknown:
        raise ValueError(
            f"Unknown data collection(s) {', '.join(unknown)}: Azure ML collects "
            f"{', '.join(PAYLOADS + MODEL_DATA)}."
        )
    rate = data_collector.sampling_rate
    rate = 1.0 if rate is None else float(rate)
    if not 0 < rate <= 1:
        raise ValueError(f"data_collector.sampling_rate must be above 0 and at most 1, not {rate}.")
    return {"collections": sorted(n for n, on in collections.items() if on), "sampling_rate": rate}


def collect(
    workspace_dir: Path,
    endpoint: str,
    deployment: str,
    record: dict[str, Any],
    request: bytes,
    response: bytes,
) -> None:
    """Keep one answered request's data, as the deployment's settings say."""
    settings = record.get("data_collector") or {}
    wanted = list(settings.get("collections") or [])
    if not wanted or random.random() >= settings.get("sampling_rate", 1.0):
        return
    if not record.get("no_code"):
        wanted = [name for name in wanted if name in PAYLOADS]
    correlation = str(uuid.uuid4())
    now = dt.datetime.now(dt.timezone.utc)
    events = []
    for name in wanted:
        data = _data(name, request, response)
        if data is None:
            continue
        events.append(
            (
                name,
                {
                    "specversion": "1.0",
                    "id": str(uuid.uuid4()),
                    "source": f"/onlineEndpoints/{endpoint}/deployments/{deployment}",
                    "type": f"azureml.inference.{name}",
                    "datacontenttype": "application/json",
                    "time": now.isoformat().replace("+00:00", "Z"),
                    "data": data,
                    "correlationid": correlation,
                    "modelversion": record.get("model"),
                    "agent": "accelerator-local",
                },
            )
        )
    if events:
        _write(workspace_dir, endpoint, deployment, now, events)


def _data(name: str, request: bytes, response: bytes) -> Any:
    """What one collection keeps of a request: the body, or the model's rows in and out."""
    body = request if name in ("request", "model_inputs") else response
    try:
        parsed = json.loads(body)
    except ValueError:
        return body.decode(errors="replace") if name in PAYLOADS else None
    if name in PAYLOADS:
        return parsed
    if name == "model_inputs":
        data = parsed.get("input_data") if isinstance(parsed, dict) else None
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            columns = data.get("columns") or []
            return [dict(zip(columns, row, strict=False)) for row in data["data"]]
        return data if isinstance(data, list) else None
    predictions = parsed.get("predictions") if isinstance(parsed, dict) else parsed
    return [{"prediction": p} for p in predictions] if isinstance(predictions, list) else None


def _write(
    workspace_dir: Path,
    endpoint: str,
    deployment: str,
    now: dt.datetime,
    events: list[tuple[str, dict[str, Any]]],
) -> None:
    found = datastore_filesystem(workspace_dir, DEFAULT_DATASTORE)
    if found is None:
        return
    fs, root = found
    for name, event in events:
        folder = f"{root}/modelDataCollector/{endpoint}/{deployment}/{name}/{now:%Y/%m/%d/%H}"
        line = json.dumps(event) + "\n"
        fs.makedirs(folder, exist_ok=True)
        # One file per process and hour, appended to, as Azure rolls its files; a blob store
        # cannot append, so there each request is its own file.
        if isinstance(fs, LocalFileSystem):
            with _lock, fs.open(f"{folder}/{os.getpid()}.jsonl", "a") as handle:
                handle.write(line)
        else:
            with fs.open(f"{folder}/{event['id']}.jsonl", "w") as handle:
                handle.write(line)
