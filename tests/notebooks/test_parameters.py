"""The notebooks take other parameters: a two-environment topology, other seeds and sizes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import run, text_of
from papermill.exceptions import PapermillExecutionError

DESIGN = Path(__file__).resolve().parents[2] / "design"


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
    # A dev-only topology has no workspace to promote to: week 11 names the one to create it.
    with pytest.raises(PapermillExecutionError) as raised:
        run("11_promote_to_test_and_prod", tmp_path, project="fares", model_name="fares-model")
    assert raised.value.ename == "PrerequisiteError"
    assert "workspace mlw-fares-test is missing: run 05_create_workspaces.ipynb first" in raised.value.evalue


def test_an_unknown_promotion_stage_stops_before_anything_runs(fresh_store, tmp_path):
    with pytest.raises(PapermillExecutionError) as raised:
        run("11_promote_to_test_and_prod", tmp_path, stage="staging")
    assert raised.value.ename == "ValueError"
    assert "stage must be all, share, test or prod, not 'staging'" in raised.value.evalue
    assert not (fresh_store / "workspaces").exists()


def test_a_margin_out_of_range_stops_before_anything_runs(fresh_store, tmp_path):
    with pytest.raises(PapermillExecutionError) as raised:
        run("09_training_pipeline", tmp_path, margin=1.5)
    assert raised.value.ename == "ValueError"
    assert "margin must be in [0, 1)" in raised.value.evalue
    assert not (fresh_store / "workspaces").exists()  # stopped before touching any workspace


def test_design_with_dev_and_prod_gives_two_workspaces_in_week_5(fresh_store, tmp_path):
    run("01_kickoff_and_roles", tmp_path)
    run("02_maturity_and_delivery", tmp_path)
    architecture = text_of(run("03_architecture_choices", tmp_path, environments="dev,prod"))
    assert "Environments: dev, prod (parameter)" in architecture
    assert "dropped: main -> test: no test environment in this topology" in architecture
    solution = text_of(run("04_security_access_cost", tmp_path))
    assert "topology from week 3: dev, prod in westeurope" in solution

    created = text_of(run("05_create_workspaces", tmp_path))
    assert "dev, prod in westeurope, for taxi" in created
    assert "prod: mlw-taxi-prod in rg-taxi-prod, westeurope" in created
    workspaces = fresh_store / "workspaces"
    assert sorted(p.name for p in workspaces.iterdir()) == ["rg-taxi-dev", "rg-taxi-prod"]
    # Week 6 validates the environments of the design, with the clusters designed for them.
    validated = text_of(run("06_connect_and_validate", tmp_path))
    assert "From the solution design of week 4." in validated
    assert "All 12 checks passed in 2 workspaces." in validated
    assert "prod: cpu-cluster, Standard_DS3_v2, 0-4 dedicated nodes" in validated

    # Week 3 again with three environments: week 5 asks for week 4 first, unless told what to create.
    run("03_architecture_choices", tmp_path)
    with pytest.raises(PapermillExecutionError) as raised:
        run("05_create_workspaces", tmp_path)
    assert raised.value.ename == "PrerequisiteError"
    assert "run 04_security_access_cost.ipynb again" in raised.value.evalue
    explicit = {"environments": ["dev", "test"], "project": "taxi", "location": "westeurope"}
    assert "test: mlw-taxi-test" in text_of(run("05_create_workspaces", tmp_path, **explicit))


def test_design_answers_change_the_decisions_and_charts(fresh_store, tmp_path):
    """Another team size, other organisation facts and maturity answers: other decisions downstream."""
    kickoff = text_of(
        run(
            "01_kickoff_and_roles",
            tmp_path,
            headcount={"data_scientist": 6},
            teams=6,
            data_segregation=True,
            mlops_skills="in_teams",
        )
    )
    assert "to recruit or assign: 4 x Data scientist" in kickoff
    assert "Operating model: federated" in kickoff

    delivery = text_of(
        run("02_maturity_and_delivery", tmp_path, answers={"ds_with_data_engineers": True}, target_level=2)
    )
    assert "4 practices to put in place for level 2; built in weeks 9, 10." in delivery
    assert "Data scientists work with data engineers" not in delivery.split("practices to put in place")[1]

    architecture = text_of(run("03_architecture_choices", tmp_path, budget="medium"))
    assert "Environments: dev, prod (inputs)" in architecture  # target level 2, not regulated
    assert "dev scales to 6 nodes for 6 people (at most 8 on a medium budget)" in architecture

    solution = text_of(run("04_security_access_cost", tmp_path, prices={"Standard_DS3_v2": 0.25}))
    assert "Standard_DS3_v2: 0.25 USD a node-hour (given in the design)" in solution
    assert "240.0" in solution  # dev: 40 node-hours for each of 6 data scientists


def test_a_broken_design_names_the_file_and_line(fresh_store, tmp_path):
    folder = tmp_path / "design"
    shutil.copytree(DESIGN, folder)
    environments = folder / "environments.yaml"
    environments.write_text(environments.read_text().replace("    owner: project_lead\n", ""))
    line = next(i for i, text in enumerate(environments.read_text().splitlines(), 1) if text == "  prod:")
    with pytest.raises(PapermillExecutionError) as raised:
        run("01_kickoff_and_roles", tmp_path / "out", design_folder=str(folder))
    assert raised.value.ename == "DesignError"
    assert f"design/environments.yaml:{line}: environments.prod.owner: no owner" in raised.value.evalue
    assert not (fresh_store / "design").exists()  # nothing recorded
    with pytest.raises(PapermillExecutionError) as raised:
        run("01_kickoff_and_roles", tmp_path / "out", teams=0)
    assert "parameter teams: Input should be greater than or equal to 1" in raised.value.evalue
