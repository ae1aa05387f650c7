"""The book's notebooks run in order on a fresh local store, and each runs again without error."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from helpers import ORDER, outputs_of, processes_of, run, text_of
from papermill.exceptions import PapermillExecutionError

from accelerator import connect
from accelerator.local import stop_endpoints
from accelerator.local._scheduling._scheduler import stop as stop_scheduler
from tools.notebooks import NBVAL_MARKER, NBVAL_STORE, NOTEBOOKS, notebooks_in_order

# What these notebooks show depends on the registry they find: on a second run the champion is the
# model the first run promoted. They are checked for what a rerun must do instead of for equal outputs.
STATEFUL = {"09_training_pipeline", "11_promote_to_test_and_prod", "12_monitor_and_retrain"}
REGISTRY_MODEL = "azureml://registries/mlr-taxi/models/taxi-fare/versions/"


def _trip_request() -> str:
    """One trip as a scoring request, with the workload's own features."""
    import json
    import sys

    from accelerator.data import generate_trips

    sys.path.insert(0, str(NOTEBOOKS / "workloads" / "taxi_fare" / "src"))
    try:
        import features
    finally:
        sys.path.pop(0)
    frame, _ = features.engineer_features(generate_trips(3, seed=1))
    columns = list(features.FEATURE_COLUMNS)
    return json.dumps({"input_data": {"columns": columns, "data": frame[columns].values.tolist()}})


def test_toc_lists_the_notebooks_in_order():
    assert [p.stem for p in notebooks_in_order()] == ORDER


@pytest.fixture
def first_run(fresh_store, tmp_path, monkeypatch):
    """The book's first run on a fresh store: (the store, each notebook as executed, whether its
    endpoints still serve). Under `make test`, nbval has just made it and checked every output
    against the committed notebooks (conftest.py): the committed notebooks are its outputs and its
    store is used, once. Otherwise the notebooks are executed here."""
    shared = os.environ.get(NBVAL_STORE)
    marker = Path(shared, NBVAL_MARKER) if shared else None
    if marker is not None and marker.is_file() and marker.read_text().split() == ORDER:
        marker.unlink()  # the store is about to be run again: no later session may take it as fresh
        monkeypatch.setenv("ACCELERATOR_HOME", shared)
        try:
            yield (
                Path(shared),
                {name: nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4) for name in ORDER},
                False,
            )
        finally:
            stop_scheduler(Path(shared))
            stop_endpoints(shared)
        return
    yield fresh_store, {name: run(name, tmp_path / "first") for name in ORDER}, True


