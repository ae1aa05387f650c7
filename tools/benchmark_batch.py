"""Benchmark figures for a local batch endpoint, beside the model's own predict time.

    python tools/benchmark_batch.py [--files 20] [--rows 5000]

Deploys the taxi fare model to a local batch endpoint (no-code MLflow deployment, one file per
mini-batch) in a temporary store and prints, for one worker and for two: the time from ``invoke`` to
the job's completion over ``--files`` CSV files of ``--rows`` trips, and rows scored per second. Also
the fixed cost of a job (one file of ten rows) and the model's predict time for all the rows in this
process. Figures, not tests.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "notebooks" / "workloads" / "taxi_fare" / "src"))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250601.v1"


def _score(client, endpoint: str, deployment: str, folder: Path) -> float:
    """Seconds from invoke to the batch job's completion."""
    from azure.ai.ml import Input

    started = time.perf_counter()
    job = client.batch_endpoints.invoke(
        endpoint, deployment_name=deployment, input=Input(type="uri_folder", path=str(folder))
    )
    while (status := client.jobs.get(job.name).status) not in ("Completed", "Failed", "Canceled"):
        time.sleep(0.2)
    if status != "Completed":
        raise RuntimeError(f"batch job {job.name} ended {status}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=20, help="CSV files to score")
    parser.add_argument("--rows", type=int, default=5_000, help="trips per file")
    args = parser.parse_args(argv)

    import features
    import train
    from azure.ai.ml.entities import (
        AmlCompute,
        BatchEndpoint,
        Environment,
        Model,
        ModelBatchDeployment,
        ModelBatchDeploymentSettings,
        Workspace,
    )

    from accelerator.data import generate_trips
    from accelerator.local import LocalMLClient

    with tempfile.TemporaryDirectory(prefix="accelerator-benchmark-") as scratch:
        folder = Path(scratch)
        client = LocalMLClient("mlw-bench", resource_group_name="rg-bench", home=folder / "store")
        client.workspaces.begin_create(Workspace(name="mlw-bench", location="westeurope")).result()
        client.environments.create_or_update(Environment(name="taxi-score", version="1", image=IMAGE))
        client.compute.begin_create_or_update(AmlCompute(name="cpu-cluster", size="Standard_DS3_v2")).result()
        frame, _ = features.engineer_features(generate_trips(args.files * args.rows, seed=1))
        x = frame[list(features.FEATURE_COLUMNS)]
        model = train.build_model({"model": "linear", "alpha": 1.0}).fit(x, frame[features.TARGET])
        train.save_model(model, folder / "model", x)
        client.models.create_or_update(
            Model(name="taxi-fare", path=str(folder / "model"), type="mlflow_model")
        )
        trips = folder / "trips"
        trips.mkdir()
        for index in range(args.files):
            x.iloc[index * args.rows : (index + 1) * args.rows].to_csv(
                trips / f"{index:03d}.csv", index=False
            )
        tiny = folder / "tiny"
        tiny.mkdir()
        x.head(10).to_csv(tiny / "one.csv", index=False)

        client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="bench-batch")).result()
        for workers in (1, 2):
            client.batch_deployments.begin_create_or_update(
                ModelBatchDeployment(
                    name=f"workers-{workers}",
                    endpoint_name="bench-batch",
                    model="azureml:taxi-fare:1",
                    compute="cpu-cluster",
                    settings=ModelBatchDeploymentSettings(
                        mini_batch_size=1, max_concurrency_per_instance=workers
                    ),
                )
            ).result()
        # The store's first job also starts its warm job daemon; the next one finds it running.
        first = _score(client, "bench-batch", "workers-1", tiny)
        print(f"one file of 10 rows, 1 worker, the store's first job: {first:.1f} s")
        fixed = min(_score(client, "bench-batch", "workers-1", tiny) for _ in range(3))
        print(f"one file of 10 rows, 1 worker, the fixed cost of a batch job: {fixed:.1f} s")
        total = args.files * args.rows
        for workers in (1, 2):
            seconds = _score(client, "bench-batch", f"workers-{workers}", trips)
            print(
                f"{args.files} files x {args.rows:,} rows, {workers} worker(s): {seconds:.1f} s, "
                f"{total / seconds:,.0f} rows/s"
            )
        started = time.perf_counter()
        model.predict(x)
        print(f"predict of all {total:,} rows in this process: {time.perf_counter() - started:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
