"""The Foundation and Design stages as data: the decisions of weeks 1-4, validated and recorded.

A team edits YAML files in ``design/`` (see ``design/README.md``); ``load_inputs`` validates them and
reports every problem as ``file:line: message``. The ``decide_*`` functions make each week's decisions
from those inputs and the notebooks' parameters; ``DesignStore`` keeps the records where the next
week finds them; ``terraform_variables`` turns the solution design into the infrastructure's inputs.
"""

from __future__ import annotations

from accelerator.design.decide import (
    assemble,
    cluster_users,
    decide_architecture,
    decide_delivery,
    decide_kickoff,
    decide_solution,
    revise,
)
from accelerator.design.deployed import DeployedTopology, deployed_topology
from accelerator.design.errors import DesignError, Problem
from accelerator.design.inputs import FILES, DesignInputs, load_inputs
from accelerator.design.records import (
    ArchitectureDecisions,
    DeliveryDecisions,
    EnvironmentDesign,
    KickoffDecisions,
    SolutionDesign,
)
from accelerator.design.store import DesignStore
from accelerator.design.terraform import render, stale_tfvars, terraform_variables, write_tfvars

__all__ = [
    "FILES",
    "ArchitectureDecisions",
    "DeliveryDecisions",
    "DeployedTopology",
    "DesignError",
    "DesignInputs",
    "DesignStore",
    "EnvironmentDesign",
    "KickoffDecisions",
    "Problem",
    "SolutionDesign",
    "assemble",
    "cluster_users",
    "decide_architecture",
    "decide_delivery",
    "decide_kickoff",
    "decide_solution",
    "deployed_topology",
    "load_inputs",
    "render",
    "revise",
    "stale_tfvars",
    "terraform_variables",
    "write_tfvars",
]
