"""The delivery model and branching strategy (design/delivery.yaml): which branch deploys where."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from accelerator import naming
from accelerator.design._types import EnvironmentName, Model, RoleKey, Text


class DeliveryModel(Model):
    method: Literal["scrum", "kanban"]
    iteration_weeks: int = Field(ge=1, le=6)  # a sprint, or kanban's review cadence
    definition_of_done: list[Text] = Field(min_length=1)


class BranchRule(Model):
    """Changes on ``branch`` (a name or pattern), when ``trigger`` happens, deploy to ``environment``."""

    branch: Text
    trigger: Text
    environment: EnvironmentName
    runs: Text  # what the pipeline does there
    approval: RoleKey | None = None  # the role that approves before it deploys


class Branching(Model):
    strategy: Literal["trunk-based", "gitflow"]
    rules: list[BranchRule] = Field(min_length=1)

    @field_validator("rules")
    @classmethod
    def _every_environment_deployed_and_prod_approved(cls, rules: list[BranchRule]) -> list[BranchRule]:
        # Rules for every environment the topology may have: week 3 keeps those it needs.
        missing = [e for e in naming.ENVIRONMENTS if not any(r.environment == e for r in rules)]
        if missing:
            raise ValueError(f"no branch deploys to {', '.join(missing)}: add a rule for each environment")
        unapproved = [r.branch for r in rules if r.environment == "prod" and r.approval is None]
        if unapproved:
            branches = ", ".join(unapproved)
            raise ValueError(f"{branches} deploys to prod without an approval: name the approving role")
        return rules

    def for_environments(self, environments: list[str]) -> tuple[list[BranchRule], list[str]]:
        """The rules that apply to a topology, and a note for each rule it drops."""
        kept = [r for r in self.rules if r.environment in environments]
        dropped = [
            f"{r.branch} -> {r.environment}: no {r.environment} environment in this topology"
            for r in self.rules
            if r.environment not in environments
        ]
        return kept, dropped


class DeliveryInputs(Model):
    delivery: DeliveryModel
    branching: Branching