def test_notebooks_run_in_order_then_again(first_run, tmp_path):
    store, first, serving = first_run
    assert "backend:        local" in text_of(first["00_start_here"])
    kickoff = text_of(first["01_kickoff_and_roles"])
    assert "to recruit or assign: 1 x Tester" in kickoff
    assert "Operating model: centralised" in kickoff
    assert "design/raci.yaml:8: activities[0].roles: 2 Accountable" in kickoff  # the broken copy
    assert "10 practices to put in place for level 3" in text_of(first["02_maturity_and_delivery"])
    assert "Environments: dev, test, prod (inputs)" in text_of(first["03_architecture_choices"])
    solution = text_of(first["04_security_access_cost"])
    assert "monthly estimate: 934.94 USD" in solution
    assert '"workspace_name": "mlw-taxi-prod"' in solution
    assert "From the solution design of week 4." in text_of(first["05_create_workspaces"])
    assert "prod: mlw-taxi-prod in rg-taxi-prod, westeurope" in text_of(first["05_create_workspaces"])
    assert "All 18 checks passed in 3 workspaces." in text_of(first["06_connect_and_validate"])
    landing = text_of(first["07_land_and_version_data"])
    assert "2026-01: landed 20,000 trips -> taxi-trips:1" in landing
    assert "2026-02: landed 20,000 trips -> taxi-trips:2" in landing
    tracking = text_of(first["08_track_and_train"])
    assert tracking.count("Status: Completed") == 2  # the two training jobs
    training = text_of(first["09_training_pipeline"])
    assert "PROMOTE: challenger vs no champion" in training  # the first model
    assert "BLOCK: challenger vs champion v1" in training  # the deliberately worse one
    assert "PROMOTE: challenger vs champion v1" in training  # the sweep's best
    assert "versions: [1, 2]; champion: version 2" in training
    deploying = text_of(first["10_deploy_online"])
    assert "without the key: 401" in deploying
    assert "traffic {'blue': 0, 'green': 100}: 50 requests, all answered" in deploying
    assert "deployments now: ['green']" in deploying
    assert "distinct trips in green's requests: 200" in deploying  # collected for monitoring
    scoring = text_of(first["10b_score_in_batch"])
    assert "partner-feed.csv: missing feature(s) distance." in scoring
    assert "7 of 8 files scored, 10500 trips" in scoring  # the bad file is within the threshold
    # With no failure allowed, the partner's file fails the job, and the notebook stops there.
    with pytest.raises(PapermillExecutionError) as raised:
        run("10b_score_in_batch", tmp_path / "strict", error_threshold=0)
    assert raised.value.ename == "JobException"
    assert "more than the error threshold of 0" in raised.value.evalue
    promoting = text_of(first["11_promote_to_test_and_prod"])
    assert "gate decision                               PROMOTE" in promoting
    assert "training data                          taxi-trips:2" in promoting
    assert "refused: taxi-fare:1 is not the champion" in promoting
    assert f"model: {REGISTRY_MODEL}2" in promoting
    assert "same files as dev: True" in promoting and "tags kept: True" in promoting
    assert f"test serves: {REGISTRY_MODEL}2" in promoting
    assert "9 acceptance tests on taxi-fare-test:" in promoting and "failed:" not in promoting
    assert "approved by Sam Patel, Team lead" in promoting
    assert "refused: Alex Morgan may not approve" in promoting
    assert f"prod before this release: {REGISTRY_MODEL}1" in promoting
    assert "traffic {'blue': 0, 'green': 100}: 50 requests, all answered" in promoting
    assert f"prod serves: {REGISTRY_MODEL}2" in promoting
    assert "one sha256 of the model files: True" in promoting
    assert "test and prod deploy the registry's version: True" in promoting
    assert "jobs in test and prod: 0" in promoting
    assert "models registered in test and prod: 0" in promoting
    assert f"rolled back: green serves {REGISTRY_MODEL}1, answers 200" in promoting
    assert f"and forward again: {REGISTRY_MODEL}2" in promoting
    assert "collects: ['request', 'response']" in promoting
    monitoring = text_of(first["12_monitor_and_retrain"])
    # Quiet nights over the stable days, then a breach on the drifted feature (trips 60% longer
    # move distance, and with it duration and drop-off), none on the features the scenario keeps.
    assert "breached nights: [['2026-03-05', 'data-drift'], ['2026-03-06', 'data-drift']" in monitoring
    assert "'distance'" in monitoring.split("features past their threshold:")[1].split("\n")[0]
    quiet = monitoring.split("quiet features:")[1].split("\n")[0]
    assert all(f"'{name}'" in quiet for name in ("vendor", "passengers", "pickup_hour"))
    assert "To: ml-engineer@contoso.example" in monitoring  # the alert mail
    # Retraining started by the first breached run, without a person, through the event route;
    # the later breaches on the same data find it (one retraining per version of the data).
    assert "breached runs: 3 retrainings: 1" in monitoring
    assert "retrain-taxi-trips-2 on taxi-trips:2: JobStatus.COMPLETED" in monitoring
    assert "started by taxi-fare-prod-monitor-20260306T000000Z" in monitoring
    assert "gate: PROMOTE" in monitoring or "gate: BLOCK" in monitoring
    assert "enabled schedules: []" in monitoring  # no scheduler left running
    # The handover, from what exists: the runbook's alerts with their owners from the RACI and no
    # gap; the maturity scored again from evidence; the Migrate checklist ticked from it.
    assert "**alert: taxi-fare-prod-monitor/data-drift (data_drift)** (enabled)" in monitoring
    assert "**schedule: taxi-fare-weekly-retraining** (enabled), dev (mlw-taxi-dev)" in monitoring
    assert "Owner: Jordan Lee (Project lead); on call: Tom Becker (MLOps engineer)" in monitoring
    assert "No procedure" not in monitoring
    assert "week 2:  level 1 (DevOps but no MLOps)" in monitoring
    assert "week 12: level 4 (Full MLOps automated operations)" in monitoring
    assert monitoring.count("- [x] [") == 9 and "- [ ] [" not in monitoring
    # Week 11 leaves prod serving for week 12 and nothing else: the test endpoints are gone.
    prod = connect("prod", "local")
    assert [e.name for e in prod.online_endpoints.list()] == ["taxi-fare-prod"]
    assert not list(connect("test", "local").online_endpoints.list())
    assert processes_of(store) or not serving
    stop_endpoints(store)  # what the book's run does at its end
    assert not processes_of(store)  # nothing keeps running
    # ... and prod serves again on its next call.
    request = tmp_path / "request.json"
    request.write_text(_trip_request())
    assert '"predictions"' in prod.online_endpoints.invoke("taxi-fare-prod", request_file=str(request))
    stop_endpoints(store)
    # The pipeline's prod stage: a reviewer outside the RACI is refused, and so is no reviewer.
    for approver in ("Tom Becker", None):
        with pytest.raises(PapermillExecutionError) as raised:
            run("11_promote_to_test_and_prod", tmp_path / "refused", stage="prod", approver=approver)
        assert raised.value.ename == "ApprovalRefused"

    # Run twice in a row: nothing fails, nothing is registered twice, and every output is the
    # same (what nbval and `make book` rely on).
    again = {name: run(name, tmp_path / "second") for name in ORDER}
    for name in ORDER:
        if name not in STATEFUL:
            assert outputs_of(again[name]) == outputs_of(first[name]), name
    assert "All 18 checks passed in 3 workspaces." in text_of(again["06_connect_and_validate"])
    assert "2026-02: landed 20,000 trips -> taxi-trips:2" in text_of(again["07_land_and_version_data"])
    versions = sorted(
        p.stem for p in (store / "workspaces/rg-taxi-dev/mlw-taxi-dev/data/taxi-trips").glob("*.yaml")
    )
    assert versions == ["1", "2"]
    # The second run meets the champion the first promoted: every challenger, the same
    # configuration included, is blocked, and the registry is unchanged.
    retraining = text_of(again["09_training_pipeline"])
    assert "PROMOTE" not in retraining
    assert retraining.count("BLOCK: challenger vs champion v2") == 3
    assert "versions: [1, 2]; champion: version 2" in retraining
    # Promotion again: the registry has the version, prod already serves it; rollback still works.
    promoting = text_of(again["11_promote_to_test_and_prod"])
    assert "same files as dev: True" in promoting
    assert f"green already serves {REGISTRY_MODEL}2: nothing to release" in promoting
    assert f"rolled back: green serves {REGISTRY_MODEL}1, answers 200" in promoting
    # Week 12 again: the nights are already monitored (run names are Azure's), nothing retrains twice.
    monitoring = text_of(again["12_monitor_and_retrain"])
    assert "breached runs: 3 retrainings: 1" in monitoring
    assert "enabled schedules: []" in monitoring
    assert "week 12: level 4 (Full MLOps automated operations)" in monitoring
    stop_endpoints(store)
    assert not processes_of(store)
