"""The decisions of weeks 1-4: operating model, workspaces, environments, compute, access, network, cost."""

from __future__ import annotations

import pytest
from design_inputs import DESIGN

from accelerator import design
from accelerator.design.compute import Workload, choose_compute
from accelerator.design.network import choose_network
from accelerator.design.operating_model import decide_operating_model
from accelerator.design.team import Organisation


@pytest.fixture(scope="module")
def inputs():
    return design.load_inputs(DESIGN)


def organisation(**changes) -> Organisation:
    facts = dict(
        teams=1,
        data_segregation=False,
        regulated=False,
        mlops_skills="central",
        data_classification="internal",
    )
    return Organisation(**{**facts, **changes})


def architecture(inputs, kickoff=None, delivery=None, **overrides):
    kickoff = kickoff or design.decide_kickoff(inputs)
    delivery = delivery or design.decide_delivery(inputs, kickoff)
    return design.decide_architecture(inputs, kickoff, delivery, **overrides)


# Operating model


def test_one_team_with_central_skills_is_centralised():
    decision = decide_operating_model(organisation())
    assert decision.model == "centralised"
    assert decision.scores == {"centralised": 6, "hub_and_spoke": 2, "federated": 1}
    assert [r.input for r in decision.reasons] == ["teams", "data_segregation", "regulated", "mlops_skills"]
    assert decision.reasons[0].why == "one team builds models: there is nothing to federate"


def test_several_regulated_teams_with_segregated_data_are_hub_and_spoke():
    decision = decide_operating_model(organisation(teams=4, data_segregation=True, regulated=True))
    assert decision.model == "hub_and_spoke"
    assert decision.scores == {"centralised": 4, "hub_and_spoke": 7, "federated": 2}


def test_many_skilled_teams_with_their_own_data_are_federated():
    decision = decide_operating_model(organisation(teams=6, data_segregation=True, mlops_skills="in_teams"))
    assert decision.model == "federated"
    assert decision.scores == {"centralised": 0, "hub_and_spoke": 4, "federated": 8}


def test_scarce_skills_pull_towards_one_team():
    decision = decide_operating_model(organisation(teams=3, mlops_skills="scarce"))
    assert decision.model == "centralised"
    assert "scarce" in decision.reasons[-1].why


def test_a_tie_goes_to_the_model_that_keeps_more_in_common():
    # teams 2-4: hub 2, centralised 1; segregation: federated 2, hub 1; regulated: hub 2, centralised 1;
    # skills in teams: federated 3, hub 1. Hub 6, federated 5, centralised 2.
    decision = decide_operating_model(
        organisation(teams=3, data_segregation=True, regulated=True, mlops_skills="in_teams")
    )
    assert decision.scores == {"centralised": 2, "hub_and_spoke": 6, "federated": 5}
    tied = decide_operating_model(organisation(teams=2))
    assert tied.scores == {"centralised": 4, "hub_and_spoke": 4, "federated": 1}
    assert tied.model == "centralised"


def test_week_1_parameters_change_the_team_and_the_decision(inputs):
    kickoff = design.decide_kickoff(
        inputs, teams=6, data_segregation=True, mlops_skills="in_teams", headcount={"data_scientist": 6}
    )
    assert kickoff.operating_model.model == "federated"
    staffing = {s.role: s for s in kickoff.team.staffing()}
    assert staffing["data_scientist"].needed == 6
    assert staffing["data_scientist"].to_recruit == 4
    assert staffing["tester"].to_recruit == 1
    assert design.decide_kickoff(inputs).team.organisation.teams == 1  # the inputs are unchanged


def test_week_1_parameter_errors_name_the_parameter(inputs):
    with pytest.raises(design.DesignError) as raised:
        design.decide_kickoff(inputs, teams=0, mlops_skills="everywhere")
    assert [str(p) for p in raised.value.problems] == [
        "parameter teams: Input should be greater than or equal to 1",
        "parameter mlops_skills: Input should be 'central', 'in_teams' or 'scarce'",
    ]
    with pytest.raises(design.DesignError, match="parameter headcount: unknown role 'wizard'"):
        design.decide_kickoff(inputs, headcount={"wizard": 1})
    with pytest.raises(
        design.DesignError, match="parameter needed: Input should be greater than or equal to 0"
    ):
        design.decide_kickoff(inputs, headcount={"tester": -1})


# Workspaces and environments


