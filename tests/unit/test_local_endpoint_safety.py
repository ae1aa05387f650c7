"""Online endpoints under concurrent writers and failed updates.

Every read-modify-write of an endpoint's record happens under the record's lock: keys rotated
while another process updates the endpoint are never written back stale, so the new key always
works and the revoked one never does. A deployment update that cannot serve is reported, and the
previous definition keeps answering.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    Workspace,
)
from azure.core.exceptions import HttpResponseError
from workload_models import save_linear_taxi_model

from accelerator.local import LocalMLClient

ENDPOINT = "safety-ep"
WORKSPACE = "mlw-safety"
GROUP = "rg-safety"
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250601.v1"
ROTATIONS = 25

_UPDATER = """
import sys
from accelerator.local import LocalMLClient
client = LocalMLClient(sys.argv[1], resource_group_name=sys.argv[2], home=sys.argv[3])
for index in range(int(sys.argv[5])):
    endpoint = client.online_endpoints.get(sys.argv[4])
    endpoint.tags = {"update": str(index)}
    client.online_endpoints.begin_create_or_update(endpoint).result()
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalMLClient, Path, bytes]]:
    """An endpoint with one no-code MLflow deployment, blue, taking all traffic."""
    home = tmp_path_factory.mktemp("safety-home")
    client = LocalMLClient(WORKSPACE, resource_group_name=GROUP, home=home)
    client.workspaces.begin_create(Workspace(name=WORKSPACE, location="westeurope")).result()
    client.environments.create_or_update(Environment(name="taxi-train", version="1", image=IMAGE))
    folder = tmp_path_factory.mktemp("model") / "model"
    _, x = save_linear_taxi_model(folder, rows=500, seed=3)
    client.models.create_or_update(Model(name="taxi-fare", path=str(folder), type="mlflow_model"))
    client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=ENDPOINT)).result()
    client.online_deployments.begin_create_or_update(
        ManagedOnlineDeployment(
            name="blue", endpoint_name=ENDPOINT, model="azureml:taxi-fare:1", instance_type="Standard_DS3_v2"
        )
    ).result()
    endpoint = client.online_endpoints.get(ENDPOINT)
    endpoint.traffic = {"blue": 100}
    client.online_endpoints.begin_create_or_update(endpoint).result()
    body = json.dumps(
        {"input_data": {"columns": list(x.columns), "data": x.head(2).values.tolist()}}
    ).encode()
    yield client, home, body
    client.online_endpoints.begin_delete(ENDPOINT).result()


def _status(client: LocalMLClient, body: bytes, key: str) -> int:
    request = urllib.request.Request(
        client.online_endpoints.get(ENDPOINT).scoring_uri,
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def test_key_rotation_during_endpoint_updates_never_reverts_a_key(served) -> None:
    client, home, body = served
    # Another process updates the endpoint from entities it read earlier, all through the rotations.
    updater = subprocess.Popen(
        [sys.executable, "-c", _UPDATER, WORKSPACE, GROUP, str(home), ENDPOINT, str(ROTATIONS * 2)]
    )

    # And a thread of this process does the same.
    def update_in_a_thread() -> None:
        for index in range(ROTATIONS):
            endpoint = client.online_endpoints.get(ENDPOINT)
            endpoint.description = f"thread update {index}"
            client.online_endpoints.begin_create_or_update(endpoint).result()

    thread = threading.Thread(target=update_in_a_thread)
    thread.start()
    seen = [client.online_endpoints.get_keys(ENDPOINT).primary_key]
    failures = []
    try:
        for _ in range(ROTATIONS):
            client.online_endpoints.begin_regenerate_keys(ENDPOINT, key_type="primary").result()
            new = client.online_endpoints.get_keys(ENDPOINT).primary_key
            if new in seen:
                failures.append("a revoked key was written back")
            if _status(client, body, new) != 200:
                failures.append("the new key was refused")
            if _status(client, body, seen[-1]) != 401:
                failures.append("the revoked key was let in")
            seen.append(new)
    finally:
        thread.join()
        assert updater.wait(timeout=300) == 0
    assert failures == []
    final = client.online_endpoints.get(ENDPOINT)
    assert final.traffic == {"blue": 100}
    assert client.online_endpoints.get_keys(ENDPOINT).primary_key == seen[-1]


def test_a_failed_deployment_update_leaves_the_previous_one_serving(served, tmp_path: Path) -> None:
    client, home, body = served
    key = client.online_endpoints.get_keys(ENDPOINT).primary_key
    before = client.online_deployments.get("blue", ENDPOINT)
    code = tmp_path / "broken"
    code.mkdir()
    (code / "score.py").write_text(
        "def init():\n    raise RuntimeError('cannot load')\n\ndef run(raw):\n    return raw\n"
    )
    broken = ManagedOnlineDeployment(
        name="blue",
        endpoint_name=ENDPOINT,
        model="azureml:taxi-fare:1",
        code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py"),
        environment="azureml:taxi-train:1",
        instance_type="Standard_DS3_v2",
    )
    with pytest.raises(HttpResponseError, match=r"DeploymentFailed.*previous definition .* keeps serving"):
        client.online_deployments.begin_create_or_update(broken).result()
    assert _status(client, body, key) == 200
    after = client.online_deployments.get("blue", ENDPOINT)
    assert after.code_configuration == before.code_configuration is None
    assert client.online_endpoints.get(ENDPOINT).traffic == {"blue": 100}
    # Only the serving model copy is left: the failed attempt's was removed.
    copies = list(
        (
            home / "workspaces" / GROUP / WORKSPACE / "online_endpoints" / ENDPOINT / "models" / "blue"
        ).iterdir()
    )
    assert len(copies) == 1
