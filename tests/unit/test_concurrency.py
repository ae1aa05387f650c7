"""Two processes registering versions of the same asset at once get distinct versions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from accelerator.local import LocalMLClient

WORKER = """
import json, sys
from pathlib import Path
from azure.ai.ml.entities import Data, Environment
from accelerator import connect

worker, folder, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
ml_client = connect("dev", backend="local")
versions = []
for i in range(count):
    path = folder / f"trips-{worker}-{i}.csv"
    path.write_text(f"worker,row\\n{worker},{i}\\n")
    data = Data(name="race", path=str(path), type="uri_file")
    versions.append(ml_client.data.create_or_update(data).version)
    environment = Environment(name="race-env", image=f"python:3.{worker}{i}")
    versions.append("env" + ml_client.environments.create_or_update(environment).version)
print(json.dumps(versions))
"""


def test_concurrent_auto_increment_hands_out_each_version_once(ml_client: LocalMLClient, tmp_path: Path):
    count = 12
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(worker), str(tmp_path), str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in (1, 2)
    ]
    claimed: list[str] = []
    for process in workers:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-2000:]
        claimed += json.loads(stdout)

    data_versions = [v for v in claimed if not v.startswith("env")]
    env_versions = [v for v in claimed if v.startswith("env")]
    expected = {str(n) for n in range(1, 2 * count + 1)}
    assert set(data_versions) == expected and len(data_versions) == len(expected)
    assert {v.removeprefix("env") for v in env_versions} == expected
    assert {d.version for d in ml_client.data.list(name="race")} == expected
