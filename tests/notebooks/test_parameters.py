"""The notebooks take other parameters: a two-environment topology, other seeds and sizes."""

from __future__ import annotations

import pytest
from helpers import run, text_of
from papermill.exceptions import PapermillExecutionError


def test_two_environments_other_region_seed_and_size(fresh_store, tmp_path):
    topology = {"environments": ["dev", "prod"], "project": "fares"}
    created = run("05_create_workspaces", tmp_path, location="northeurope", **topology)
    assert "prod: mlw-fares-prod in rg-fares-prod, northeurope" in text_of(created)
    assert not (fresh_store / "workspaces" / "rg-fares-test" / "mlw-fares-test").exists()

    validated = run("06_connect_and_validate", tmp_path, compute_name="train-cluster", **topology)
    assert "All 12 checks passed in 2 workspaces." in text_of(validated)

    landed = run(
        "07_land_and_version_data",
        tmp_path,
        project="fares",
        seed=7,
        rows_per_month=3_000,
        months=["2026-03", "2026-04", "2026-05"],
    )
    text = text_of(landed)
    assert "2026-05: landed 3,000 trips -> taxi-trips:3" in text

    # Another seed on the same store: new content, so new versions, and no error.
    relanded = run("07_land_and_version_data", tmp_path, project="fares", seed=8, rows_per_month=2_000)
    assert "2026-02: landed 2,000 trips -> taxi-trips:5" in text_of(relanded)


def test_training_takes_its_parameters(fresh_store, tmp_path):
    """Another compute, experiment, model name, margin and sweep size change what weeks 8-9 do."""
    topology = {"environments": ["dev"], "project": "fares"}
    run("05_create_workspaces", tmp_path, **topology)
    run("06_connect_and_validate", tmp_path, compute_name="train-cluster", **topology)
    run("07_land_and_version_data", tmp_path, project="fares", rows_per_month=3_000, months=["2026-03"])

    tracked = text_of(run("08_track_and_train", tmp_path, project="fares", compute_name="train-cluster"))
    assert "3,000 trips -> 3,000 usable; split 2,100 / 450 / 450" in tracked

    # A margin no challenger can meet: only the first model is registered.
    trained = text_of(
        run(
            "09_training_pipeline",
            tmp_path,
            project="fares",
            compute_name="train-cluster",
            model_name="fares-model",
            margin=0.9,
            sweep_trials=2,
        )
    )
    assert "PROMOTE: challenger vs no champion" in trained
    assert trained.count("BLOCK: challenger vs champion v1") == 2
    assert "versions: [1]; champion: version 1" in trained

    # With one version there is no previous champion to roll out from: week 10 says so.
    with pytest.raises(PapermillExecutionError) as raised:
        run("10_deploy_online", tmp_path, project="fares", model_name="fares-model")
    assert raised.value.ename == "PrerequisiteError"
    assert "run 09_training_pipeline.ipynb first" in raised.value.evalue
    # Batch scoring needs the scoring environment that week 10's rollout registers.
    with pytest.raises(PapermillExecutionError) as raised:
        run(
            "10b_score_in_batch",
            tmp_path,
            project="fares",
            model_name="fares-model",
            compute_name="train-cluster",
        )
    assert raised.value.ename == "PrerequisiteError"
    assert "run 10_deploy_online.ipynb first" in raised.value.evalue


def test_a_margin_out_of_range_stops_before_anything_runs(fresh_store, tmp_path):
    with pytest.raises(PapermillExecutionError) as raised:
        run("09_training_pipeline", tmp_path, margin=1.5)
    assert raised.value.ename == "ValueError"
    assert "margin must be in [0, 1)" in raised.value.evalue
    assert not (fresh_store / "workspaces").exists()  # stopped before touching any workspace
