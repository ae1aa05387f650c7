"""What each week decides, recorded: weeks 1-3 each write a record, week 4 the solution design.

Each record names the records it was made from by their digests, so a later notebook can tell when
an earlier week was run again since, and ask for the weeks in between to be re-run.
"""

from __future__ import annotations

import hashlib
import json
from typing import ClassVar

from pydantic import Field

from accelerator.design._types import Model
from accelerator.design.compute import Cluster, ComputeChoice
from accelerator.design.cost import CostEstimate
from accelerator.design.delivery import Branching, BranchRule, DeliveryModel
from accelerator.design.maturity import MaturityAssessment
from accelerator.design.network import NetworkChoice
from accelerator.design.operating_model import OperatingModelDecision
from accelerator.design.raci import Raci
from accelerator.design.rbac import Group, RbacPlan
from accelerator.design.team import Team
from accelerator.design.technology import TechnologyInputs
from accelerator.design.topology import (
    EnvironmentPlan,
    EnvironmentsDecision,
    EnvironmentSettings,
    WorkspaceOrganisation,
)


class Record(Model):
    KIND: ClassVar[str]
    TITLE: ClassVar[str]
    NOTEBOOK: ClassVar[str]

    based_on: dict[str, str] = Field(default_factory=dict)  # record kind -> its digest when used

    def digest(self) -> str:
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


class KickoffDecisions(Record):
    """Week 1: the team and its roles, the RACI, the operating model."""

    KIND: ClassVar[str] = "kickoff"
    TITLE: ClassVar[str] = "The record of week 1 (roles, RACI, operating model)"
    NOTEBOOK: ClassVar[str] = "01_kickoff_and_roles.ipynb"

    team: Team
    raci: Raci
    operating_model: OperatingModelDecision


class DeliveryDecisions(Record):
    """Week 2: the maturity assessment, the delivery model, the branching strategy."""

    KIND: ClassVar[str] = "delivery"
    TITLE: ClassVar[str] = "The record of week 2 (maturity, delivery, branching)"
    NOTEBOOK: ClassVar[str] = "02_maturity_and_delivery.ipynb"

    maturity: MaturityAssessment
    delivery: DeliveryModel
    branching: Branching


class ArchitectureDecisions(Record):
    """Week 3: workspace organisation, environments, compute: the environment topology."""

    KIND: ClassVar[str] = "architecture"
    TITLE: ClassVar[str] = "The record of week 3 (workspaces, environments, compute)"
    NOTEBOOK: ClassVar[str] = "03_architecture_choices.ipynb"

    project: str  # the short name in the resource names
    location: str
    technology: TechnologyInputs
    workspace_organisation: WorkspaceOrganisation
    environments: EnvironmentsDecision
    compute: ComputeChoice
    topology: list[EnvironmentPlan]
    settings: dict[str, EnvironmentSettings]
    tags: dict[str, str]
    branching: list[BranchRule]
    branching_notes: list[str]


class EnvironmentDesign(Model):
    """One environment as designed: what the infrastructure builds and week 5 creates."""

    name: str
    resource_group: str
    workspace: str
    owner: str
    purpose: str
    cluster: Cluster
    network: NetworkChoice
    role_assignments: dict[str, list[str]]  # group -> Azure built-in roles
    custom_role_assignments: dict[str, list[str]]  # group -> custom roles
    budget: float
    tags: dict[str, str]


class SolutionDesign(Record):
    """Week 4: the approved solution design, which later notebooks and the Terraform variables read."""

    KIND: ClassVar[str] = "solution"
    TITLE: ClassVar[str] = "The solution design (week 4)"
    NOTEBOOK: ClassVar[str] = "04_security_access_cost.ipynb"

    project: str
    location: str
    operating_model: OperatingModelDecision
    team: Team
    raci: Raci
    maturity: MaturityAssessment
    delivery: DeliveryModel
    branching: list[BranchRule]
    technology: TechnologyInputs
    workspace_organisation: WorkspaceOrganisation
    environments_decision: EnvironmentsDecision
    compute: ComputeChoice
    environments: list[EnvironmentDesign]
    groups: dict[str, Group]
    rbac: RbacPlan
    cost: CostEstimate

    @property
    def environment_names(self) -> list[str]:
        return [e.name for e in self.environments]

    def environment(self, name: str) -> EnvironmentDesign:
        for env in self.environments:
            if env.name == name:
                return env
        raise KeyError(f"{name} is not in the design's topology ({', '.join(self.environment_names)})")


RECORDS: tuple[type[Record], ...] = (
    KickoffDecisions,
    DeliveryDecisions,
    ArchitectureDecisions,
    SolutionDesign,
)
