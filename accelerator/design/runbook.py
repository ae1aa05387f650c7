"""The runbook's procedures (design/runbook.yaml): what to do when something fires in production.

Each procedure names the RACI activity that owns it (its Accountable and Responsible people become
the owners in week 12's runbook), when it fires and the steps to take. The runbook itself is built
from these and from what exists in the workspaces and the repository (``accelerator.handover``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from accelerator.design._types import Model, Text


class Procedure(Model):
    activity: Text
    when: Text
    do: list[Text] = Field(min_length=1)

    @field_validator("activity")
    @classmethod
    def _known_activity(cls, value: str, info: ValidationInfo) -> str:
        # raci.yaml's activities, passed as context when the design folder is loaded.
        activities = (info.context or {}).get("activities")
        if activities is not None and value not in activities:
            raise ValueError(f"unknown activity '{value}': not an activity of raci.yaml")
        return value


def _signal_type(value: str) -> str:
    from azure.ai.ml.constants import MonitorSignalType

    known = sorted(t.value for t in MonitorSignalType)
    if value not in known:
        raise ValueError(f"unknown signal type {value}: use one of {', '.join(known)}")
    return value


def _schedule_kind(value: str) -> str:
    if value not in ("job", "monitor"):
        raise ValueError(f"unknown schedule kind {value}: use job (JobSchedule) or monitor (MonitorSchedule)")
    return value


# Checked key by key, so that a wrong key and a wrong procedure are both reported.
SignalType = Annotated[str, AfterValidator(_signal_type)]
ScheduleKind = Annotated[str, AfterValidator(_schedule_kind)]


class RunbookInputs(Model):
    """Procedures by what fires: a monitor signal's type, a schedule's kind, an event subscription's
    name (infra/event_subscriptions.yaml), a pipeline's file (.github/workflows)."""

    signals: dict[SignalType, Procedure] = Field(default_factory=dict)
    schedules: dict[ScheduleKind, Procedure] = Field(default_factory=dict)
    events: dict[str, Procedure] = Field(default_factory=dict)
    pipelines: dict[str, Procedure] = Field(default_factory=dict)
