"""The team (design/team.yaml): the accelerator's roles, the people holding them, the organisation."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from accelerator.design._types import Key, Model, RoleKey, ShortName, Text

# Who a role belongs to when the accelerator asks "what does the data science team do, and what
# the cloud operations team, to take a model to production?"
Family = Literal["business", "data_science", "operations", "application"]
FAMILY_NAMES: dict[str, str] = {
    "business": "business leads",
    "data_science": "data science team",
    "operations": "cloud operations team",
    "application": "application team",
}


class Role(Model):
    title: Text
    family: Family
    does: Text  # the role's responsibilities, in a sentence
    needed: int = Field(1, ge=0)  # how many people the project needs in this role


class Person(Model):
    name: Text
    roles: list[RoleKey] = Field(min_length=1)  # a person may hold several roles


class Names(Model):
    """Short names (1-20 lowercase letters, digits, hyphens) used in resource names."""

    project: ShortName  # workspaces per project: mlw-<project>-<env>
    team: ShortName  # workspaces per team: mlw-<team>-<env>
    organisation: ShortName  # one shared workspace: mlw-<organisation>-<env>


class Organisation(Model):
    """The facts the operating model (week 1) and later decisions are made from."""

    teams: int = Field(ge=1)  # teams (business units) that will build and run models
    data_segregation: bool  # must each team's data be kept apart from the others'?
    regulated: bool  # does a regulator audit how models are built and released?
    mlops_skills: Literal["central", "in_teams", "scarce"]  # where the MLOps skills are
    data_classification: Literal["public", "internal", "confidential", "restricted"]


class Staffing(Model):
    """One role's headcount against the people who hold it."""

    role: str
    title: str
    needed: int
    people: list[str]
    to_recruit: int


class Team(Model):
    names: Names
    organisation: Organisation
    roles: dict[Key, Role] = Field(min_length=1)
    people: list[Person]

    @field_validator("people")
    @classmethod
    def _one_entry_per_person(cls, people: list[Person]) -> list[Person]:
        names = [p.name for p in people]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"listed twice: {', '.join(twice)} (give a person all their roles in one entry)")
        return people

    def holders(self, role: str) -> list[str]:
        return [p.name for p in self.people if role in p.roles]

    def staffing(self) -> list[Staffing]:
        """Each role: how many people it needs, who holds it, and how many to recruit or assign."""
        return [
            Staffing(
                role=key,
                title=role.title,
                needed=role.needed,
                people=self.holders(key),
                to_recruit=max(0, role.needed - len(self.holders(key))),
            )
            for key, role in self.roles.items()
        ]

    def with_headcount(self, headcount: dict[str, int]) -> Team:
        """The team with other numbers of people needed per role (a notebook's ``headcount``)."""
        roles = {
            key: role.model_copy(update={"needed": headcount[key]}) if key in headcount else role
            for key, role in self.roles.items()
        }
        return self.model_copy(update={"roles": roles})
