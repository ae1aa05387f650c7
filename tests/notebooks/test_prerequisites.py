"""Run before their prerequisites, notebooks stop in their first cells and name what to run first."""

from __future__ import annotations

import nbformat
import pytest
from helpers import run
from papermill.exceptions import PapermillExecutionError

from tools.notebooks import NOTEBOOKS

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
    # The checks of what earlier weeks made, before any step of the week: the notebook's hidden
    # prerequisites cell where it has one, else the cells right after the parameters and imports.
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    hidden = [i for i, c in enumerate(code) if "hide-input" in c.metadata.get("tags", [])]
    if hidden:
        assert hidden[0] <= 3  # after the parameters, the imports and connect
        assert error.source == code[hidden[0]].source
    else:
        assert error.exec_count <= 3


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
