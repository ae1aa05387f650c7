"""Run a sweep job: trials sampled from the search space, run as child command jobs.

Grid sampling enumerates every combination of ``Choice`` values; random sampling draws from each
distribution with the sampling algorithm's seed. At most ``max_concurrent_trials`` run at once and
``max_total_trials`` in all. The primary metric is read from each trial's MLflow run; the best
trial's outputs become the sweep's. A bandit policy stops trials that fall behind the best by more
than its slack at each evaluation interval.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from accelerator.local._execution._paths import child_outputs
from accelerator.local._execution._process import stop_tree
from accelerator.local._execution._records import child_record
from accelerator.local._execution._spec import BanditPolicySpec, Launched, Objective, SweepJobRecord

if TYPE_CHECKING:
    from accelerator.local._execution._runner import Runner

_POLL_SECONDS = 0.2


def grid(space: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
    """Every combination of the choices, in the order the search space lists them."""
    names = list(space)
    for distribution, _ in space.values():
        if distribution != "choice":
            raise ValueError("Grid sampling supports only Choice in the search space.")
    for values in itertools.product(*(space[name][1][0] for name in names)):
        yield dict(zip(names, values, strict=True))


def random(space: dict[str, list[Any]], seed: int | None) -> Iterator[dict[str, Any]]:
    """An endless stream of configurations drawn independently from each distribution."""
    rng = np.random.default_rng(seed)
    while True:
        yield {name: _draw(rng, distribution, args) for name, (distribution, args) in space.items()}


def _draw(rng: np.random.Generator, distribution: str, args: list[Any]) -> Any:
    # Azure ML's definitions: loguniform/lognormal take the parameters of the underlying log values.
    if distribution == "choice":
        options = args[0]
        return options[int(rng.integers(len(options)))]
    if distribution == "randint":
        return int(rng.integers(args[0]))
    if distribution == "uniform":
        return float(rng.uniform(args[0], args[1]))
    if distribution == "loguniform":
        return float(math.exp(rng.uniform(args[0], args[1])))
    if distribution == "normal":
        return float(rng.normal(args[0], args[1]))
    if distribution == "lognormal":
        return float(math.exp(rng.normal(args[0], args[1])))
    quantised = {
        "quniform": "uniform",
        "qloguniform": "loguniform",
        "qnormal": "normal",
        "qlognormal": "lognormal",
    }
    if distribution in quantised:
        q = args[-1]
        value = _draw(rng, quantised[distribution], args[:-1])
        return float(round(value / q) * q)
    raise ValueError(f"Unknown distribution '{distribution}'.")


def configurations(record: SweepJobRecord) -> Iterator[dict[str, Any]]:
    sampling = record["sampling"]
    space = record["search_space"]
    limit = record["limits"].get("max_total_trials")
    stream = grid(space) if sampling["type"] == "grid" else random(space, sampling.get("seed"))
    return itertools.islice(stream, limit) if limit else stream


def better(goal: str, value: float, than: float) -> bool:
    return value < than if goal == "minimize" else value > than


def run(runner: Runner, name: str) -> str:
    records = runner.records
    record = cast(SweepJobRecord, runner.start(name))
    limits = record["limits"]
    concurrent = max(1, int(limits.get("max_concurrent_trials") or 1))
    deadline = time.monotonic() + limits["timeout"] if limits.get("timeout") else None
    trial = record["trial"]
    # The configurations are drawn up front and the log reports trials in their order, whatever
    # order they finish in: the sweep's log reads the same on every run with the same seed.
    configs = list(configurations(record))
    for index, config in enumerate(configs):
        settings = ", ".join(f"{k}={_show(v)}" for k, v in config.items())
        records.append_log(name, f"[trial {index}] {name}_{index}: {settings}")
    results: dict[int, str] = {}
    reported = 0

    def report(index: int, status: str) -> None:
        nonlocal reported
        results[index] = status
        while reported in results:
            records.append_log(name, f"[trial {reported}] {name}_{reported}: {results[reported]}")
            reported += 1

    running: dict[str, Launched] = {}
    trials: list[str] = []
    early_termination = record.get("early_termination")
    policy = Bandit(early_termination, record["objective"]) if early_termination else None
    while True:
        if runner.cancelled() or (deadline and time.monotonic() > deadline):
            for child, launched in running.items():
                records.update(child, status="CancelRequested")
                stop_tree(launched.process)
            break
        while len(trials) < len(configs) and len(running) < concurrent:
            index = len(trials)
            config = configs[index]
            child = f"{name}_{index}"  # Azure ML names trials <sweep>_<index> too
            inputs = {**trial["inputs"], **{k: {"value": v} for k, v in config.items()}}
            outputs = child_outputs(record["output_prefix"], child, trial["outputs"])
            records.create(
                child_record(
                    record,
                    child,
                    step=f"trial {index}",
                    display_name=f"{record['display_name']}_{index}",
                    command=trial["command"],
                    code=trial["code"],
                    environment=trial["environment"],
                    inputs=inputs,
                    outputs=outputs,
                    environment_variables=trial.get("environment_variables"),
                    timeout=limits.get("trial_timeout"),
                    properties={f"hyperparameter.{k}": str(v) for k, v in config.items()},
                )
            )
            threads = max(1, (os.cpu_count() or 1) // concurrent)
            records.update(child, hyperparameters=config, threads=threads, index=index)
            trials.append(child)
            records.update(name, children=list(trials))
            launched = runner.launch(child, parent_run=record["mlflow_run_id"])
            if launched is None:
                report(index, records.get(child)["status"])
            else:
                running[child] = launched
        if not running and len(trials) == len(configs):
            break
        for child, launched in list(running.items()):
            process = launched.process
            if process.poll() is None:
                if launched.overdue():
                    stop_tree(process)
                continue
            launched.log.close()
            status = runner.settle(
                child, process.returncode, launched.published, launched.overdue(), launched.timeout
            )
            del running[child]
            trial_record = records.get(child)
            if trial_record.get("early_terminated"):
                status += " (stopped by the bandit policy)"
            report(trial_record["index"], status)
        if policy is not None:
            for child in policy.tostop_tree(runner, trials, running):
                records.update(child, status="CancelRequested", early_terminated=True)
                stop_tree(running[child].process)
        time.sleep(_POLL_SECONDS)

    # Trials stopped above still need their status written.
    for child, launched in running.items():
        with contextlib.suppress(Exception):
            launched.process.wait(timeout=10)
        launched.log.close()
        status = runner.settle(child, launched.process.returncode or -15, launched.published, False, None)
        report(records.get(child)["index"], status)
    for index in range(len(trials), len(configs)):
        report(index, "not started")
    return _conclude(runner, name, trials)


def _conclude(runner: Runner, name: str, trials: list[str]) -> str:
    records = runner.records
    record = cast(SweepJobRecord, records.get(name))
    goal, metric = record["objective"]["goal"], record["objective"]["primary_metric"]
    best, best_value = None, None
    for child in trials:
        trial = records.get(child)
        if trial["status"] != "Completed":
            continue
        value = runner.tracking.get_run(trial["mlflow_run_id"]).data.metrics.get(metric)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if best_value is None or better(goal, value, best_value):
            best, best_value = child, value
    if runner.cancelled():
        runner.finish(name, "Canceled")
        return "Canceled"
    if best is None:
        runner.finish(
            name,
            "Failed",
            f"No trial completed with a value of the primary metric '{metric}'. The trials must log it "
            "with mlflow.log_metric.",
        )
        return "Failed"
    properties = {**(record.get("properties") or {}), "best_child_run_id": best, "score": str(best_value)}
    outputs = {
        k: {**v, "uri": records.get(best)["outputs"][k]["uri"]} for k, v in record["trial"]["outputs"].items()
    }
    rest = record["rest"]
    rest["properties"]["properties"] = properties
    records.update(name, properties=properties, outputs=outputs, rest=rest, best_child_run_id=best)
    records.append_log(name, f"Best trial: {best} ({metric} = {best_value:.6g})")
    runner.finish(name, "Completed")
    return "Completed"


def _show(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


class Bandit:
    """Azure ML's bandit policy: at each evaluation interval after the delay, stop a trial whose
    latest primary metric is worse than the best trial's at the same interval by more than the slack."""

    def __init__(self, policy: BanditPolicySpec, objective: Objective) -> None:
        self.slack_factor = policy.get("slack_factor")
        self.slack_amount = policy.get("slack_amount")
        self.interval = max(1, int(policy.get("evaluation_interval") or 1))
        self.delay = int(policy.get("delay_evaluation") or 0)
        self.goal = objective["goal"]
        self.metric = objective["primary_metric"]
        self._evaluated: dict[str, int] = {}

    def _history(self, runner: Runner, job: str) -> list[float]:
        run_id = runner.records.get(job).get("mlflow_run_id")
        if not run_id:
            return []
        history = runner.tracking.get_metric_history(run_id, self.metric)
        return [m.value for m in sorted(history, key=lambda m: (m.step, m.timestamp))]

    def threshold(self, best: float) -> float:
        if self.slack_amount is not None:
            return best + self.slack_amount if self.goal == "minimize" else best - self.slack_amount
        factor = 1 + (self.slack_factor or 0)
        return best * factor if self.goal == "minimize" else best / factor

    def tostop_tree(self, runner: Runner, trials: list[str], running: dict[str, Launched]) -> list[str]:
        histories = {job: self._history(runner, job) for job in trials}
        stop = []
        for job in running:
            reported = len(histories[job])
            if (
                reported <= self.delay
                or (reported - self.delay) % self.interval
                or self._evaluated.get(job) == reported
            ):
                continue
            self._evaluated[job] = reported
            at_interval = [h[reported - 1] for h in histories.values() if len(h) >= reported]
            best = min(at_interval) if self.goal == "minimize" else max(at_interval)
            value = histories[job][reported - 1]
            if better(self.goal, self.threshold(best), value):
                stop.append(job)
        return stop
