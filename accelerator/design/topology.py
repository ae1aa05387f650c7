"""Workspace organisation and environments (design/environments.yaml), decided from stated inputs.

The decisions give the environment topology: per environment, its resource group, workspace, owner
and compute cluster, named by the book's convention. Week 5 and the Terraform variables use it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from accelerator import naming
from accelerator.design._types import EnvironmentName, Model, Region, RoleKey, Text, ordered_environments
from accelerator.design.compute import Cluster
from accelerator.design.network import NetworkOption

Scope = Literal["per_team", "per_project", "single"]


class WorkspaceInputs(Model):
    projects: int = Field(ge=1)  # projects that will run on Azure ML in the coming year
    research_only: bool  # only research and non-project work: no model goes to production
    cost_per_project: bool  # must cost be reported per project?
    data_segregation_per_project: bool  # must each project's data be kept from the others?


class TopologyInputs(Model):
    separation_of_duties: bool  # must those who build a model be others than those who release it?


class EnvironmentSettings(Model):
    owner: RoleKey | None = Field(None, validate_default=True)  # the role that owns the environment
    purpose: Text
    network: NetworkOption | None = None  # None: decided in week 4 from the data's classification
    tags: dict[str, str] = Field(default_factory=dict)  # on this environment's resources

    @field_validator("owner")
    @classmethod
    def _has_owner(cls, owner: str | None) -> str:
        if owner is None:
            raise ValueError("no owner: name the role that owns this environment (owner: <role>)")
        return owner


class EnvironmentsInputs(Model):
    location: Region
    workspaces: WorkspaceInputs
    topology: TopologyInputs
    environments: dict[EnvironmentName, EnvironmentSettings]
    tags: dict[str, str] = Field(default_factory=dict)  # on every environment's resources

    @field_validator("environments")
    @classmethod
    def _every_environment_set(cls, environments: dict[str, EnvironmentSettings]) -> dict:
        # Settings for each environment the topology may include: week 3 chooses among them.
        missing = [e for e in naming.ENVIRONMENTS if e not in environments]
        if missing:
            raise ValueError(
                f"no settings for {', '.join(missing)}: "
                "set dev, test and prod (week 3 decides which are built)"
            )
        return environments


class WorkspaceOrganisation(Model):
    scope: Scope
    name: str  # the short name in the workspaces' names
    workspaces_per_environment: int
    reasons: list[Text]


class EnvironmentsDecision(Model):
    names: list[str]
    decided_by: Literal["inputs", "parameter"]
    reasons: list[Text]


class EnvironmentPlan(Model):
    """One environment of the topology."""

    name: str
    resource_group: str
    workspace: str
    owner: str
    purpose: str
    cluster: Cluster


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def organise_workspaces(inputs: WorkspaceInputs, teams: int, names: dict[str, str]) -> WorkspaceOrganisation:
    """Per team, per project or a single workspace (per environment), with the reasons."""
    if inputs.research_only:
        return WorkspaceOrganisation(
            scope="single",
            name=names["organisation"],
            workspaces_per_environment=1,
            reasons=[
                "research and non-project work only: one shared workspace is enough",
                "it clutters once projects arrive: revisit this when a model heads for production",
            ],
        )
    if inputs.cost_per_project or inputs.data_segregation_per_project:
        why = [
            w
            for w, needed in (
                ("cost is reported per project", inputs.cost_per_project),
                ("each project's data is kept from the others", inputs.data_segregation_per_project),
            )
            if needed
        ]
        return WorkspaceOrganisation(
            scope="per_project",
            name=names["project"],
            workspaces_per_environment=inputs.projects,
            reasons=[
                f"{' and '.join(why)}: a workspace per project separates both",
                f"{_count(inputs.projects, 'project')}: {_count(inputs.projects, 'workspace')} "
                "per environment; assets are shared across projects through the registry",
            ],
        )
    return WorkspaceOrganisation(
        scope="per_team",
        name=names["team"],
        workspaces_per_environment=teams,
        reasons=[
            "no cost or data separation between projects is needed: a workspace per team shares "
            "assets and data access among the team's projects",
            f"{_count(teams, 'team')}: {_count(teams, 'workspace')} per environment",
        ],
    )


def decide_environments(
    workspaces: WorkspaceInputs,
    topology: TopologyInputs,
    regulated: bool,
    target_level: int,
    chosen: str | list[str] | None = None,
) -> EnvironmentsDecision:
    """dev; dev and prod; or dev, test and prod. ``chosen`` (a parameter) overrides the rules."""
    if chosen is not None:
        names = naming.check_environments(chosen)
        if "dev" not in names:
            raise ValueError(f"the topology needs dev, where models are developed: {', '.join(names)}")
        return EnvironmentsDecision(
            names=names,
            decided_by="parameter",
            reasons=[f"chosen by the environments parameter: {', '.join(names)}"],
        )
    if workspaces.research_only:
        return EnvironmentsDecision(
            names=["dev"],
            decided_by="inputs",
            reasons=["research only: nothing is released, a single environment suffices"],
        )
    reasons = ["models go to production: dev to build them, prod to run them, in separate workspaces"]
    needs_test = []
    if regulated:
        needs_test.append("a regulator expects each release tested in an environment like production")
    if topology.separation_of_duties:
        needs_test.append("separation of duties: others than the builders test and release")
    if target_level >= 3:
        needs_test.append(
            f"target maturity level {target_level} automates deployment: automated tests gate each "
            "release in a stage between dev and prod"
        )
    if needs_test:
        reasons += [f"test: {why}" for why in needs_test]
        return EnvironmentsDecision(names=["dev", "test", "prod"], decided_by="inputs", reasons=reasons)
    reasons.append(
        f"not regulated, no separation of duties, target level {target_level}: start with dev and prod"
    )
    return EnvironmentsDecision(names=["dev", "prod"], decided_by="inputs", reasons=reasons)


def plan_environments(
    environments: list[str],
    name: str,
    settings: dict[str, EnvironmentSettings],
    clusters: dict[str, Cluster],
) -> list[EnvironmentPlan]:
    """The topology: each chosen environment named by the convention, with its owner and cluster."""
    return [
        EnvironmentPlan(
            name=env,
            resource_group=naming.resource_group_name(env, name),
            workspace=naming.workspace_name(env, name),
            owner=settings[env].owner or "",
            purpose=settings[env].purpose,
            cluster=clusters[env],
        )
        for env in ordered_environments(environments)
    ]
