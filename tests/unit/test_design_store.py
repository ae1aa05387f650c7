"""The records of weeks 1-4 in the local store: found by the next week, or a clear prerequisite error."""

from __future__ import annotations

import pytest
from design_inputs import DESIGN

from accelerator import design
from accelerator.prerequisites import PrerequisiteError


@pytest.fixture
def store(tmp_path):
    return design.DesignStore(tmp_path)


@pytest.fixture(scope="module")
def inputs():
    return design.load_inputs(DESIGN)


def test_records_round_trip(store, inputs):
    kickoff = design.decide_kickoff(inputs)
    store.save(kickoff)
    assert store.load(design.KickoffDecisions) == kickoff
    assert store.load(design.KickoffDecisions).digest() == kickoff.digest()


def test_a_missing_record_names_the_notebook_to_run(store):
    assert store.find(design.SolutionDesign) is None
    with pytest.raises(PrerequisiteError) as raised:
        store.load(design.DeliveryDecisions)
    assert str(raised.value) == (
        "The record of week 2 (maturity, delivery, branching) is missing: "
        "run 02_maturity_and_delivery.ipynb first."
    )


def test_a_record_made_before_an_earlier_week_changed_asks_for_a_rerun(store, inputs):
    kickoff = design.decide_kickoff(inputs)
    store.save(kickoff)
    store.save(design.decide_delivery(inputs, kickoff))
    store.load(design.DeliveryDecisions)  # consistent
    store.save(design.decide_kickoff(inputs, teams=4))  # week 1 again, with another answer
    with pytest.raises(
        PrerequisiteError,
        match=r"^The record of week 2 \(.*\) was made before the record of week 1 \(.*\) changed: run 02_",
    ):
        store.load(design.DeliveryDecisions)
    with pytest.raises(PrerequisiteError, match=r"run 02_maturity_and_delivery\.ipynb again"):
        store.find(design.DeliveryDecisions)


def test_a_damaged_record(store, inputs):
    path = store.save(design.decide_kickoff(inputs))
    path.write_text("team: [not, a, team]\n")
    with pytest.raises(
        PrerequisiteError, match=r"could not be read .* run 01_kickoff_and_roles\.ipynb again"
    ):
        store.load(design.KickoffDecisions)


def test_the_whole_chain_loads_from_the_store(store, inputs):
    kickoff = design.decide_kickoff(inputs)
    delivery = design.decide_delivery(inputs, kickoff)
    architecture = design.decide_architecture(inputs, kickoff, delivery)
    solution = design.decide_solution(inputs, kickoff, delivery, architecture)
    for record in (kickoff, delivery, architecture, solution):
        store.save(record)
    assert store.load(design.SolutionDesign) == solution
    assert solution.based_on == {
        "kickoff": kickoff.digest(),
        "delivery": delivery.digest(),
        "architecture": architecture.digest(),
    }
    # Week 3 again with other environments: the solution design is now out of date.
    store.save(design.decide_architecture(inputs, kickoff, delivery, environments="dev,prod"))
    with pytest.raises(PrerequisiteError, match=r"run 04_security_access_cost\.ipynb again"):
        store.find(design.SolutionDesign)


def test_the_store_is_in_the_accelerator_home(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCELERATOR_HOME", str(tmp_path / "home"))
    assert design.DesignStore().folder == tmp_path / "home" / "design"
