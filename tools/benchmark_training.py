"""Benchmark figures for the local job runner and the week 9 training pipeline.

    python tools/benchmark_training.py [--rows 10000 100000 1000000] [--repeat 3]

- The runner's own overhead per job and per pipeline step: a job's time from submission to its
  final status, minus the time its command takes when run directly.
- The taxi fare training pipeline (prepare, train, evaluate, register) at each data size, with
  each step's time.
- Each figure with warm job processes on and off (``ACCELERATOR_WARM_PROCESSES``), and the floor of a
  step: its script in an interpreter that has already imported MLflow.

Figures, not tests: nothing here fails on a slow machine. It runs in a temporary local store.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

NOOP = "import mlflow\nmlflow.log_metric('noop', 1)\n"
WORKLOAD = ROOT / "notebooks" / "workloads" / "taxi_fare"
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250601.v1"


def _client(home: Path):
    from azure.ai.ml.entities import AmlCompute, Environment, Workspace

    from accelerator.local import LocalMLClient

    client = LocalMLClient("mlw-bench", resource_group_name="rg-bench", home=home)
    client.workspaces.begin_create(Workspace(name="mlw-bench", location="westeurope")).result()
    client.environments.create_or_update(Environment(name="taxi-train", version="1", image=IMAGE))
    client.compute.begin_create_or_update(AmlCompute(name="cpu-cluster", size="Standard_DS3_v2")).result()
    return client


def _wait(client, name: str) -> float:
    """Seconds from now until job ``name`` ends; its status must be Completed."""
    started = time.perf_counter()
    while True:
        job = client.jobs.get(name)
        if job.status in ("Completed", "Failed", "Canceled"):
            break
        time.sleep(0.05)
    if job.status != "Completed":
        raise RuntimeError(f"job {name} ended {job.status}")
    return time.perf_counter() - started


def _direct(code: Path, command: str) -> float:
    """Seconds the command takes run directly, with the same interpreter, outside the runner."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{code}/direct.db"}
    started = time.perf_counter()
    subprocess.run(["/bin/bash", "-c", command], cwd=code, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def runner_overhead(client, folder: Path, repeat: int) -> None:
    from azure.ai.ml import command, dsl, load_component

    code = folder / "noop"
    code.mkdir()
    (code / "noop.py").write_text(NOOP)
    direct = min(_direct(code, f"{sys.executable} noop.py") for _ in range(repeat))
    warm_floor = _in_warm_interpreter(code, repeat)

    job_times = []
    for index in range(repeat):
        job = command(
            code=code,
            command="python noop.py",
            environment="azureml:taxi-train@latest",
            compute="cpu-cluster",
            experiment_name="benchmark",
            display_name=f"noop {index}",
        )
        started = time.perf_counter()
        name = client.jobs.create_or_update(job).name
        _wait(client, name)
        job_times.append(time.perf_counter() - started)

    spec = folder / "noop.yaml"
    spec.write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n"
        "type: command\nname: noop\nversion: '1'\ncode: ./noop\nenvironment: azureml:taxi-train@latest\n"
        "is_deterministic: false\ncommand: python noop.py\n"
    )
    noop = load_component(spec)
    steps = 3

    @dsl.pipeline(compute="cpu-cluster")
    def chain():
        for _ in range(steps):
            noop()

    pipeline_times = []
    for _ in range(repeat):
        started = time.perf_counter()
        name = client.jobs.create_or_update(chain(), experiment_name="benchmark").name
        _wait(client, name)
        pipeline_times.append(time.perf_counter() - started)

    job_time = statistics.median(job_times)
    step_time = statistics.median(pipeline_times) / steps
    print(f"\nthe command run directly, a new python (imports mlflow, logs a metric): {direct:6.2f} s")
    print(f"the floor, the command in an interpreter that has imported MLflow:      {warm_floor:6.2f} s")
    print(
        f"a command job, submission to Completed: {job_time:6.2f} s: {job_time - warm_floor:5.2f} s above "
        f"the floor, {job_time - direct:+6.2f} s against the direct run"
    )
    print(
        f"a {steps}-step pipeline, per step:           {step_time:6.2f} s: "
        f"{step_time - warm_floor:5.2f} s above the floor, "
        f"{step_time - direct:+6.2f} s against the direct run"
    )


def _in_warm_interpreter(code: Path, repeat: int) -> float:
    """Seconds the noop script takes once MLflow is imported (the warm floor of a step)."""
    timer = (
        "import time, runpy, mlflow\n"
        "best = 1e9\n"
        f"for _ in range({repeat}):\n"
        "    started = time.perf_counter()\n"
        "    runpy.run_path('noop.py', run_name='__main__')\n"
        "    mlflow.end_run()\n"
        "    best = min(best, time.perf_counter() - started)\n"
        "print(best)\n"
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{code}/direct.db"}
    result = subprocess.run(
        [sys.executable, "-c", timer], cwd=code, env=env, check=True, capture_output=True, text=True
    )
    return float(result.stdout.split()[-1])


def training_pipeline(client, folder: Path, rows: int) -> None:
    from azure.ai.ml import Input, dsl, load_component
    from azure.ai.ml.entities import Data

    from accelerator.data import generate_trips

    lake = folder / f"trips-{rows}"
    lake.mkdir()
    generate_trips(rows, seed=1, start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31)).to_parquet(
        lake / "trips.parquet", index=False
    )
    data = client.data.create_or_update(Data(name=f"trips-{rows}", type="uri_folder", path=str(lake)))
    components = WORKLOAD / "components"
    prep, train, evaluate, register = (
        load_component(components / f"{step}.yaml") for step in ("prep", "train", "evaluate", "register")
    )

    @dsl.pipeline(compute="cpu-cluster")
    def training(raw_data):
        prepared = prep(raw_data=raw_data)
        outputs = prepared.outputs
        model = train(train_data=outputs.train_data, validation_data=outputs.validation_data)
        decision = evaluate(
            model_input=model.outputs.model_output, test_data=outputs.test_data, model_name=f"bench-{rows}"
        )
        register(
            model_input=model.outputs.model_output,
            evaluation_output=decision.outputs.evaluation_output,
            model_name=f"bench-{rows}",
        )

    started = time.perf_counter()
    pipeline = training(raw_data=Input(type="uri_folder", path=f"azureml:{data.name}:{data.version}"))
    name = client.jobs.create_or_update(pipeline, experiment_name="benchmark").name
    _wait(client, name)
    total = time.perf_counter() - started
    steps = []
    for child in client.jobs.list(parent_job_name=name):
        record = client.jobs._records.get(child.name)
        ended, started = (dt.datetime.fromisoformat(record[key]) for key in ("ended", "started"))
        seconds = (ended - started).total_seconds()
        steps.append(f"{child.display_name} {seconds:.1f}")
    print(f"{rows:>10,} rows {total:8.1f} s   ({', '.join(steps)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="jobs per overhead figure (the median is kept)")
    parser.add_argument("--warm", choices=["on", "off", "both"], default="both", help="warm job processes")
    args = parser.parse_args(argv)
    for warm in ("on", "off") if args.warm == "both" else (args.warm,):
        os.environ["ACCELERATOR_WARM_PROCESSES"] = "1" if warm == "on" else "0"
        print(f"\n== warm job processes {warm} ==")
        with tempfile.TemporaryDirectory(prefix="accelerator-benchmark-") as scratch:
            folder = Path(scratch)
            client = _client(folder / "store")
            runner_overhead(client, folder, args.repeat)
            print("\ntraining pipeline (prepare, train, evaluate, register), submission to Completed:")
            for rows in args.rows:
                training_pipeline(client, folder, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
