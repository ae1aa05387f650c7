"""Run before their prerequisites, notebooks stop in their first cells and name what to run first."""

from __future__ import annotations

import pytest
from helpers import run
from papermill.exceptions import PapermillExecutionError

LATER = [
    "06_connect_and_validate",
    "07_land_and_version_data",
    "08_track_and_train",
    "09_training_pipeline",
    "10_deploy_online",
    "10b_score_in_batch",
    "11_promote_to_test_and_prod",
    "12_monitor_and_retrain",
]


@pytest.mark.parametrize("name", LATER)
def test_stops_early_naming_the_notebook_to_run_first(name, fresh_store, tmp_path):
    with pytest.raises(PapermillExecutionError) as raised:
        run(name, tmp_path)
    error = raised.value
    assert error.ename == "PrerequisiteError"
    assert "run 05_create_workspaces.ipynb first" in error.evalue
    assert error.exec_count <= 3  # the first cells after the parameters: imports, then the checks


DESIGN_WEEKS = ["02_maturity_and_delivery", "03_architecture_choices", "04_security_access_cost"]


@pytest.mark.parametrize("name", DESIGN_WEEKS)
def test_design_weeks_stop_early_naming_week_1(name, fresh_store, tmp_path):
    with pytest.raises(PapermillExecutionError) as raised:
        run(name, tmp_path)
    error = raised.value
    assert error.ename == "PrerequisiteError"
    assert "is missing: run 01_kickoff_and_roles.ipynb first" in error.evalue
    assert error.exec_count <= 2


def test_a_design_week_after_an_earlier_week_changed_asks_for_a_rerun(fresh_store, tmp_path):
    for name in ["01_kickoff_and_roles", "02_maturity_and_delivery"]:
        run(name, tmp_path)
    run("01_kickoff_and_roles", tmp_path, teams=4)  # week 1 again, with another answer
    with pytest.raises(PapermillExecutionError) as raised:
        run("03_architecture_choices", tmp_path)
    error = raised.value
    assert error.ename == "PrerequisiteError"
    assert "run 02_maturity_and_delivery.ipynb again" in error.evalue
    assert error.exec_count <= 2
