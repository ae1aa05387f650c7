"""The runbook's procedures (design/runbook.yaml): what to do when something fires in production.

Each procedure names the RACI activity that owns it (its Accountable and Responsible people become
the owners in week 12's runbook), when it fires and the steps to take. The runbook itself is built
from these and from what exists in the workspaces and the repository (``accelerator.handover``).
"""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

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


class RunbookInputs(Model):
    """Procedures by what fires: a monitor signal's type, a schedule's kind, an event subscription's
    name (infra/event_subscriptions.yaml), a pipeline's file (.github/workflows)."""

    signals: dict[str, Procedure] = Field(default_factory=dict)
    schedules: dict[str, Procedure] = Field(default_factory=dict)
    events: dict[str, Procedure] = Field(default_factory=dict)
    pipelines: dict[str, Procedure] = Field(default_factory=dict)

    @field_validator("schedules")
    @classmethod
    def _schedule_kinds(cls, value: dict[str, Procedure]) -> dict[str, Procedure]:
        unknown = sorted(set(value) - {"job", "monitor"})
        if unknown:
            raise ValueError(f"unknown schedule kind {', '.join(unknown)}: use job or monitor")
        return value

    @field_validator("signals")
    @classmethod
    def _signal_types(cls, value: dict[str, Procedure]) -> dict[str, Procedure]:
        from azure.ai.ml.constants import MonitorSignalType

        known = {t.value for t in MonitorSignalType}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(
                f"unknown signal type {', '.join(unknown)}: use one of {', '.join(sorted(known))}"
            )
        return value
