"""The topology weeks 5 and 6 deploy: the solution design's, the notebook's parameters, or the defaults."""

from __future__ import annotations

import pytest
from design_inputs import DESIGN

from accelerator import design


@pytest.fixture
def stored(tmp_path):
    """A store holding the records of weeks 1-4 made from the committed design, as week 4 leaves it."""
    inputs = design.load_inputs(DESIGN)
    kickoff = design.decide_kickoff(inputs)
    delivery = design.decide_delivery(inputs, kickoff)
    architecture = design.decide_architecture(inputs, kickoff, delivery)
    solution = design.decide_solution(inputs, kickoff, delivery, architecture)
    store = design.DesignStore(tmp_path)
    for record in (kickoff, delivery, architecture, solution):
        store.save(record)
    return solution


def test_without_a_design_the_books_defaults(tmp_path):
    topology = design.deployed_topology(home=tmp_path)
    assert topology.source.startswith("No solution design")
    assert (topology.project, topology.environments, topology.location) == (
        "taxi",
        ["dev", "test", "prod"],
        "westeurope",
    )
    assert {env: (c.max_nodes, c.tier) for env, c in topology.clusters.items()} == {
        "dev": (2, "low_priority"),
        "test": (2, "dedicated"),
        "prod": (4, "dedicated"),
    }
    assert all(c.min_nodes == 0 for c in topology.clusters.values())


def test_the_design_gives_environments_region_and_the_clusters_terraform_gets(tmp_path, stored):
    topology = design.deployed_topology(home=tmp_path, compute_name="train-cluster")
    assert topology.source.startswith("From the solution design")
    assert topology.environments == stored.environment_names
    assert topology.location == stored.location
    variables = design.terraform_variables(stored)
    for env, cluster in topology.clusters.items():
        expected = variables[env]["compute_cluster"]
        assert cluster.name == "train-cluster"
        assert (cluster.vm_size, cluster.max_nodes, cluster.idle_seconds_before_scaledown) == (
            expected["vm_size"],
            expected["max_nodes"],
            expected["idle_seconds_before_scaledown"],
        )


def test_parameters_win_over_the_design(tmp_path, stored):
    topology = design.deployed_topology("cab", "dev,prod", "northeurope", home=tmp_path)
    assert (topology.project, topology.environments, topology.location) == (
        "cab",
        ["dev", "prod"],
        "northeurope",
    )
    assert set(topology.clusters) == {"dev", "prod"}


@pytest.mark.parametrize(("project", "environments"), [("Not Valid", None), (None, ["dev", "staging"])])
def test_bad_parameters_are_refused(tmp_path, project, environments):
    with pytest.raises(ValueError):
        design.deployed_topology(project, environments, home=tmp_path)


def test_explicit_parameters_do_not_read_the_design(tmp_path, stored):
    # A store whose design is out of date (week 3 changed after week 4) would stop a reader.
    design.DesignStore(tmp_path).path(design.SolutionDesign).write_text("not: a design")
    topology = design.deployed_topology("taxi", ["dev"], "westeurope", home=tmp_path)
    assert topology.source == "As the parameters say."
    assert topology.clusters["dev"].tier == "low_priority"  # the book's default cluster


def test_week_6_gives_no_location_and_needs_none(tmp_path, stored):
    topology = design.deployed_topology("fares", ["dev", "prod"], with_location=False, home=tmp_path)
    assert topology.source == "As the parameters say."
    assert (topology.project, topology.environments) == ("fares", ["dev", "prod"])
