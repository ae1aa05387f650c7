"""Centralised, federated or hub-and-spoke: the operating model decided from stated inputs.

Each input gives points to the models it favours, with the reason in words; the model with the
most points wins. The reasons are printed with the decision so the team can argue with them.
"""

from __future__ import annotations

from typing import Literal

from accelerator.design._types import Model
from accelerator.design.team import Organisation

OperatingModelName = Literal["centralised", "hub_and_spoke", "federated"]
# A tie goes to the model that keeps more in common (simpler to run, easier to change later).
MODELS: tuple[str, ...] = ("centralised", "hub_and_spoke", "federated")
DESCRIPTIONS: dict[str, str] = {
    "centralised": "one central team builds, releases and runs every model, on one platform",
    "hub_and_spoke": "a central platform team (the hub) runs the shared registry, templates, CI/CD "
    "and controls; each team (a spoke) builds and runs its own models in its own workspaces",
    "federated": "each team builds, releases and runs its own models on its own platform, "
    "following common standards agreed in a community of practice",
}


class Reason(Model):
    input: str
    value: str
    points: dict[str, int]  # operating model -> points this input gives it
    why: str


class OperatingModelDecision(Model):
    model: OperatingModelName
    scores: dict[str, int]
    reasons: list[Reason]

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.model]


def decide_operating_model(organisation: Organisation) -> OperatingModelDecision:
    """Score the three operating models from the organisation's facts; the highest score wins."""
    reasons: list[Reason] = []

    def add(name: str, value: object, why: str, **points: int) -> None:
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        reasons.append(Reason(input=name, value=shown, points=points, why=why))

    teams = organisation.teams
    if teams == 1:
        add("teams", teams, "one team builds models: there is nothing to federate", centralised=3)
    elif teams <= 4:
        add(
            "teams",
            teams,
            "a few teams: a shared platform saves each rebuilding it; one team may still serve all",
            hub_and_spoke=2,
            centralised=1,
        )
    else:
        add(
            "teams",
            teams,
            "many teams: a central team would become the bottleneck",
            hub_and_spoke=2,
            federated=2,
        )
    if organisation.data_segregation:
        add(
            "data_segregation",
            True,
            "teams' data must stay apart: each team needs workspaces of its own",
            federated=2,
            hub_and_spoke=1,
        )
    else:
        add("data_segregation", False, "data can be shared: one place keeps it simplest", centralised=1)
    if organisation.regulated:
        add(
            "regulated",
            True,
            "a regulator audits models: controls are enforced and evidenced in one place",
            hub_and_spoke=2,
            centralised=1,
        )
    else:
        add("regulated", False, "no regulator to satisfy: teams may choose their own way", federated=1)
    skills = organisation.mlops_skills
    if skills == "central":
        add(
            "mlops_skills",
            skills,
            "MLOps skills sit with a central team, which can run the platform for others",
            centralised=2,
            hub_and_spoke=2,
        )
    elif skills == "in_teams":
        add(
            "mlops_skills",
            skills,
            "every team has MLOps skills and can run its own releases",
            federated=3,
            hub_and_spoke=1,
        )
    else:
        add(
            "mlops_skills",
            skills,
            "MLOps skills are scarce: concentrate them in one team while recruiting",
            centralised=3,
        )
    scores = {m: sum(r.points.get(m, 0) for r in reasons) for m in MODELS}
    best = max(MODELS, key=lambda m: (scores[m], -MODELS.index(m)))
    return OperatingModelDecision(model=best, scores=scores, reasons=reasons)