def test_the_committed_inputs_give_per_project_workspaces_and_three_environments(inputs):
    decided = architecture(inputs)
    assert decided.workspace_organisation.scope == "per_project"
    assert decided.project == "taxi"
    assert decided.environments.names == ["dev", "test", "prod"]
    assert decided.environments.decided_by == "inputs"
    assert any("target maturity level 3" in r for r in decided.environments.reasons)
    assert [(p.name, p.resource_group, p.workspace, p.owner) for p in decided.topology] == [
        ("dev", "rg-taxi-dev", "mlw-taxi-dev", "team_lead"),
        ("test", "rg-taxi-test", "mlw-taxi-test", "mlops_engineer"),
        ("prod", "rg-taxi-prod", "mlw-taxi-prod", "project_lead"),
    ]


def test_without_cost_separation_workspaces_are_per_team(inputs):
    decided = architecture(inputs, cost_per_project=False, projects=3)
    assert decided.workspace_organisation.scope == "per_team"
    assert decided.project == "fares"  # the team's short name
    assert decided.topology[0].workspace == "mlw-fares-dev"
    assert decided.workspace_organisation.workspaces_per_environment == 1


def test_research_only_is_one_shared_workspace_and_one_environment(inputs):
    decided = architecture(inputs, research_only=True)
    assert decided.workspace_organisation.scope == "single"
    assert decided.project == "contoso"
    assert decided.environments.names == ["dev"]
    assert [r.environment for r in decided.branching] == ["dev", "dev"]
    assert decided.branching_notes == [
        "main -> test: no test environment in this topology",
        "main -> prod: no prod environment in this topology",
    ]


def test_target_level_2_without_regulation_is_dev_and_prod(inputs):
    kickoff = design.decide_kickoff(inputs)
    delivery = design.decide_delivery(inputs, kickoff, target_level=2)
    decided = architecture(inputs, kickoff, delivery)
    assert decided.environments.names == ["dev", "prod"]
    assert [p.workspace for p in decided.topology] == ["mlw-taxi-dev", "mlw-taxi-prod"]
    # Regulation, or separation of duties, brings test back.
    regulated = design.decide_kickoff(inputs, regulated=True)
    assert architecture(
        inputs, regulated, design.decide_delivery(inputs, regulated, target_level=2)
    ).environments.names == [
        "dev",
        "test",
        "prod",
    ]
    assert architecture(inputs, kickoff, delivery, separation_of_duties=True).environments.names == [
        "dev",
        "test",
        "prod",
    ]


def test_the_environments_parameter_overrides_the_rules(inputs):
    decided = architecture(inputs, environments="prod, dev")
    assert decided.environments.names == ["dev", "prod"]
    assert decided.environments.decided_by == "parameter"
    assert list(decided.settings) == ["dev", "prod"]
    for bad, message in [
        ("dev,staging", "Unknown environment 'staging'"),
        ("test,prod", "the topology needs dev"),
        (["dev", "dev"], "named twice"),
    ]:
        with pytest.raises(design.DesignError, match=message) as raised:
            architecture(inputs, environments=bad)
        assert raised.value.problems[0].source == "parameter environments"


# Compute


def workload(**changes) -> Workload:
    values = dict(data_size_gb=2, model_family="classical", gpu=False, budget="low")
    return Workload(**{**values, **changes})


def test_small_tabular_data_gets_the_cheapest_general_purpose_size_that_holds_it():
    choice = choose_compute(workload(), cluster_users=2)
    assert (choice.family, choice.vm_size, choice.memory_needed_gib) == (
        "general_purpose",
        "Standard_DS3_v2",
        8,
    )
    assert {
        env: (c.tier, c.max_nodes, c.idle_seconds_before_scaledown) for env, c in choice.clusters.items()
    } == {
        "dev": ("low_priority", 2, 900),
        "test": ("dedicated", 2, 300),
        "prod": ("dedicated", 4, 300),
    }
    assert all(c.min_nodes == 0 and c.name == "cpu-cluster" for c in choice.clusters.values())
    chosen = [c for c in choice.candidates if c["chosen"]]
    assert [c["vm_size"] for c in chosen] == ["Standard_DS3_v2"]


def test_more_data_than_the_budget_buys_in_general_purpose_moves_to_memory_optimised():
    choice = choose_compute(workload(data_size_gb=10), cluster_users=2)
    assert (choice.family, choice.vm_size) == ("memory_optimised", "Standard_E8s_v3")
    assert "no general-purpose size will do: memory-optimised" in choice.reasons
    assert choose_compute(workload(data_size_gb=10, budget="medium"), 2).vm_size == "Standard_DS5_v2"


