"""Local managed online endpoints: key auth, traffic, mirroring, bad requests, restarts, cleanup."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from azure.ai.ml.entities import (
    CodeConfiguration,
    DataCollector,
    DeploymentCollection,
    Environment,
    KubernetesOnlineEndpoint,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    Workspace,
)
from azure.ai.ml.exceptions import ValidationException
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from workload_models import save_linear_taxi_model

from accelerator.local import LocalBackendUnsupportedError, LocalMLClient

REPO = Path(__file__).resolve().parents[2]
WORKLOAD = REPO / "notebooks" / "workloads" / "taxi_fare"
ENDPOINT = "taxi-fare-test"
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250601.v1"


def _ours(home: Path) -> list[psutil.Process]:
    """Live processes of this store: gateways name its folder, scoring servers get their model
    folder in AZUREML_MODEL_DIR."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            named = str(home) in " ".join(process.info["cmdline"] or [])
            if named or process.environ().get("AZUREML_MODEL_DIR", "").startswith(str(home)):
                found.append(process)
        except psutil.Error:
            continue
    return found


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LocalMLClient, list[str], list[list[float]]]]:
    """An endpoint with blue (score.py, a fitted model) and green (no-code MLflow, a weaker model)."""
    home = tmp_path_factory.mktemp("endpoints-home")
    client = LocalMLClient("mlw-endpoints", resource_group_name="rg-endpoints", home=home)
    client.workspaces.begin_create(Workspace(name="mlw-endpoints", location="westeurope")).result()
    client.environments.create_or_update(Environment(name="taxi-train", version="1", image=IMAGE))
    for index, alpha in enumerate((1.0, 1000.0)):
        folder = tmp_path_factory.mktemp("model") / f"model-{index}"
        _, x = save_linear_taxi_model(folder, rows=1_000, seed=5, alpha=alpha)
        client.models.create_or_update(Model(name="taxi-fare", path=str(folder), type="mlflow_model"))
    client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name=ENDPOINT, auth_mode="key")
    ).result()
    client.online_deployments.begin_create_or_update(
        ManagedOnlineDeployment(
            name="blue",
            endpoint_name=ENDPOINT,
            model="azureml:taxi-fare:1",
            code_configuration=CodeConfiguration(code=str(WORKLOAD / "score"), scoring_script="score.py"),
            environment="azureml:taxi-train@latest",
            instance_type="Standard_DS3_v2",
            instance_count=1,
        )
    ).result()
    client.online_deployments.begin_create_or_update(
        ManagedOnlineDeployment(name="green", endpoint_name=ENDPOINT, model="azureml:taxi-fare:2")
    ).result()
    yield client, list(x.columns), x.head(3).values.tolist()
    with pytest.raises(ResourceNotFoundError):  # the tests below delete it; nothing may be left
        client.online_endpoints.get(ENDPOINT)
    assert not _ours(home)


def _set_traffic(
    client: LocalMLClient, traffic: dict[str, int], mirror: dict[str, int] | None = None
) -> None:
    endpoint = client.online_endpoints.get(ENDPOINT)
    endpoint.traffic = traffic
    endpoint.mirror_traffic = mirror or {}
    client.online_endpoints.begin_create_or_update(endpoint).result()


def _post(uri: str, body: bytes, key: str | None) -> tuple[int, str | None]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    try:
        with urllib.request.urlopen(
            urllib.request.Request(uri, data=body, headers=headers, method="POST")
        ) as answer:
            return answer.status, answer.headers.get("azureml-model-deployment")
    except urllib.error.HTTPError as error:
        return error.code, None


def _body(setup) -> bytes:
    _, columns, rows = setup
    return json.dumps({"input_data": {"columns": columns, "data": rows}}).encode()


def test_the_scoring_uri_needs_the_key(setup) -> None:
    client = setup[0]
    _set_traffic(client, {"blue": 100})
    uri = client.online_endpoints.get(ENDPOINT).scoring_uri
    assert uri.startswith("http://127.0.0.1:")
    keys = client.online_endpoints.get_keys(ENDPOINT)
    assert _post(uri, _body(setup), None)[0] == 401
    assert _post(uri, _body(setup), "not-the-key")[0] == 401
    assert _post(uri, _body(setup), keys.primary_key) == (200, "blue")
    assert _post(uri, _body(setup), keys.secondary_key) == (200, "blue")


def test_invoke_answers_and_routes_by_deployment(setup, tmp_path: Path) -> None:
    client = setup[0]
    _set_traffic(client, {"blue": 100})
    request = tmp_path / "request.json"
    request.write_bytes(_body(setup))
    blue = json.loads(client.online_endpoints.invoke(ENDPOINT, request_file=str(request)))
    green = json.loads(
        client.online_endpoints.invoke(ENDPOINT, request_file=str(request), deployment_name="green")
    )
    assert len(blue["predictions"]) == len(green["predictions"]) == 3
    assert blue != green  # two different models
    with pytest.raises(ResourceNotFoundError):
        client.online_endpoints.invoke(ENDPOINT, request_file=str(request), deployment_name="red")


