"""A job record read back as the SDK's job entity: its REST body, with the record's current state."""

from __future__ import annotations

import copy
import importlib
from typing import Any

from azure.ai.ml.entities import Job

from accelerator.local._system_data import system_data


def job_entity(record: dict[str, Any], job_id: str) -> Job:
    """The entity of ``record`` (``_execution._spec.JobRecord``), with the ARM id ``job_id``."""
    module, _, cls = record["rest_class"].partition(":") if record.get("rest_class") else ("", "", "")
    rest_type: Any = getattr(importlib.import_module(module), cls) if module else _default_rest_class()
    body = copy.deepcopy(record["rest"])
    body["properties"]["status"] = record["status"]
    body["properties"].setdefault("properties", {})
    body["properties"]["tags"] = record.get("tags") or body["properties"].get("tags") or {}
    if record.get("description") is not None:
        body["properties"]["description"] = record["description"]
    body["properties"]["isArchived"] = bool(record.get("archived"))
    body["id"] = job_id
    entity = Job._from_rest_object(rest_type(body))
    entity._creation_context = system_data(
        record.get("created"), record.get("created_by"), record.get("ended") or record.get("started")
    )
    return entity


def _default_rest_class() -> Any:
    from azure.ai.ml._restclient.arm_ml_service.models import JobBase

    return JobBase
