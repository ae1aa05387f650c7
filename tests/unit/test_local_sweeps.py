"""Sweep jobs on the local backend: grid and random sampling, the best trial, the bandit policy."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import uuid
from pathlib import Path
from typing import Any

import pytest
from azure.ai.ml import Output, command
from azure.ai.ml.entities._job.to_rest_functions import to_rest_job_object
from azure.ai.ml.exceptions import JobException, ValidationException
from azure.ai.ml.sweep import (
    BanditPolicy,
    BayesianSamplingAlgorithm,
    Choice,
    LogUniform,
    MedianStoppingPolicy,
    QUniform,
    Randint,
    RandomSamplingAlgorithm,
    Uniform,
)

from accelerator.local import LocalBackendUnsupportedError, LocalMLClient
from accelerator.local._execution import _sweep
from accelerator.local._execution._records import JobRecords

pytestmark = pytest.mark.usefixtures("no_stray_processes")

ENVIRONMENT = "azureml:taxi-train:1"  # registered by the jobs_client fixture
COMPUTE = "cpu-cluster"

# Scores best at lr = 0.1; writes the lr it ran with to its output.
TRIAL = """\
import pathlib, sys
import mlflow
lr = float(sys.argv[1])
mlflow.log_metric("score", 1.0 - abs(lr - 0.1))
pathlib.Path(sys.argv[2], "lr.txt").write_text(str(lr))
print("trained with", lr)
"""

# A loss that stays at the trial's value: 1.0 logs 20 steps at once, 10.0 one step every 0.3 s.
CURVE = """\
import sys, time
import mlflow
value = float(sys.argv[1])
for step in range(20):
    mlflow.log_metric("loss", value, step=step)
    if value > 5:
        time.sleep(1.0)  # 20 s in all: time for the policy to stop it on a busy machine
