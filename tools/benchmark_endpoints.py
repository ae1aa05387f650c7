"""Benchmark figures for a local online endpoint, beside the model's own predict time.

    python tools/benchmark_endpoints.py [--requests 300]

Deploys the taxi fare model (the workload's score.py) behind a local managed online endpoint in a
temporary store and prints, for a 1-row and a 100-row request: p50 and p99 latency and requests per
second through the endpoint (key check, traffic split, the inference server), and the model's
predict time in this process. Figures, not tests. The endpoint is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "notebooks" / "workloads" / "taxi_fare" / "src"))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250601.v1"


def _percentiles(seconds: list[float]) -> str:
    p50, p99 = np.percentile(np.array(seconds) * 1000, [50, 99])
    return f"p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  {len(seconds) / sum(seconds):7.1f} requests/s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300, help="requests per request size")
    args = parser.parse_args(argv)

    import features
    import train
    from azure.ai.ml.entities import (
        CodeConfiguration,
        Environment,
        ManagedOnlineDeployment,
        ManagedOnlineEndpoint,
        Model,
        Workspace,
    )

    from accelerator.data import generate_trips
    from accelerator.local import LocalMLClient

    with tempfile.TemporaryDirectory(prefix="accelerator-benchmark-") as scratch:
        folder = Path(scratch)
        client = LocalMLClient("mlw-bench", resource_group_name="rg-bench", home=folder / "store")
        client.workspaces.begin_create(Workspace(name="mlw-bench", location="westeurope")).result()
        client.environments.create_or_update(Environment(name="taxi-score", version="1", image=IMAGE))
        frame, _ = features.engineer_features(generate_trips(20_000, seed=1))
        x = frame[list(features.FEATURE_COLUMNS)]
        model = train.build_model({"model": "linear", "alpha": 1.0}).fit(x, frame[features.TARGET])
        train.save_model(model, folder / "model", x)
        client.models.create_or_update(
            Model(name="taxi-fare", path=str(folder / "model"), type="mlflow_model")
        )
        endpoint = ManagedOnlineEndpoint(name="bench-endpoint", auth_mode="key")
        client.online_endpoints.begin_create_or_update(endpoint).result()
        try:
            started = time.perf_counter()
            client.online_deployments.begin_create_or_update(
                ManagedOnlineDeployment(
                    name="blue",
                    endpoint_name="bench-endpoint",
                    model="azureml:taxi-fare:1",
                    code_configuration=CodeConfiguration(
                        code=str(ROOT / "notebooks" / "workloads" / "taxi_fare" / "score"),
                        scoring_script="score.py",
                    ),
                    environment="azureml:taxi-score:1",
                )
            ).result()
            print(f"deployment ready (server started and healthy) in {time.perf_counter() - started:.1f} s")
            endpoint.traffic = {"blue": 100}
            client.online_endpoints.begin_create_or_update(endpoint).result()
            uri = client.online_endpoints.get("bench-endpoint").scoring_uri
            key = client.online_endpoints.get_keys("bench-endpoint").primary_key
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
            for rows in (1, 100):
                batch = x.head(rows)
                body = json.dumps(
                    {"input_data": {"columns": list(x.columns), "data": batch.values.tolist()}}
                ).encode()
                timings = []
                for _ in range(args.requests):
                    request = urllib.request.Request(uri, data=body, headers=headers, method="POST")
                    began = time.perf_counter()
                    with urllib.request.urlopen(request) as answer:
                        answer.read()
                    timings.append(time.perf_counter() - began)
                in_process = []
                for _ in range(args.requests):
                    began = time.perf_counter()
                    model.predict(batch)
                    in_process.append(time.perf_counter() - began)
                print(f"\n{rows:>3}-row request through the endpoint: {_percentiles(timings)}")
                print(f"{rows:>3}-row predict in this process:      {_percentiles(in_process)}")
        finally:
            client.online_endpoints.begin_delete("bench-endpoint").result()
    return 0


if __name__ == "__main__":
    sys.exit(main())
