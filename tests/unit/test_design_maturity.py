"""The maturity assessment: levels per dimension, the team's level, and the ordered gap list."""

from __future__ import annotations

import pytest
from design_inputs import DESIGN

from accelerator import design
from accelerator.design.maturity import assess, maturity_model

MODEL = maturity_model()


def answers(up_to: dict[str, int], extra: tuple[str, ...] = ()) -> dict[str, bool]:
    """Every practice of a dimension up to the given level in place, plus the ``extra`` ones."""
    return {p.id: p.level <= up_to.get(p.dimension, 0) or p.id in extra for p in MODEL.practices}


def test_the_model_has_practices_at_every_level_of_every_dimension():
    for dimension in MODEL.dimensions:
        levels = {p.level for p in MODEL.practices if p.dimension == dimension}
        assert levels == {1, 2, 3, 4}, dimension
    assert [MODEL.levels[n].name for n in range(5)] == [
        "No MLOps",
        "DevOps but no MLOps",
        "Automated training",
        "Automated model deployment",
        "Full MLOps automated operations",
    ]


def test_nothing_in_place_is_level_0_and_everything_is_level_4():
    assert assess(dict.fromkeys((p.id for p in MODEL.practices), False), 3).level == 0
    everything = assess(dict.fromkeys((p.id for p in MODEL.practices), True), 4)
    assert everything.level == 4
    assert everything.gaps == []


def test_a_dimension_is_at_the_highest_level_whose_practices_and_all_below_are_in_place():
    # Level 3 practices of model creation in place, but one of level 2 missing: level 1.
    result = assess(
        answers(
            {"people": 2, "model_creation": 1, "model_release": 3, "application_integration": 4},
            extra=("managed_compute", "tracked_experiments", "pipeline_training"),
        ),
        3,
    )
    levels = {s.dimension: s.level for s in result.dimensions}
    assert levels == {"people": 2, "model_creation": 1, "model_release": 3, "application_integration": 4}
    assert result.level == 1  # the weakest dimension
    creation = next(s for s in result.dimensions if s.dimension == "model_creation")
    assert (creation.practices_in_place, creation.practices) == (4, 6)


def test_gaps_list_foundations_first_then_the_dimension_furthest_behind():
    result = assess(
        answers({"people": 1, "model_creation": 2, "model_release": 0, "application_integration": 1}), 3
    )
    assert [(g.priority, g.level, g.practice_id) for g in result.gaps] == [
        (1, 1, "repeatable_release"),  # level 1 before anything of level 2
        (2, 2, "versioned_scoring"),  # model release is furthest behind (level 0)
        (3, 2, "low_friction_release"),
        (4, 2, "ds_with_data_engineers"),  # people and application integration are at level 1
        (5, 2, "model_integration_tests"),
        (6, 3, "cicd_release"),
        (7, 3, "deployment_traceability"),
        (8, 3, "engineers_automate_integration"),
        (9, 3, "release_tests_without_ds"),
        (10, 3, "pipeline_training"),  # model creation, at level 2, is the least behind
    ]
    assert result.gaps[0].dimension == "Model release"
    assert result.gaps[0].week == 2


def test_the_target_level_bounds_the_gap_list():
    base = answers({"people": 1, "model_creation": 1, "model_release": 1, "application_integration": 1})
    assert {g.level for g in assess(base, 2).gaps} == {2}
    assert len(assess(base, 2).gaps) == 7
    assert len(assess(base, 3).gaps) == 12
    assert len(assess(base, 4).gaps) == 16


def test_the_notebook_parameters_change_the_answers_and_target():
    inputs = design.load_inputs(DESIGN)
    kickoff = design.decide_kickoff(inputs)
    default = design.decide_delivery(inputs, kickoff).maturity
    assert (default.level, default.target_level, len(default.gaps)) == (1, 3, 10)
    assert "ds_with_data_engineers" in [g.practice_id for g in default.gaps]

    better = design.decide_delivery(inputs, kickoff, answers={"ds_with_data_engineers": True}).maturity
    assert "ds_with_data_engineers" not in [g.practice_id for g in better.gaps]
    assert len(better.gaps) == 9
    assert design.decide_delivery(inputs, kickoff, target_level=2).maturity.gaps[-1].level == 2

    with pytest.raises(design.DesignError) as raised:
        design.decide_delivery(inputs, kickoff, answers={"no_such_practice": True})
    assert str(raised.value.problems[0]) == (
        "parameter answers: no_such_practice: unknown practice 'no_such_practice': "
        "not a practice of the maturity model"
    )
    with pytest.raises(
        design.DesignError, match="parameter target_level: Input should be less than or equal to 4"
    ):
        design.decide_delivery(inputs, kickoff, target_level=7)