def test_traffic_is_split_in_proportion(setup) -> None:
    client = setup[0]
    _set_traffic(client, {"blue": 70, "green": 30})
    uri = client.online_endpoints.get(ENDPOINT).scoring_uri
    key = client.online_endpoints.get_keys(ENDPOINT).primary_key
    counts = Counter(_post(uri, _body(setup), key)[1] for _ in range(300))
    # Binomial(300, 0.3): mean 90, standard deviation 7.9; four deviations either side.
    assert 58 <= counts["green"] <= 122, counts
    assert counts["blue"] + counts["green"] == 300


def test_mirrored_requests_are_scored_and_discarded(setup) -> None:
    client = setup[0]
    _set_traffic(client, {"blue": 100}, {"green": 40})
    folder = client.online_endpoints._records.folder(ENDPOINT)
    log = folder / "logs" / "mirror.jsonl"
    before = len(log.read_text().splitlines()) if log.is_file() else 0
    uri = client.online_endpoints.get(ENDPOINT).scoring_uri
    key = client.online_endpoints.get_keys(ENDPOINT).primary_key
    answers = Counter(_post(uri, _body(setup), key)[1] for _ in range(150))
    assert answers == Counter({"blue": 150})  # callers only ever get blue's answers
    time.sleep(2)  # mirrored copies are sent in the background
    mirrored = [json.loads(line) for line in log.read_text().splitlines()[before:]]
    # Binomial(150, 0.4): mean 60, standard deviation 6; four deviations either side.
    assert 36 <= len(mirrored) <= 84, len(mirrored)
    assert {m["deployment"] for m in mirrored} == {"green"}
    assert all(m["status"] == 200 for m in mirrored)


@pytest.mark.parametrize(
    ("traffic", "mirror", "message"),
    [
        ({"blue": 60, "green": 30}, {}, "add up to 100"),
        ({"red": 100}, {}, "does not have"),
        ({"blue": 100}, {"green": 60}, "at most 50%"),
        ({"blue": 50, "green": 50}, {"green": 10}, "cannot also be mirrored"),
    ],
)
def test_traffic_rules(setup, traffic, mirror, message) -> None:
    with pytest.raises(ValidationException, match=message):
        _set_traffic(setup[0], traffic, mirror)


def test_bad_requests_get_400_and_the_deployment_stays_up(setup, tmp_path: Path) -> None:
    client = setup[0]
    _set_traffic(client, {"blue": 100})
    bad = tmp_path / "bad.json"
    bad.write_text('{"input_data": {"columns": ["vendor"], "data": [[1]]}}')
    with pytest.raises(HttpResponseError, match=r"\(400\).*Missing feature"):
        client.online_endpoints.invoke(ENDPOINT, request_file=str(bad))
    good = tmp_path / "good.json"
    good.write_bytes(_body(setup))
    assert "predictions" in client.online_endpoints.invoke(ENDPOINT, request_file=str(good))
    assert "POST /score 400" in client.online_deployments.get_logs("blue", ENDPOINT, lines=50)


def test_regenerated_keys_replace_the_old_ones(setup) -> None:
    client = setup[0]
    _set_traffic(client, {"blue": 100})
    uri = client.online_endpoints.get(ENDPOINT).scoring_uri
    old = client.online_endpoints.get_keys(ENDPOINT).primary_key
    client.online_endpoints.begin_regenerate_keys(ENDPOINT, key_type="primary").result()
    new = client.online_endpoints.get_keys(ENDPOINT).primary_key
    assert new != old
    assert _post(uri, _body(setup), old)[0] == 401
    assert _post(uri, _body(setup), new)[0] == 200
    with pytest.raises(ValidationException):
        client.online_endpoints.begin_regenerate_keys(ENDPOINT, key_type="tertiary")


def test_a_stopped_deployment_is_restarted_on_demand(setup, tmp_path: Path) -> None:
    client = setup[0]
    _set_traffic(client, {"blue": 100})
    from accelerator.local._local_endpoints._deployments import record_path
    from accelerator.local._store import read_record

    folder = client.online_endpoints._records.folder(ENDPOINT)
    before = read_record(record_path(folder, "blue"))["server"]["pid"]
    os.killpg(before, signal.SIGKILL)
    request = tmp_path / "request.json"
    request.write_bytes(_body(setup))
    assert "predictions" in client.online_endpoints.invoke(ENDPOINT, request_file=str(request))
    assert read_record(record_path(folder, "blue"))["server"]["pid"] != before


