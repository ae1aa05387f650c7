"""``ml_client.schedules`` on the local backend: JobSchedule and MonitorSchedule, with their triggers.

Mirrors ``azure.ai.ml.operations.ScheduleOperations``: ``begin_create_or_update`` validates the
schedule with the SDK (``_validate`` and ``_to_rest_object``, as the SDK does before its request),
resolves the pipeline's inline components as the SDK's ``_resolve_arm_id_or_upload_dependencies``
does, and keeps the REST body; ``get`` and ``list`` rebuild the SDK's entities from it with
``Schedule._from_rest_object``. ``list`` shows enabled schedules only unless ``list_view_type`` says
otherwise; ``begin_delete`` refuses an enabled schedule; ``trigger(name, schedule_time=...)`` runs
the action once as of that time (the 2024-01-01-preview ``trigger`` API the SDK calls).
An enabled schedule is fired on time by the store's scheduler (``_scheduling._scheduler``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from azure.ai.ml import operations as sdk_operations
from azure.ai.ml._restclient.arm_ml_service.models import Schedule as RestSchedule
from azure.ai.ml._restclient.arm_ml_service.models import ScheduleListViewType
from azure.ai.ml.entities import JobSchedule, MonitorSchedule, PipelineJob, Schedule
from azure.ai.ml.entities._builders import BaseNode, Command
from azure.ai.ml.entities._schedule.schedule import ScheduleTriggerResult
from azure.ai.ml.exceptions import ErrorTarget
from azure.core.polling import LROPoller

from accelerator.local._exceptions import (
    LocalBackendUnsupportedError,
    not_found,
    user_error,
    user_http_error,
)
from accelerator.local._execution._records import JobRecords
from accelerator.local._paging import paged
from accelerator.local._poller import completed
from accelerator.local._scheduling import _scheduler
from accelerator.local._scheduling._fire import fire, job_name
from accelerator.local._scheduling._records import ScheduleRecords, check_schedule_name
from accelerator.local._scheduling._triggers import Trigger, parse_time
from accelerator.local._scope import LocalScope
from accelerator.local._store import plain
from accelerator.local.operations._base import LocalOperations


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class ScheduleOperations(LocalOperations):
    _sdk_class = sdk_operations.ScheduleOperations
    _group = "schedules"

    def __init__(
        self,
        scope: LocalScope,
        client: Any,
        *,
        resolve_component: Callable[[Any], dict[str, Any]],
        job_records: Callable[[], JobRecords],
    ) -> None:
        super().__init__(scope)
        self._client = client  # what a fire and a monitor run use: the groups' public methods
        self._resolve_component = resolve_component  # a pipeline step's component, as jobs resolve it
        self._job_records = job_records  # the workspace's job records (a schedule's job names)

    @property
    def _records(self) -> ScheduleRecords:
        return ScheduleRecords(self._scope.require_workspace())

    # -- create, enable, disable -----------------------------------------------------------------

    def begin_create_or_update(self, schedule: Schedule, **kwargs: Any) -> LROPoller[Schedule]:
        if not isinstance(schedule, (JobSchedule, MonitorSchedule)):
            raise LocalBackendUnsupportedError(
                f"ml_client.schedules.begin_create_or_update of a {type(schedule).__name__}",
                "The local backend runs JobSchedule and MonitorSchedule.",
            )
        check_schedule_name(schedule.name)
        if schedule.trigger is None:
            raise user_error("A schedule needs a trigger.", ErrorTarget.SCHEDULE)
        if isinstance(schedule, JobSchedule):
            rest = self._job_schedule_rest(schedule)
            kind = "job"
        else:
            rest = self._monitor_schedule_rest(schedule)
            kind = "monitor"
        body = plain(rest.as_dict())
        now = _now()
        enabled = body["properties"].get("isEnabled")
        enabled = True if enabled is None else bool(enabled)
        records = self._records
        with records.lock(schedule.name):
            previous = records.get(schedule.name) if records.exists(schedule.name) else None
            if previous is not None and previous["kind"] != kind:
                raise user_http_error(
                    f"Schedule '{schedule.name}' exists with another action type; "
                    "a schedule's action type cannot change."
                )
            created = previous["created"] if previous else now.isoformat()
            # Validated against the creation time: an end_time in the past is refused.
            trigger = Trigger(body["properties"]["trigger"], now)
            same_trigger = (
                previous is not None
                and previous["rest"]["properties"]["trigger"] == (body["properties"]["trigger"])
            )
            if not enabled:
                next_due = None
            elif previous is not None and previous.get("is_enabled") and same_trigger:
                next_due = previous.get("next_due")
            else:
                first = trigger.first_due(now)
                next_due = first.isoformat() if first else None
            record = {
                "name": schedule.name,
                "kind": kind,
                "scope": {
                    "subscription": self._scope.subscription_id,
                    "resource_group": self._scope.resource_group_name,
                    "workspace": self._scope.workspace_name,
                },
                "created": created,
                "updated": now.isoformat(),
                "is_enabled": enabled,
                "next_due": next_due,
                "last_due": previous.get("last_due") if previous else None,
                "rest": body,
            }
            records.put(record)
        if enabled:
            _scheduler.ensure_running(self._scope.home)
        return completed(self.get(schedule.name))

    def _job_schedule_rest(self, schedule: JobSchedule) -> Any:
        job = schedule.create_job
        if isinstance(job, BaseNode) and not isinstance(job, Command):
            job = job._to_job()
        if isinstance(job, str):
            raise LocalBackendUnsupportedError(
                "JobSchedules of an existing job's ARM id", "Give the schedule the PipelineJob itself."
            )
        if not isinstance(job, PipelineJob):
            # As the service: a schedule's job is a pipeline job (command jobs are a private preview).
            raise user_error(
                f"Unsupported job type '{type(job).__name__}' in schedule {schedule.name}: "
                "a JobSchedule runs a PipelineJob.",
                ErrorTarget.SCHEDULE,
            )
        schedule.create_job = job
        schedule._validate(raise_error=True)
        # Inline components become anonymous components, as the SDK uploads them before the request;
        # the schedule keeps their ids so every fire runs the same component versions.
        originals: dict[str, Any] = {}
        try:
            for step, node in job.jobs.items():
                if not isinstance(node, Command):
                    raise LocalBackendUnsupportedError(f"{type(node).__name__} steps in scheduled pipelines")
                originals[step] = node._component
                node._component = self._resolve_component(node.component)["id"]
            return schedule._to_rest_object()
        finally:
            for step, component in originals.items():
                job.jobs[step]._component = component

    def _monitor_schedule_rest(self, schedule: MonitorSchedule) -> Any:
        # The monitoring module fills what the SDK's _resolve_monitor_schedule_arm_id resolves (the
        # deployment's collected data, default signals) when it is installed.
        try:
            from accelerator.local._monitoring import resolve_monitor_schedule  # type: ignore[import-not-found]
        except ImportError:
            resolve_monitor_schedule = None
        if resolve_monitor_schedule is not None:
            resolve_monitor_schedule(self._client, schedule)
        return schedule._to_rest_object()

    def begin_enable(self, name: str, **kwargs: Any) -> LROPoller[Schedule]:
        self.get(name)
        return self._set_enabled(name, True)

    def begin_disable(self, name: str, **kwargs: Any) -> LROPoller[Schedule]:
        self.get(name)
        return self._set_enabled(name, False)

    def _set_enabled(self, name: str, enabled: bool) -> LROPoller[Schedule]:
        # As the SDK (get, set _is_enabled, create_or_update), without re-resolving the definition.
        records = self._records
        now = _now()
        with records.lock(name):
            record = records.get(name)
            if enabled and not record.get("is_enabled"):
                trigger = Trigger(record["rest"]["properties"]["trigger"], now)
                first = trigger.first_due(now)
                record["next_due"] = first.isoformat() if first else None
            elif not enabled:
                record["next_due"] = None
            record["is_enabled"] = enabled
            record["rest"]["properties"]["isEnabled"] = enabled
            record["updated"] = now.isoformat()
            records.put(record)
        if enabled:
            _scheduler.ensure_running(self._scope.home)
        return completed(self.get(name))

    # -- read ------------------------------------------------------------------------------------

    def get(self, name: str, **kwargs: Any) -> Schedule:
        check_schedule_name(name)
        records = self._records
        if not records.exists(name):
            raise not_found("Schedule", name, f"workspace '{self._scope.workspace_name}'")
        return self._entity(records.get(name))

    def list(
        self, *, list_view_type: ScheduleListViewType = ScheduleListViewType.ENABLED_ONLY, **kwargs: Any
    ) -> Any:
        view = str(getattr(list_view_type, "value", list_view_type)).lower().replace("_", "")
        if view not in ("enabledonly", "disabledonly", "all"):
            raise user_error(
                f"Invalid list_view_type '{list_view_type}': use ScheduleListViewType.",
                ErrorTarget.SCHEDULE,
            )
        found = []
        for record in self._records.all():
            enabled = bool(record.get("is_enabled"))
            if (view == "enabledonly" and not enabled) or (view == "disabledonly" and enabled):
                continue
            found.append(record)
        return paged(self._entity(r) for r in found)

    def _entity(self, record: dict[str, Any]) -> Schedule:
        body = dict(record["rest"])
        properties = dict(body["properties"])
        properties["isEnabled"] = bool(record.get("is_enabled"))
        properties["provisioningState"] = "Succeeded"
        body.update(
            name=record["name"],
            id=self._scope.arm_id(
                "workspaces", self._scope.workspace_name or "", "schedules", record["name"]
            ),
            type="Microsoft.MachineLearningServices/workspaces/schedules",
            properties=properties,
            systemData={
                "createdAt": record["created"],
                "createdBy": "local",
                "createdByType": "User",
                "lastModifiedAt": record["updated"],
                "lastModifiedBy": "local",
                "lastModifiedByType": "User",
            },
        )
        return Schedule._from_rest_object(RestSchedule(body))

    # -- delete, trigger ---------------------------------------------------------------------------

    def begin_delete(self, name: str, **kwargs: Any) -> LROPoller[None]:
        records = self._records
        self.get(name)
        with records.lock(name):
            record = records.get(name)
            if record.get("is_enabled"):
                raise user_http_error(
                    f"Schedule '{name}' is enabled and cannot be deleted. "
                    f"Disable it first: ml_client.schedules.begin_disable('{name}')."
                )
            records.delete(name)
        return completed(None)

    def trigger(self, name: str, **kwargs: Any) -> ScheduleTriggerResult:
        """Run the schedule's action once, as of ``schedule_time`` (default: now)."""
        schedule = self.get(name)
        schedule_time = kwargs.pop("schedule_time", None)
        record = self._records.get(name)
        tz = Trigger(record["rest"]["properties"]["trigger"], _parse(record["created"])).tz
        moment = parse_time(schedule_time, tz, "schedule_time") if schedule_time is not None else _now()
        assert moment is not None
        moment = moment.replace(microsecond=0)
        if self._job_records().exists(job_name(name, moment)):
            raise user_http_error(
                f"Schedule '{name}' was already triggered for {moment.isoformat()}: "
                f"job {job_name(name, moment)} exists."
            )
        job = fire(self._client, record, schedule, moment)
        action = "CreateMonitor" if record["kind"] == "monitor" else "CreateJob"
        return ScheduleTriggerResult(job_name=job.name, schedule_action_type=action)


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)
