"""The runbook handed over in week 12: every alert, schedule, event route and pipeline that exists,
with its owners from the RACI and what to do when it fires.

What is listed comes from what exists (the workspaces' schedules and their monitors' signals,
``infra/event_subscriptions.yaml``, ``.github/workflows/``), not from what the book meant to build;
the procedures come from ``design/runbook.yaml``. Something found without a procedure is listed with
its gap, never left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure.ai.ml._restclient.arm_ml_service.models import ScheduleListViewType
from azure.ai.ml.entities import CronTrigger, MonitorSchedule, RecurrenceTrigger

from accelerator.design.inputs import DesignInputs
from accelerator.design.runbook import Procedure
from accelerator.events import load_subscriptions
from accelerator.handover._workflows import load_workflow, triggers, workflow_files

NO_PROCEDURE = "No procedure: add one to design/runbook.yaml."


@dataclass(frozen=True)
class RunbookEntry:
    kind: str  # alert | schedule | event | pipeline
    name: str
    where: str  # the workspace or the repository file
    runs: str  # when it runs or fires
    activity: str  # the RACI activity that owns it ('' when there is no procedure)
    accountable: str  # "Name (Role title)"
    responsible: str
    when: str
    do: tuple[str, ...]
    notify: tuple[str, ...] = field(default=())
    enabled: bool | None = None  # schedules and alerts: whether they are on now

    @property
    def has_procedure(self) -> bool:
        return bool(self.activity)


def owners(inputs: DesignInputs, activity: str) -> tuple[str, str]:
    """(accountable, responsible) of a RACI activity, as the people holding the roles."""
    found = inputs.raci.find(activity)
    if found is None:  # load_inputs checks runbook.yaml's activities; a hand-built input may not
        raise ValueError(f"design/raci.yaml has no activity '{activity}' (named in design/runbook.yaml)")

    def held(role: str) -> str:
        title = inputs.team.roles[role].title
        people = inputs.team.holders(role)
        return f"{', '.join(people) if people else 'nobody yet'} ({title})"

    return held(found.accountable), "; ".join(held(role) for role in found.responsible)


def describe_trigger(trigger: Any) -> str:
    """A schedule's trigger in words: "every day at 00:00 UTC", "cron 0 3 * * 1 (UTC)"."""
    zone = getattr(trigger, "time_zone", None) or "UTC"
    zone = str(getattr(zone, "value", zone))  # the SDK's default is its TimeZone enum
    if isinstance(trigger, CronTrigger):
        return f"cron {trigger.expression} ({zone})"
    if isinstance(trigger, RecurrenceTrigger):
        unit = str(trigger.frequency).lower()
        every = f"every {unit}" if trigger.interval == 1 else f"every {trigger.interval} {unit}s"
        pattern = trigger.schedule
        if pattern is not None:
            days = getattr(pattern, "week_days", None) or getattr(pattern, "month_days", None)
            if days:
                every += " on " + ", ".join(str(d) for d in days)
            hours = pattern.hours if isinstance(pattern.hours, list) else [pattern.hours]
            minutes = pattern.minutes if isinstance(pattern.minutes, list) else [pattern.minutes]
            times = [f"{h:02d}:{m:02d}" for h in hours for m in minutes if h is not None and m is not None]
            if times:
                every += " at " + ", ".join(times)
        return f"{every} {zone}"
    return type(trigger).__name__


def _entry(
    inputs: DesignInputs,
    procedure: Procedure | None,
    *,
    kind: str,
    name: str,
    where: str,
    runs: str,
    **extra: Any,
) -> RunbookEntry:
    if procedure is None:
        return RunbookEntry(kind, name, where, runs, "", "", "", NO_PROCEDURE, (), **extra)
    accountable, responsible = owners(inputs, procedure.activity)
    return RunbookEntry(
        kind,
        name,
        where,
        runs,
        procedure.activity,
        accountable,
        responsible,
        procedure.when,
        tuple(procedure.do),
        **extra,
    )


