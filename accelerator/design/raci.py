"""The RACI (design/raci.yaml): who is Responsible, Accountable, Consulted, Informed per activity."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from accelerator.design._types import Model, RoleKey, Text

Stage = Literal["foundation", "design", "deploy", "operate"]
STAGES: tuple[str, ...] = ("foundation", "design", "deploy", "operate")
# "AR": accountable and doing the work, as small teams often are.
Letter = Literal["R", "A", "C", "I", "AR"]


class Activity(Model):
    activity: Text
    stage: Stage
    roles: dict[RoleKey, Letter] = Field(min_length=1)

    @field_validator("roles")
    @classmethod
    def _one_accountable_someone_responsible(cls, roles: dict[str, str]) -> dict[str, str]:
        accountable = [role for role, letter in roles.items() if "A" in letter]
        if not accountable:
            raise ValueError("no Accountable: exactly one role must be A (or AR)")
        if len(accountable) > 1:
            raise ValueError(
                f"{len(accountable)} Accountable ({', '.join(accountable)}): exactly one role may be A"
            )
        if not any("R" in letter for letter in roles.values()):
            raise ValueError("no Responsible: at least one role must be R (or AR)")
        return roles

    @property
    def accountable(self) -> str:
        return next(role for role, letter in self.roles.items() if "A" in letter)

    @property
    def responsible(self) -> list[str]:
        return [role for role, letter in self.roles.items() if "R" in letter]


class Raci(Model):
    activities: list[Activity] = Field(min_length=1)

    @model_validator(mode="after")
    def _each_activity_once(self) -> Raci:
        names = [a.activity for a in self.activities]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"activities listed twice: {', '.join(twice)}")
        return self

    def find(self, activity: str) -> Activity | None:
        """The activity named ``activity``, or None."""
        return next((a for a in self.activities if a.activity == activity), None)

    def matrix(self, roles: list[str]) -> list[dict[str, str]]:
        """One row per activity, one column per role (in ``roles`` order), '' where uninvolved."""
        return [
            {"stage": a.stage, "activity": a.activity, **{r: a.roles.get(r, "") for r in roles}}
            for a in self.activities
        ]
