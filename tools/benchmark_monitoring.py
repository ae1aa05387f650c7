"""Benchmark figures for a local model monitor run, beside scipy's own metric functions.

    python tools/benchmark_monitoring.py [--production 1000000] [--reference 100000]

In a temporary store: registers ``--reference`` baseline trips and ``--production`` trips with
longer distances (the trip generator's ``longer_trips`` scenario; the model's input columns, without
the timestamps and the target) as parquet data assets, and runs one monitor as of a day with a data
drift signal (normalized Wasserstein distance for numerical features, Jensen-Shannon distance for
categorical ones, the SDK's defaults) and a data quality signal. Prints the run's time and its
process's peak memory (each measurement runs in its own process: ``ru_maxrss``), and the floor:
scipy's ``wasserstein_distance`` and ``jensenshannon`` (of ``numpy.histogram``) called directly on
the same arrays, with the time pandas takes to read the two parquet files. Figures, not tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
DROPPED = ("pickup_datetime", "dropoff_datetime", "cost")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _prepare(folder: Path, production: int, reference: int) -> None:
    from accelerator.data import generate_trips

    generate_trips(reference, seed=1).drop(columns=list(DROPPED)).to_parquet(folder / "reference.parquet")
    generate_trips(production, seed=2, scenario="longer_trips").drop(columns=list(DROPPED)).to_parquet(
        folder / "production.parquet"
    )


def _monitor(folder: Path) -> dict[str, float]:
    """One monitor run through the local backend, in this (fresh) process."""
    from azure.ai.ml import Input
    from azure.ai.ml.entities import (
        Data,
        DataDriftSignal,
        DataQualitySignal,
        MonitorDefinition,
        MonitorSchedule,
        ProductionData,
        RecurrenceTrigger,
        ReferenceData,
        ServerlessSparkCompute,
        Workspace,
    )

    from accelerator import connect
    from accelerator.local._monitoring import submit_monitor_run

    client = connect("dev", backend="local")
    client.workspaces.begin_create(Workspace(name=client.workspace_name, location="westeurope")).result()
    for name in ("reference", "production"):
        client.data.create_or_update(
            Data(name=f"bench-{name}", version="1", path=str(folder / f"{name}.parquet"), type="uri_file")
        )

    def data(kind: type, name: str) -> object:
        return kind(
            input_data=Input(path=f"azureml:bench-{name}:1", type="uri_file"), data_context="model_inputs"
        )

    signals = {
        "drift": DataDriftSignal(
            production_data=data(ProductionData, "production"),
            reference_data=data(ReferenceData, "reference"),
        ),
        "quality": DataQualitySignal(
            production_data=data(ProductionData, "production"),
            reference_data=data(ReferenceData, "reference"),
        ),
    }
    schedule = MonitorSchedule(
        name="bench",
        trigger=RecurrenceTrigger(frequency="day", interval=1),
        create_monitor=MonitorDefinition(
            compute=ServerlessSparkCompute(instance_type="standard_e4s_v3", runtime_version="3.4"),
            monitoring_signals=signals,
        ),
    )
    client.jobs.list()  # MLflow's schema exists before the clock starts, as in a workspace in use
    from accelerator.local import _mlflow

    _mlflow.client(client._scope.require_workspace())
    before = _peak_mb()
    started = time.perf_counter()
    job = submit_monitor_run(client, schedule, dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc), "bench-run")
    seconds = time.perf_counter() - started
    if job.status != "Completed":
        raise RuntimeError(f"the monitor run ended {job.status}")
    breached = sorted(
        child.display_name for child in client.jobs.list(parent_job_name=job.name) if (child.tags or {})
    )
    return {"seconds": seconds, "peak_mb": _peak_mb(), "before_mb": before, "breached": ",".join(breached)}


def _scipy(folder: Path) -> dict[str, float]:
    """scipy's metric functions on the same columns: the floor of the drift computation."""
    import math

    import numpy as np
    import pandas as pd
    from scipy.spatial import distance
    from scipy.stats import wasserstein_distance

    started = time.perf_counter()
    reference = pd.read_parquet(folder / "reference.parquet")
    production = pd.read_parquet(folder / "production.parquet")
    read = time.perf_counter() - started
    before = _peak_mb()
    started = time.perf_counter()
    bins = math.ceil(math.log2(len(reference)) + 1)
    for column in reference.columns:
        base, prod = reference[column], production[column]
        if pd.api.types.is_float_dtype(base):
            wasserstein_distance(base.to_numpy(), prod.to_numpy()) / base.std()
            low, high = min(base.min(), prod.min()), max(base.max(), prod.max())
            p, _ = np.histogram(base, bins=bins, range=(low, high))
            q, _ = np.histogram(prod, bins=bins, range=(low, high))
            distance.jensenshannon(p / p.sum(), q / q.sum(), base=2)
        else:
            counts = pd.concat([base.value_counts(), prod.value_counts()], axis=1).fillna(0)
            p, q = counts.iloc[:, 0].to_numpy(), counts.iloc[:, 1].to_numpy()
            distance.jensenshannon(p / p.sum(), q / q.sum(), base=2)
    return {
        "seconds": time.perf_counter() - started,
        "read_seconds": read,
        "peak_mb": _peak_mb(),
        "before_mb": before,
    }


def _child(kind: str, folder: Path, home: Path) -> dict[str, float]:
    env = {**os.environ, "ACCELERATOR_HOME": str(home), "ACCELERATOR_BACKEND": "local"}
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--folder", str(folder)],
        env=env,
        cwd=str(home.parent),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--production", type=int, default=1_000_000, help="production rows")
    parser.add_argument("--reference", type=int, default=100_000, help="reference rows")
    parser.add_argument("--child", choices=("monitor", "scipy"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = _monitor(args.folder) if args.child == "monitor" else _scipy(args.folder)
        print(json.dumps(result))
        return 0
    with tempfile.TemporaryDirectory(prefix="benchmark-monitoring-") as temp:
        folder = Path(temp)
        _prepare(folder, args.production, args.reference)
        monitor = _child("monitor", folder, folder / "store")
        floor = _child("scipy", folder, folder / "store")
    print(f"Monitor run: {args.production:,} production rows against {args.reference:,} reference rows")
    print(
        f"  local monitor run (data drift + data quality): {monitor['seconds']:.1f} s, "
        f"peak memory {monitor['peak_mb']:.0f} MB (process {monitor['before_mb']:.0f} MB before the run); "
        f"breached: {monitor['breached'] or 'none'}"
    )
    print(
        f"  floor, scipy on the same arrays (Wasserstein, Jensen-Shannon of numpy histograms): "
        f"{floor['seconds']:.1f} s after {floor['read_seconds']:.1f} s reading the parquet files, "
        f"peak memory {floor['peak_mb']:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
