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
]


@pytest.mark.parametrize("name", LATER)
def test_stops_early_naming_the_notebook_to_run_first(name, fresh_store, tmp_path):
    with pytest.raises(PapermillExecutionError) as raised:
        run(name, tmp_path)
    error = raised.value
    assert error.ename == "PrerequisiteError"
    assert "run 05_create_workspaces.ipynb first" in error.evalue
    assert error.exec_count <= 2  # the first code cell after the parameters
