"""The design's decisions, week by week, from the inputs and the notebooks' parameters.

Each function takes the validated inputs, the records of the weeks before, and optional overrides
(a notebook's parameters: ``None`` keeps the file's value), and returns the week's record.
``assemble`` runs all four with no overrides: the design the files alone describe.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from accelerator.design.compute import choose_compute
from accelerator.design.cost import estimate_cost
from accelerator.design.errors import DesignError, Problem
from accelerator.design.inputs import DesignInputs
from accelerator.design.maturity import assess
from accelerator.design.network import NetworkOption, choose_network
from accelerator.design.operating_model import decide_operating_model
from accelerator.design.rbac import plan_rbac
from accelerator.design.records import (
    ArchitectureDecisions,
    DeliveryDecisions,
    EnvironmentDesign,
    KickoffDecisions,
    SolutionDesign,
)
from accelerator.design.sources import describe
from accelerator.design.topology import decide_environments, organise_workspaces, plan_environments

M = TypeVar("M", bound=BaseModel)
MANAGED_BY = "mlops-accelerator"


def _parameter_problems(error: ValidationError) -> list[Problem]:
    problems = []
    for e in error.errors():
        name, rest = (str(e["loc"][0]), e["loc"][1:]) if e["loc"] else ("", ())
        problems.append(Problem(f"parameter {name}".strip(), None, describe({**e, "loc": rest})))
    return problems


def revise(model: M, **changes: Any) -> M:
    """``model`` with the given values (``None`` leaves a value as it is), validated again."""
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        return model
    try:
        return type(model).model_validate({**model.model_dump(), **changes})
    except ValidationError as error:
        raise DesignError(_parameter_problems(error)) from None


def _parameter(name: str, kind: Any, value: Any) -> Any:
    try:
        return TypeAdapter(kind).validate_python(value)
    except ValidationError as error:
        raise DesignError(Problem(f"parameter {name}", None, describe(e)) for e in error.errors()) from None


def decide_kickoff(
    inputs: DesignInputs,
    *,
    headcount: dict[str, int] | None = None,
    teams: int | None = None,
    data_segregation: bool | None = None,
    regulated: bool | None = None,
    mlops_skills: str | None = None,
) -> KickoffDecisions:
    """Week 1: the team (``headcount``: people needed per role), the RACI, the operating model."""
    team = inputs.team
    if headcount:
        unknown = [role for role in headcount if role not in team.roles]
        if unknown:
            raise DesignError(
                [
                    Problem("parameter headcount", None, f"unknown role '{r}': not in team.yaml")
                    for r in unknown
                ]
            )
        needed = _parameter("headcount", dict[str, int], headcount)
        team = team.model_copy(
            update={"roles": {k: revise(r, needed=needed.get(k)) for k, r in team.roles.items()}}
        )
    organisation = revise(
        team.organisation,
        teams=teams,
        data_segregation=data_segregation,
        regulated=regulated,
        mlops_skills=mlops_skills,
    )
    team = team.model_copy(update={"organisation": organisation})
    return KickoffDecisions(team=team, raci=inputs.raci, operating_model=decide_operating_model(organisation))


def decide_delivery(
    inputs: DesignInputs,
    kickoff: KickoffDecisions,
    *,
    answers: dict[str, bool] | None = None,
    target_level: int | None = None,
) -> DeliveryDecisions:
    """Week 2: the maturity assessment (``answers`` replace the file's for the practices they name)."""
    maturity = revise(
        inputs.maturity,
        answers={**inputs.maturity.answers, **answers} if answers else None,
        target_level=target_level,
    )
    return DeliveryDecisions(
        maturity=assess(maturity.answers, maturity.target_level),
        delivery=inputs.delivery.delivery,
        branching=inputs.delivery.branching,
        based_on={kickoff.KIND: kickoff.digest()},
    )


def cluster_users(inputs: DesignInputs, kickoff: KickoffDecisions) -> int:
    """People sharing the dev cluster: those the project needs in the roles compute.yaml names."""
    return sum(kickoff.team.roles[role].needed for role in inputs.compute.cluster_users)


def decide_architecture(
    inputs: DesignInputs,
    kickoff: KickoffDecisions,
    delivery: DeliveryDecisions,
    *,
    environments: str | list[str] | None = None,
    location: str | None = None,
    projects: int | None = None,
    research_only: bool | None = None,
    cost_per_project: bool | None = None,
    separation_of_duties: bool | None = None,
    data_size_gb: float | None = None,
    model_family: str | None = None,
    gpu: bool | None = None,
    budget: str | None = None,
) -> ArchitectureDecisions:
    """Week 3: workspace organisation, environments (``environments`` overrides the rules), compute."""
    settings = revise(inputs.environments, location=location)
    workspaces = revise(
        settings.workspaces, projects=projects, research_only=research_only, cost_per_project=cost_per_project
    )
    topology_inputs = revise(settings.topology, separation_of_duties=separation_of_duties)
    workload = revise(
        inputs.compute.workload, data_size_gb=data_size_gb, model_family=model_family, gpu=gpu, budget=budget
    )
    team = kickoff.team
    organisation = organise_workspaces(workspaces, team.organisation.teams, team.names.model_dump())
    try:
        decision = decide_environments(
            workspaces,
            topology_inputs,
            team.organisation.regulated,
            delivery.maturity.target_level,
            chosen=environments,
        )
    except ValueError as error:
        raise DesignError([Problem("parameter environments", None, str(error))]) from None
    prices = inputs.cost.prices
    compute = choose_compute(workload, cluster_users(inputs, kickoff), prices, inputs.compute.cluster_name)
    topology = plan_environments(decision.names, organisation.name, settings.environments, compute.clusters)
    rules, notes = delivery.branching.for_environments(decision.names)
    return ArchitectureDecisions(
        project=organisation.name,
        location=settings.location,
        technology=inputs.technology,
        workspace_organisation=organisation,
        environments=decision,
        compute=compute,
        topology=topology,
        settings={env: settings.environments[env] for env in decision.names},
        tags=settings.tags,
        branching=rules,
        branching_notes=notes,
        based_on={kickoff.KIND: kickoff.digest(), delivery.KIND: delivery.digest()},
    )


def decide_solution(
    inputs: DesignInputs,
    kickoff: KickoffDecisions,
    delivery: DeliveryDecisions,
    architecture: ArchitectureDecisions,
    *,
    network: str | dict[str, str] | None = None,
    prices: dict[str, float] | None = None,
    node_hours: dict[str, float] | None = None,
) -> SolutionDesign:
    """Week 4: network, access and cost per environment, and the assembled solution design.

    ``network`` is one option for every environment or one per environment; ``prices`` (per
    node-hour by VM size) and ``node_hours`` (training node-hours a month by environment) override
    cost.yaml's.
    """
    names = [plan.name for plan in architecture.topology]
    if isinstance(network, str):
        network = dict.fromkeys(names, network)
    chosen = _parameter("network", dict[str, NetworkOption], network or {})
    _check_in_topology("network", chosen, names)
    organisation = kickoff.team.organisation
    networks = {
        env: choose_network(
            env,
            organisation.data_classification,
            organisation.regulated,
            chosen.get(env) or architecture.settings[env].network,
        )
        for env in names
    }
    rbac = plan_rbac(inputs.rbac, {plan.name: plan.resource_group for plan in architecture.topology})
    cost_inputs = revise(inputs.cost, prices={**inputs.cost.prices, **prices} if prices else None)
    hours = _parameter("node_hours", dict[str, float], node_hours or {})
    _check_in_topology("node_hours", hours, names)
    cost = estimate_cost(
        cost_inputs,
        {plan.name: plan.cluster for plan in architecture.topology},
        networks,
        cluster_users(inputs, kickoff),
        hours,
    )
    environments = [
        EnvironmentDesign(
            name=plan.name,
            resource_group=plan.resource_group,
            workspace=plan.workspace,
            owner=plan.owner,
            purpose=plan.purpose,
            cluster=plan.cluster,
            network=networks[plan.name],
            role_assignments=rbac.builtin[plan.name],
            custom_role_assignments=rbac.custom[plan.name],
            budget=cost.budgets[plan.name],
            tags={
                **architecture.tags,
                **architecture.settings[plan.name].tags,
                "project": architecture.project,
                "environment": plan.name,
                "owner": plan.owner,
                "managed-by": MANAGED_BY,
            },
        )
        for plan in architecture.topology
    ]
    return SolutionDesign(
        project=architecture.project,
        location=architecture.location,
        operating_model=kickoff.operating_model,
        team=kickoff.team,
        raci=kickoff.raci,
        maturity=delivery.maturity,
        delivery=delivery.delivery,
        branching=architecture.branching,
        technology=architecture.technology,
        workspace_organisation=architecture.workspace_organisation,
        environments_decision=architecture.environments,
        compute=architecture.compute,
        environments=environments,
        groups=dict(inputs.rbac.groups),
        rbac=rbac,
        cost=cost,
        based_on={
            kickoff.KIND: kickoff.digest(),
            delivery.KIND: delivery.digest(),
            architecture.KIND: architecture.digest(),
        },
    )


def assemble(inputs: DesignInputs) -> SolutionDesign:
    """The solution design the input files alone describe (no notebook parameters)."""
    kickoff = decide_kickoff(inputs)
    delivery = decide_delivery(inputs, kickoff)
    architecture = decide_architecture(inputs, kickoff, delivery)
    return decide_solution(inputs, kickoff, delivery, architecture)


def _check_in_topology(parameter: str, environments: Any, names: list[str]) -> None:
    """A per-environment parameter may name only the topology's environments."""
    unknown = [env for env in environments if env not in names]
    if unknown:
        raise DesignError(
            [
                Problem(f"parameter {parameter}", None, f"{e} is not in the topology ({', '.join(names)})")
                for e in unknown
            ]
        )