def test_gradient_boosting_gpus_and_fine_tuning():
    assert choose_compute(workload(model_family="gradient_boosting"), 2).vm_size == "Standard_F4s_v2"
    gpu = choose_compute(workload(gpu=True), 2)
    assert (gpu.family, gpu.vm_size, gpu.clusters["dev"].name) == (
        "gpu",
        "Standard_NC4as_T4_v3",
        "gpu-cluster",
    )
    tuning = choose_compute(workload(model_family="fine_tuning", budget="high"), 2)
    assert tuning.vm_size == "Standard_NC24ads_A100_v4"
    over = choose_compute(workload(model_family="fine_tuning"), 2)  # nothing with an A100 fits a low budget
    assert over.vm_size == "Standard_NC24ads_A100_v4"
    assert any("no size fits within the budget" in r for r in over.reasons)


def test_data_no_node_holds_is_told_to_be_sampled_or_distributed():
    choice = choose_compute(workload(data_size_gb=500, budget="high"), 2)
    assert choice.vm_size == "Standard_E32s_v3"
    assert any("no single node holds the data" in r for r in choice.reasons)


def test_cluster_sizes_follow_the_team_and_the_budget():
    assert choose_compute(workload(), cluster_users=3).clusters["dev"].max_nodes == 3
    assert choose_compute(workload(), cluster_users=9).clusters["dev"].max_nodes == 4  # low budget: 4 at most
    high = choose_compute(workload(budget="high"), cluster_users=9)
    assert (high.clusters["dev"].max_nodes, high.clusters["dev"].idle_seconds_before_scaledown) == (9, 1800)


def test_own_prices_change_the_choice():
    # With the team's price for DS4_v2 below DS3_v2's, the cheapest size that fits is DS4_v2.
    choice = choose_compute(workload(), 2, prices={"Standard_DS4_v2": 0.2})
    assert (choice.vm_size, choice.price_per_hour) == ("Standard_DS4_v2", 0.2)


# Network, access and cost


def test_network_follows_the_data_classification_unless_stated():
    assert choose_network("dev", "internal", False).option == "public"
    prod = choose_network("prod", "internal", False)
    assert (prod.option, prod.private_networking, prod.public_network_access) == ("managed_vnet", True, True)
    assert choose_network("dev", "confidential", False).option == "managed_vnet"
    assert choose_network("prod", "confidential", False).option == "private"
    closed = choose_network("dev", "public", True)
    assert (closed.option, closed.private_networking, closed.public_network_access) == (
        "private",
        True,
        False,
    )
    stated = choose_network("prod", "restricted", True, chosen="public")
    assert (stated.option, stated.reason) == ("public", "stated in the design")


def solution(inputs, architecture_overrides=None, **overrides):
    kickoff = design.decide_kickoff(inputs)
    delivery = design.decide_delivery(inputs, kickoff)
    decided = design.decide_architecture(inputs, kickoff, delivery, **(architecture_overrides or {}))
    return design.decide_solution(inputs, kickoff, delivery, decided, **overrides)


def test_rbac_per_environment(inputs):
    plan = solution(inputs).rbac
    assert plan.builtin["dev"]["data_scientists"][0] == "AzureML Data Scientist"
    assert plan.builtin["prod"]["data_scientists"] == ["Reader"]
    assert plan.builtin["test"]["pipeline"] == plan.builtin["prod"]["pipeline"]
    assert plan.builtin["prod"]["pipeline"] == ["AzureML Data Scientist", "Storage Blob Data Contributor"]
    assert plan.builtin["prod"]["ml_engineers"] == ["Reader"]
    assert plan.custom["prod"] == {"ml_engineers": ["MLOps Endpoint Operator"]}
    assert "app_developers" not in plan.builtin["dev"]  # a group with no role in an environment is left out
    definition = plan.definitions["MLOps Endpoint Operator"]
    assert definition["IsCustom"] is True
    assert definition["AssignableScopes"] == ["/subscriptions/<subscription-id>/resourceGroups/rg-taxi-prod"]
    assert "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/write" in definition["Actions"]


def test_a_topology_without_the_custom_roles_environment_defines_none(inputs):
    plan = solution(inputs, {"environments": "dev,test"}).rbac
    assert plan.definitions == {}
    assert list(plan.builtin) == ["dev", "test"]


