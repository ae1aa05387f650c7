"""What a schedule does when it fires: submit its pipeline job, or start its monitor run.

Shared by ``ml_client.schedules.trigger`` and the detached scheduler, so a job started either way
is the same: named ``<schedule>-<yyyyMMddTHHmmssZ>`` after its trigger time (UTC), tagged with the
schedule's name, with the schedule macros of its definition resolved. Azure ML documents two macros
(how-to-schedule-pipeline-job, "Use supported expressions in schedules"): ``${{name}}``, the job's
name, in the pipeline job's output paths, and ``${{creation_context.trigger_time}}``, the trigger
time, in its string inputs.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib.util
from typing import Any

from azure.ai.ml._restclient.arm_ml_service.models import JobBase as RestJobBase
from azure.ai.ml.entities import Job

from accelerator.local._exceptions import LocalBackendUnsupportedError
from accelerator.local._scheduling._triggers import job_time

NAME_MACRO = "${{name}}"
TRIGGER_TIME_MACRO = "${{creation_context.trigger_time}}"
# Azure ML's tag on a job a schedule started (``az ml job list --query`` filters on it).
SCHEDULE_TAG = "azureml.scheduleTrigger.scheduleName"
TRIGGER_TIME_PROPERTY = "azureml.scheduleTrigger.triggerTime"
MONITORING_MODULE = "accelerator.local._monitoring"


def job_name(schedule: str, trigger_time: dt.datetime) -> str:
    return f"{schedule}-{job_time(trigger_time)}"


def trigger_time_text(trigger_time: dt.datetime) -> str:
    return trigger_time.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def resolve_macros(definition: dict[str, Any], name: str, trigger_time: dt.datetime) -> dict[str, Any]:
    """A copy of a job definition (REST form) with the schedule macros replaced."""
    body = copy.deepcopy(definition)
    when = trigger_time_text(trigger_time)

    def inputs(values: dict[str, Any] | None) -> None:
        for spec in (values or {}).values():
            if isinstance(spec, dict):
                for key in ("value", "uri"):
                    if isinstance(spec.get(key), str):
                        spec[key] = spec[key].replace(TRIGGER_TIME_MACRO, when)

    def outputs(values: dict[str, Any] | None) -> None:
        for spec in (values or {}).values():
            if isinstance(spec, dict) and isinstance(spec.get("uri"), str):
                spec["uri"] = spec["uri"].replace(NAME_MACRO, name)

    inputs(body.get("inputs"))
    outputs(body.get("outputs"))
    for node in (body.get("jobs") or {}).values():
        if isinstance(node, dict):
            outputs(node.get("outputs"))
    return body


def build_job(record: dict[str, Any], trigger_time: dt.datetime) -> Job:
    """The job a JobSchedule's record starts at ``trigger_time``."""
    name = job_name(record["name"], trigger_time)
    definition = record["rest"]["properties"]["action"]["jobDefinition"]
    body = resolve_macros(definition, name, trigger_time)
    body.pop("sourceJobId", None)
    job = Job._from_rest_object(RestJobBase({"properties": body}))
    job.name = name
    job.tags = {**(job.tags or {}), SCHEDULE_TAG: record["name"]}
    job.properties = {
        **(job.properties or {}),
        SCHEDULE_TAG: record["name"],
        TRIGGER_TIME_PROPERTY: trigger_time_text(trigger_time),
    }
    return job


def fire(client: Any, record: dict[str, Any], schedule: Any, trigger_time: dt.datetime) -> Job:
    """Run the schedule's action as of ``trigger_time``; the job it started."""
    if record["kind"] == "monitor":
        # The monitor's computation lives in its own package, loaded only when a monitor runs.
        if importlib.util.find_spec(MONITORING_MODULE) is None:
            raise LocalBackendUnsupportedError(
                "MonitorSchedule runs", "The local model monitoring module is not installed."
            )
        from accelerator.local._monitoring import submit_monitor_run  # type: ignore[import-not-found]

        return submit_monitor_run(client, schedule, trigger_time, job_name(record["name"], trigger_time))
    return client.jobs.create_or_update(build_job(record, trigger_time))