def _schedules(inputs: DesignInputs, environment: str, client: Any) -> list[RunbookEntry]:
    entries = []
    where = f"{environment} ({client.workspace_name})"
    for schedule in client.schedules.list(list_view_type=ScheduleListViewType.ALL):
        runs = describe_trigger(schedule.trigger)
        is_monitor = isinstance(schedule, MonitorSchedule)
        procedure = inputs.runbook.schedules.get("monitor" if is_monitor else "job")
        entries.append(
            _entry(
                inputs,
                procedure,
                kind="schedule",
                name=schedule.name,
                where=where,
                runs=runs,
                enabled=bool(schedule.is_enabled),
            )
        )
        if not is_monitor:
            continue
        monitor = schedule.create_monitor
        emails = tuple((monitor.alert_notification.emails or []) if monitor.alert_notification else ())
        for signal_name, signal in (monitor.monitoring_signals or {}).items():
            if not getattr(signal, "alert_enabled", False):
                continue  # computed but mails nobody: not an alert
            signal_type = str(getattr(signal.type, "value", signal.type))
            entries.append(
                _entry(
                    inputs,
                    inputs.runbook.signals.get(signal_type),
                    kind="alert",
                    name=f"{schedule.name}/{signal_name} ({signal_type})",
                    where=where,
                    runs=f"when a run of {schedule.name} breaches ({runs})",
                    notify=emails,
                    enabled=bool(schedule.is_enabled),
                )
            )
    return entries


def _events(inputs: DesignInputs, repo: Path) -> list[RunbookEntry]:
    entries = []
    for subscription in load_subscriptions(repo / "infra" / "event_subscriptions.yaml"):
        sources = ", ".join(subscription.get("source_environments") or [])
        handler = subscription.get("handler") or {}
        events = [t.rsplit(".", 1)[-1] for t in subscription.get("included_event_types") or []]
        entries.append(
            _entry(
                inputs,
                inputs.runbook.events.get(subscription["name"]),
                kind="event",
                name=subscription["name"],
                where=f"infra/event_subscriptions.yaml → {handler.get('module')}.{handler.get('function')}",
                runs=f"on {', '.join(events)} in {sources}",
            )
        )
    return entries


def _workflow_triggers(document: dict[str, Any]) -> str:
    words = []
    for event, settings in triggers(document).items():
        settings = settings or {}
        if event in ("push", "pull_request"):
            branches = settings.get("branches")
            words.append(f"{event.replace('_', ' ')}" + (f" to {', '.join(branches)}" if branches else ""))
        elif event == "schedule":
            words += [f"cron {item['cron']}" for item in settings if isinstance(item, dict)]
        elif event == "workflow_dispatch":
            words.append("by hand")
        else:
            words.append(str(event))
    return "on " + ", ".join(words) if words else "never (no trigger)"


def _pipelines(inputs: DesignInputs, repo: Path) -> list[RunbookEntry]:
    entries = []
    for path in workflow_files(repo):
        document = load_workflow(path) or {}
        entries.append(
            _entry(
                inputs,
                inputs.runbook.pipelines.get(path.name),
                kind="pipeline",
                name=str(document.get("name") or path.stem),
                where=str(path.relative_to(repo)),
                runs=_workflow_triggers(document),
            )
        )
    return entries


def build_runbook(
    inputs: DesignInputs, workspaces: Mapping[str, Any], repo: str | Path
) -> list[RunbookEntry]:
    """The runbook: alerts and schedules of every workspace (``{"dev": ml_client, ...}``), then the
    event routes and the pipelines of the repository at ``repo``."""
    repo = Path(repo)
    if not (repo / ".github").is_dir() and not (repo / "infra").is_dir():
        raise FileNotFoundError(
            f"{repo} is not the project's repository: it has no .github/ or infra/ folder"
        )
    entries: list[RunbookEntry] = []
    for environment, client in workspaces.items():
        entries += _schedules(inputs, environment, client)
    return entries + _events(inputs, repo) + _pipelines(inputs, repo)


def runbook_markdown(entries: list[RunbookEntry]) -> str:
    """The runbook as Markdown: one section per entry, owners first, then what to do."""
    lines = []
    for entry in entries:
        state = "" if entry.enabled is None else (" (enabled)" if entry.enabled else " (disabled)")
        lines.append(f"**{entry.kind}: {entry.name}**{state}, {entry.where}; runs {entry.runs}.  ")
        if entry.has_procedure:
            lines.append(f"Owner: {entry.accountable}; on call: {entry.responsible}.  ")
            if entry.notify:
                lines.append(f"Mails: {', '.join(entry.notify)}.  ")
            lines.append(f"When it fires: {entry.when}")
            lines += [f"{number}. {step}" for number, step in enumerate(entry.do, start=1)]
        else:
            lines.append(f"**{entry.when}**")
        lines.append("")
    return "\n".join(lines)