def test_access_by_person(inputs):
    from accelerator.design.rbac import access_by_person

    designed = solution(inputs)
    rows = {row["person"]: row for row in access_by_person(designed.team.people, inputs.rbac, designed.rbac)}
    assert rows["Priya Shah"] == {
        "person": "Priya Shah",
        "groups": "data_scientists",
        "dev": "AzureML Data Scientist, Storage Blob Data Contributor, "
        "Storage File Data Privileged Contributor",
        "test": "Reader",
        "prod": "Reader",
    }
    assert rows["Tom Becker"]["prod"] == "Reader, MLOps Endpoint Operator"
    assert rows["Lena Novak"]["dev"] == "-"


def test_the_cost_estimate(inputs):
    cost = solution(inputs).cost
    lines = {(line.environment, line.item): line for line in cost.lines}
    # dev: 40 node-hours for each of 2 data scientists, at 20% of 0.293 (low priority); basic registry
    assert lines["dev", "training compute"].quantity == 80
    assert lines["dev", "training compute"].monthly == round(80 * 0.293 * 0.2, 2)
    assert lines["dev", "workspace services"].monthly == 20 + 1 + 10 + 5
    assert ("dev", "private endpoints") not in lines  # public in dev
    # prod: managed virtual network, so a premium registry and 5 private endpoints; 2 endpoint instances
    assert lines["prod", "online endpoint"].quantity == 2 * 730
    assert lines["prod", "online endpoint"].monthly == round(2 * 730 * 0.293, 2)
    assert lines["prod", "workspace services"].monthly == 20 + 1 + 10 + 50
    assert lines["prod", "private endpoints"].monthly == round(5 * 7.3, 2)
    assert cost.totals == {"dev": 40.69, "test": 337.25, "prod": 557.0}
    assert cost.total == 934.94
    assert cost.price_source == {"Standard_DS3_v2": "indicative, from the VM table"}


def test_cost_parameters_prices_hours_and_network(inputs):
    cheaper = solution(inputs, prices={"Standard_DS3_v2": 0.1}).cost
    assert cheaper.prices == {"Standard_DS3_v2": 0.1}
    assert cheaper.price_source == {"Standard_DS3_v2": "given in the design"}
    assert cheaper.totals["prod"] < 557.0
    hours = solution(inputs, node_hours={"dev": 500}).cost
    dev = next(line for line in hours.lines if line.item == "training compute" and line.environment == "dev")
    assert dev.quantity == 500
    private = solution(inputs, network="private")
    assert {e.name: e.network.public_network_access for e in private.environments} == {
        "dev": False,
        "test": False,
        "prod": False,
    }
    assert private.cost.totals["dev"] > 40.69  # premium registry and private endpoints
    assert solution(inputs, network={"dev": "managed_vnet"}).environment("dev").network.private_networking
    for overrides, message in [
        (
            {"network": "closed"},
            "parameter network: dev: Input should be 'public', 'managed_vnet' or 'private'",
        ),
        ({"network": {"staging": "public"}}, "parameter network: staging is not in the topology"),
        ({"node_hours": {"test": "many"}}, "parameter node_hours: test: Input should be a valid number"),
        ({"node_hours": {"staging": 10}}, "parameter node_hours: staging is not in the topology"),
        (
            {"prices": {"Standard_Q9": 1.0}},
            "parameter prices: Standard_Q9: Standard_Q9 is not in the VM table",
        ),
    ]:
        with pytest.raises(design.DesignError) as raised:
            solution(inputs, **overrides)
        assert str(raised.value.problems[0]).startswith(message), raised.value.problems[0]


def test_the_solution_design_and_its_environments(inputs):
    designed = design.assemble(inputs)
    assert designed.environment_names == ["dev", "test", "prod"]
    prod = designed.environment("prod")
    assert prod.network.option == "private"
    assert prod.network.reason == "stated in the design"
    assert prod.tags == {
        "cost-center": "mlops-accelerator",
        "data-classification": "confidential",
        "project": "taxi",
        "environment": "prod",
        "owner": "project_lead",
        "managed-by": "mlops-accelerator",
    }
    assert prod.budget == 1200
    assert designed.operating_model.model == "centralised"
    assert designed.maturity.level == 1
    with pytest.raises(KeyError, match="staging is not in the design's topology"):
        designed.environment("staging")