def _collected(client: LocalMLClient, deployment: str, collection: str, count: int = 0) -> list[dict]:
    """The events of one collection, in the default datastore where Azure ML writes them. Data is
    written after the caller has its answer: wait (up to 10 s) until ``count`` events are there."""
    from accelerator.local._storage import datastore_filesystem

    fs, root = datastore_filesystem(client._scope.require_workspace(), "workspaceblobstore")
    pattern = f"{root}/modelDataCollector/{ENDPOINT}/{deployment}/{collection}/*/*/*/*/*.jsonl"
    deadline = time.monotonic() + 10
    while True:
        events = [json.loads(line) for path in sorted(fs.glob(pattern)) for line in fs.cat(path).splitlines()]
        if len(events) >= count or time.monotonic() > deadline:
            return events
        time.sleep(0.1)


def test_data_collection_writes_inputs_and_outputs_by_hour(setup, tmp_path: Path) -> None:
    client, columns, rows = setup
    green = client.online_deployments.get("green", ENDPOINT)
    green.data_collector = DataCollector(
        collections={
            name: DeploymentCollection(enabled="true")
            for name in ("model_inputs", "model_outputs", "request", "response")
        }
    )
    client.online_deployments.begin_create_or_update(green).result()
    assert sorted(client.online_deployments.get("green", ENDPOINT).data_collector.collections) == [
        "model_inputs",
        "model_outputs",
        "request",
        "response",
    ]
    request = tmp_path / "request.json"
    request.write_bytes(_body(setup))
    answers = [
        json.loads(
            client.online_endpoints.invoke(ENDPOINT, request_file=str(request), deployment_name="green")
        )
        for _ in range(3)
    ]
    inputs = _collected(client, "green", "model_inputs", 3)
    outputs = _collected(client, "green", "model_outputs", 3)
    assert len(inputs) == len(outputs) == 3
    # Each request's inputs as rows, joined to its outputs by the correlation id.
    assert inputs[0]["data"] == [dict(zip(columns, row, strict=True)) for row in rows]
    by_request = {event["correlationid"]: event for event in outputs}
    for event in inputs:
        predictions = [o["prediction"] for o in by_request[event["correlationid"]]["data"]]
        assert predictions == answers[0]["predictions"]
    assert _collected(client, "green", "request", 3)[0]["data"] == json.loads(_body(setup))
    assert _collected(client, "green", "response", 3)[0]["data"] == answers[0]
    assert inputs[0]["modelversion"] == "taxi-fare:2"
    # A bad request is answered 400 and not collected.
    request.write_text("not json")
    with pytest.raises(HttpResponseError):
        client.online_endpoints.invoke(ENDPOINT, request_file=str(request), deployment_name="green")
    assert len(_collected(client, "green", "request")) == 3


def test_a_scoring_script_collects_payloads_only_and_says_so(setup, tmp_path: Path) -> None:
    client = setup[0]
    blue = client.online_deployments.get("blue", ENDPOINT)
    blue.code_configuration = CodeConfiguration(code=str(WORKLOAD / "score"), scoring_script="score.py")
    blue.environment = "azureml:taxi-train@latest"
    blue.data_collector = DataCollector(
        collections={
            "model_inputs": DeploymentCollection(enabled="true"),
            "request": DeploymentCollection(enabled="true"),
        }
    )
    with pytest.warns(UserWarning, match="azureml-ai-monitoring"):
        client.online_deployments.begin_create_or_update(blue).result()
    request = tmp_path / "request.json"
    request.write_bytes(_body(setup))
    client.online_endpoints.invoke(ENDPOINT, request_file=str(request), deployment_name="blue")
    assert len(_collected(client, "blue", "request", 1)) == 1
    assert _collected(client, "blue", "model_inputs") == []
    blue.data_collector = DataCollector(collections={"features": DeploymentCollection(enabled="true")})
    with pytest.raises(ValidationException, match="Unknown data collection"):
        client.online_deployments.begin_create_or_update(blue)


def test_refusals(setup) -> None:
    client = setup[0]
    with pytest.raises(LocalBackendUnsupportedError):
        client.online_endpoints.begin_create_or_update(
            KubernetesOnlineEndpoint(name="k8s-endpoint", compute="k8s")
        )
    with pytest.raises(LocalBackendUnsupportedError):
        client.online_endpoints.begin_create_or_update(
            ManagedOnlineEndpoint(name="token-ep", auth_mode="aml_token")
        )
    with pytest.raises(ValidationException):
        client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="9-bad-name-"))
    with pytest.raises(ResourceNotFoundError):
        client.online_endpoints.get("no-such-endpoint")
    with pytest.raises(ResourceNotFoundError):
        client.online_deployments.get("red", ENDPOINT)


def test_zz_deleting_stops_every_process(setup) -> None:
    client = setup[0]
    _set_traffic(client, {"blue": 100})
    with pytest.raises(ValidationException, match="still has traffic"):
        client.online_deployments.begin_delete("blue", ENDPOINT)
    client.online_deployments.begin_delete("green", ENDPOINT).result()
    assert [d.name for d in client.online_deployments.list(ENDPOINT)] == ["blue"]
    client.online_endpoints.begin_delete(ENDPOINT).result()
    assert not _ours(client.home)
