"""Benchmark figures for a local online endpoint, each beside its floor, measured in one run.

    python tools/benchmark_endpoints.py [--requests 300]

Deploys the taxi fare model (the workload's score.py) behind a local managed online endpoint in a
temporary store and prints, for a 1-row and a 100-row request, p50 and p99 latency and requests
per second with 1 and with 8 concurrent clients, three ways side by side:

- through the endpoint's gateway (key check, traffic split, the kept connection to the server);
- straight to the scoring server (azureml-inference-server-http): the gateway's floor;
- the model's predict in this process: the server's floor;

and the gateway's own CPU time per request, which other load on the machine hardly moves.

Each client keeps its connection open (HTTP keep-alive), as a service calling an endpoint does.
Figures, not tests. The endpoint is deleted at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "notebooks" / "workloads" / "taxi_fare" / "src"))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250601.v1"


def _figures(seconds: list[float], wall: float) -> str:
    p50, p99 = np.percentile(np.array(seconds) * 1000, [50, 99])
    return f"p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  {len(seconds) / wall:7.1f} requests/s"


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _poster(url: str, body: bytes, headers: dict[str, str]) -> Callable[[], None]:
    """One client: POSTs on a kept connection (reopened when the server closes it)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

    def post() -> None:
        connection.request("POST", parts.path, body=body, headers=headers)
        answer = connection.getresponse()
        answer.read()
        if answer.status != 200:
            raise RuntimeError(f"{url} answered {answer.status}")

    return post


def _load(make: Callable[[], Callable[[], None]], clients: int, requests: int) -> tuple[list[float], float]:
    """Latencies of ``requests`` calls spread over ``clients`` threads, and the wall time."""
    timings: list[float] = []
    lock = threading.Lock()
    share = [requests // clients + (i < requests % clients) for i in range(clients)]

    def client(count: int) -> None:
        call = make()
        call()  # warm: the connection opened, the caches filled
        mine = []
        for _ in range(count):
            began = time.perf_counter()
            call()
            mine.append(time.perf_counter() - began)
        with lock:
            timings.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in share]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings, time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=400, help="requests per measurement")
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
    from accelerator.local._local_endpoints._deployments import record_path
    from accelerator.local._store import read_record

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
            folder = client.online_endpoints._folder("bench-endpoint")
            server = read_record(record_path(folder, "blue"))["server"]
            direct = f"http://127.0.0.1:{server['port']}/score"
            # The gateway's own CPU per request: a figure the machine's other load does not move.
            gateway = psutil.Process(read_record(folder / "endpoint.yaml")["gateway"]["pid"])
            for rows in (1, 100):
                batch = x.head(rows)
                body = json.dumps(
                    {"input_data": {"columns": list(x.columns), "data": batch.values.tolist()}}
                ).encode()
                for clients in (1, 8):
                    print(f"\n{rows:>3}-row request, {clients} client(s):")
                    for label, url in (("through the gateway", uri), ("straight to the server", direct)):
                        cpu = _cpu(gateway)
                        timings, wall = _load(
                            lambda u=url, b=body: _poster(u, b, headers), clients, args.requests
                        )
                        own = (_cpu(gateway) - cpu) / len(timings) * 1000
                        extra = f"  (gateway CPU {own:.2f} ms/request)" if url == uri else ""
                        print(f"  {label:<24} {_figures(timings, wall)}{extra}")
                    timings, wall = _load(lambda b=batch: lambda: model.predict(b), clients, args.requests)
                    print(f"  {'predict in this process':<24} {_figures(timings, wall)}")
        finally:
            client.online_endpoints.begin_delete("bench-endpoint").result()
    return 0


if __name__ == "__main__":
    sys.exit(main())