print("all steps logged")
"""

NO_METRIC = "import sys\nprint('trial', sys.argv[1:])\n"


def _trial(tmp_path: Path, script: str, **inputs: Any):
    code = tmp_path / "src"
    code.mkdir(exist_ok=True)
    (code / "trial.py").write_text(script)
    base = command(
        code=str(code),
        command="python trial.py ${{inputs.lr}} ${{outputs.model}}",
        inputs={"lr": 0.1},
        outputs={"model": Output(type="uri_folder")},
        environment=ENVIRONMENT,
        compute=COMPUTE,
        experiment_name="sweeps",
        display_name="tune",
    )
    return base(**inputs)


def _times(client: LocalMLClient, name: str) -> tuple[dt.datetime, dt.datetime]:
    record = JobRecords(client._scope.require_workspace()).get(name)
    return dt.datetime.fromisoformat(record["started"]), dt.datetime.fromisoformat(record["ended"])


def test_a_grid_sweep_runs_every_choice_and_keeps_the_best(
    jobs_client: LocalMLClient, tracking, tmp_path: Path
) -> None:
    sweep = _trial(tmp_path, TRIAL, lr=Choice([0.01, 0.1, 0.5])).sweep(
        primary_metric="score", goal="Maximize", sampling_algorithm="grid", compute=COMPUTE
    )
    sweep.set_limits(max_concurrent_trials=2, max_total_trials=10)
    submitted = jobs_client.jobs.create_or_update(sweep)
    jobs_client.jobs.stream(submitted.name)

    job = jobs_client.jobs.get(submitted.name)
    assert job.status == "Completed"
    assert job.properties["best_child_run_id"] == f"{submitted.name}_1"
    assert float(job.properties["score"]) == pytest.approx(1.0)

    trials = list(jobs_client.jobs.list(parent_job_name=submitted.name))
    assert [t.name for t in trials] == [f"{submitted.name}_{i}" for i in range(3)]  # the grid, not 10
    assert [t.status for t in trials] == ["Completed"] * 3
    assert [t.display_name for t in trials] == ["tune_0", "tune_1", "tune_2"]
    assert [t.properties["hyperparameter.lr"] for t in trials] == ["0.01", "0.1", "0.5"]
    assert [j.name for j in jobs_client.jobs.list()] == [submitted.name]  # trials are not top-level
    for trial in trials:
        run = tracking.get_run(trial.name)
        assert run.data.tags["mlflow.parentRunId"] == submitted.name
        assert run.info.run_name == trial.display_name

    # At most two trials at once: the third started after one of the first two ended.
    (_, first_end), (_, second_end), (third_start, _) = (_times(jobs_client, t.name) for t in trials)
    assert third_start >= min(first_end, second_end)

    # The sweep's output is the best trial's.
    jobs_client.jobs.download(submitted.name, output_name="model", download_path=tmp_path / "best")
    assert (tmp_path / "best" / "named-outputs" / "model" / "lr.txt").read_text() == "0.1"


def test_the_bandit_policy_stops_a_trial_that_falls_behind(
    jobs_client: LocalMLClient, tracking, tmp_path: Path
) -> None:
    sweep = _trial(tmp_path, CURVE, lr=Choice([1.0, 10.0])).sweep(
        primary_metric="loss",
        goal="Minimize",
        sampling_algorithm="grid",
        compute=COMPUTE,
        early_termination_policy=BanditPolicy(slack_factor=0.1, evaluation_interval=1, delay_evaluation=0),
    )
    sweep.set_limits(max_concurrent_trials=2)
    submitted = jobs_client.jobs.create_or_update(sweep)
    jobs_client.jobs.stream(submitted.name)

    job = jobs_client.jobs.get(submitted.name)
    assert job.status == "Completed"
    good, bad = f"{submitted.name}_0", f"{submitted.name}_1"
    assert job.properties["best_child_run_id"] == good
    assert jobs_client.jobs.get(good).status == "Completed"
    assert jobs_client.jobs.get(bad).status == "Canceled"
    assert len(tracking.get_metric_history(good, "loss")) == 20
    assert len(tracking.get_metric_history(bad, "loss")) < 20  # stopped well before its 20 s
    assert tracking.get_run(bad).info.status == "KILLED"


def test_a_random_sweep_samples_with_its_seed(jobs_client: LocalMLClient, tmp_path: Path) -> None:
    sweep = _trial(tmp_path, NO_METRIC, lr=Uniform(0.001, 0.1)).sweep(
        primary_metric="score",
        goal="Maximize",
        sampling_algorithm=RandomSamplingAlgorithm(seed=11),
        compute=COMPUTE,
    )
    sweep.set_limits(max_total_trials=2, max_concurrent_trials=2)
    submitted = jobs_client.jobs.create_or_update(sweep)
    # No trial logs the primary metric: the sweep fails, saying so.
    with pytest.raises(JobException, match="primary metric 'score'"):
        jobs_client.jobs.stream(submitted.name)
    assert jobs_client.jobs.get(submitted.name).status == "Failed"

    trials = list(jobs_client.jobs.list(parent_job_name=submitted.name))
    assert [t.status for t in trials] == ["Completed", "Completed"]
    expected = list(itertools.islice(_sweep.random({"lr": ["uniform", [0.001, 0.1]]}, 11), 2))
    assert [float(t.properties["hyperparameter.lr"]) for t in trials] == pytest.approx(
        [c["lr"] for c in expected]
    )


def test_cancel_stops_the_sweep(jobs_client: LocalMLClient, processes, tmp_path: Path) -> None:
    marker = f"sweep-{uuid.uuid4().hex}"
    sweep = _trial(tmp_path, "import time\ntime.sleep(60)\n", lr=Choice([1, 2, 3, 4])).sweep(
        primary_metric="score", goal="Maximize", sampling_algorithm="grid", compute=COMPUTE
    )
    sweep.trial.command += f" {marker}"
    sweep.set_limits(max_concurrent_trials=2)
    submitted = jobs_client.jobs.create_or_update(sweep)
    scripts = processes.wait_for(marker, count=2)
    jobs_client.jobs.begin_cancel(submitted.name).result()

    assert jobs_client.jobs.get(submitted.name).status == "Canceled"
    assert processes.ended(scripts)
    trials = list(jobs_client.jobs.list(parent_job_name=submitted.name))
    assert [t.status for t in trials] == ["Canceled", "Canceled"]  # no trial started after the cancel


# Submission errors ------------------------------------------------------------------------------


def test_unsupported_and_invalid_sweeps(jobs_client: LocalMLClient, tmp_path: Path) -> None:
    bayesian = _trial(tmp_path, NO_METRIC, lr=Uniform(0.001, 0.1)).sweep(
        primary_metric="score",
        goal="Maximize",
        sampling_algorithm=BayesianSamplingAlgorithm(),
        compute=COMPUTE,
    )
    bayesian.set_limits(max_total_trials=2)
    with pytest.raises(LocalBackendUnsupportedError, match="bayesian"):
        jobs_client.jobs.create_or_update(bayesian)

    median = _trial(tmp_path, NO_METRIC, lr=Uniform(0.001, 0.1)).sweep(
        primary_metric="score",
        goal="Maximize",
        sampling_algorithm="random",
        compute=COMPUTE,
        early_termination_policy=MedianStoppingPolicy(evaluation_interval=1),
    )
    median.set_limits(max_total_trials=2)
    with pytest.raises(LocalBackendUnsupportedError, match="median"):
        jobs_client.jobs.create_or_update(median)

    grid = _trial(tmp_path, NO_METRIC, lr=Uniform(0.001, 0.1)).sweep(
        primary_metric="score", goal="Maximize", sampling_algorithm="grid", compute=COMPUTE
    )
    grid.set_limits(max_total_trials=2)
    with pytest.raises(ValidationException, match="Grid sampling supports only Choice; 'lr' is uniform"):
        jobs_client.jobs.create_or_update(grid)

    unlimited = _trial(tmp_path, NO_METRIC, lr=Uniform(0.001, 0.1)).sweep(
        primary_metric="score", goal="Maximize", sampling_algorithm="random", compute=COMPUTE
    )
    with pytest.raises(ValidationException, match="max_total_trials"):
        jobs_client.jobs.create_or_update(unlimited)
    assert list(jobs_client.jobs.list()) == []


# Sampling, as pure functions --------------------------------------------------------------------


def _space(**distributions: Any) -> dict[str, Any]:
    """A search space in the REST shape the backend records, made by the SDK."""
    sweep = command(
        command="python trial.py", inputs={name: 1 for name in distributions}, environment=ENVIRONMENT
    )(**distributions).sweep(primary_metric="m", goal="Maximize", sampling_algorithm="random")
    return to_rest_job_object(sweep._to_job()).as_dict()["properties"]["searchSpace"]


def _record(
    space: dict[str, Any], seed: int | None, kind: str = "random", total: int | None = 50
) -> dict[str, Any]:
    return {
        "sampling": {"type": kind, "seed": seed},
        "search_space": space,
        "limits": {"max_total_trials": total},
    }


def test_random_sampling_is_reproducible_and_within_bounds() -> None:
    space = _space(
        lr=Uniform(0.01, 0.1),
        reg=LogUniform(-5, -1),
        depth=Choice([3, 5, 7]),
        trees=Randint(upper=10),
        bins=QUniform(0, 100, 5),
    )
    drawn = list(_sweep.configurations(_record(space, seed=7)))
    assert len(drawn) == 50
    assert drawn == list(_sweep.configurations(_record(space, seed=7)))
    assert drawn == list(itertools.islice(_sweep.random(space, 7), 50))
    assert drawn != list(_sweep.configurations(_record(space, seed=8)))
    for config in drawn:
        assert set(config) == {"lr", "reg", "depth", "trees", "bins"}
        assert 0.01 <= config["lr"] <= 0.1
        assert math.exp(-5) <= config["reg"] <= math.exp(-1)
        assert config["depth"] in (3, 5, 7)
        assert isinstance(config["trees"], int) and 0 <= config["trees"] < 10
        assert 0 <= config["bins"] <= 100 and config["bins"] % 5 == 0
    # Every choice and many distinct values turn up.
    assert {c["depth"] for c in drawn} == {3, 5, 7}
    assert len({c["lr"] for c in drawn}) == 50


def test_grid_sampling_enumerates_the_choices() -> None:
    space = _space(depth=Choice([3, 5]), loss=Choice(["l1", "l2", "huber"]))
    assert list(_sweep.configurations(_record(space, None, "grid", None))) == [
        {"depth": d, "loss": loss} for d in (3, 5) for loss in ("l1", "l2", "huber")
    ]
    assert len(list(_sweep.configurations(_record(space, None, "grid", 4)))) == 4
    with pytest.raises(ValueError, match="only Choice"):
        list(_sweep.grid(_space(lr=Uniform(0.0, 1.0))))
