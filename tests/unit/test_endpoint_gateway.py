"""The endpoint gateway under load, bad framing, slow clients, huge bodies, key rotation and restarts.

One endpoint with three deployments: blue (the workload's score.py), green (the no-code MLflow
scorer) and slow (a script slower than its request_timeout_ms). Raw sockets send what an HTTP
client library would refuse to.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    OnlineRequestSettings,
    Workspace,
)
from workload_models import save_linear_taxi_model

from accelerator.local import LocalMLClient
from accelerator.local._local_endpoints._gateway import RecordCache, authorized
from accelerator.local._local_endpoints._http import BODY_LIMIT
from accelerator.local._store import read_record, write_record

REPO = Path(__file__).resolve().parents[2]
SCORE = REPO / "notebooks" / "workloads" / "taxi_fare" / "score"
ENDPOINT = "gateway-test"
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250601.v1"
SLOW_SCRIPT = """
import time

def init():
    pass

def run(raw_data):
    time.sleep(3)
    return {"slept": 3}
"""


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalMLClient, bytes]]:
    home = tmp_path_factory.mktemp("gateway-home")
    client = LocalMLClient("mlw-gateway", resource_group_name="rg-gateway", home=home)
    client.workspaces.begin_create(Workspace(name="mlw-gateway", location="westeurope")).result()
    client.environments.create_or_update(Environment(name="taxi-score", version="1", image=IMAGE))
    folder = tmp_path_factory.mktemp("model") / "model"
    _, x = save_linear_taxi_model(folder, rows=500, seed=7)
    client.models.create_or_update(Model(name="taxi-fare", path=str(folder), type="mlflow_model"))
    slow = tmp_path_factory.mktemp("slow-code")
    (slow / "score.py").write_text(SLOW_SCRIPT)
    client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name=ENDPOINT, auth_mode="key")
    ).result()
    for name, code, timeout in (("blue", SCORE, None), ("green", None, None), ("slow", slow, 1000)):
        client.online_deployments.begin_create_or_update(
            ManagedOnlineDeployment(
                name=name,
                endpoint_name=ENDPOINT,
                model="azureml:taxi-fare:1",
                code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py")
                if code
                else None,
                environment="azureml:taxi-score:1" if code else None,
                request_settings=OnlineRequestSettings(request_timeout_ms=timeout) if timeout else None,
            )
        ).result()
    entity = client.online_endpoints.get(ENDPOINT)
    entity.traffic = {"blue": 100}
    client.online_endpoints.begin_create_or_update(entity).result()
    body = json.dumps(
        {"input_data": {"columns": list(x.columns), "data": x.head(2).values.tolist()}}
    ).encode()
    yield client, body
    client.online_endpoints.begin_delete(ENDPOINT).result()
    assert not _ours(home)  # restarted gateways and servers included


def _ours(home: Path) -> list[psutil.Process]:
    """Live gateways (their command line names the store) and scoring servers (their model folder
    is in the store) of this store."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            if str(home) in " ".join(process.info["cmdline"] or []) or process.environ().get(
                "AZUREML_MODEL_DIR", ""
            ).startswith(str(home)):
                found.append(process)
        except psutil.Error:
            continue
    return found


def _port(client: LocalMLClient) -> int:
    return int(client.online_endpoints.get(ENDPOINT).scoring_uri.split(":")[2].split("/")[0])


def _gateway(client: LocalMLClient) -> psutil.Process:
    return psutil.Process(
        read_record(client.online_endpoints._records.folder(ENDPOINT) / "endpoint.yaml")["gateway"]["pid"]
    )


def _key(client: LocalMLClient) -> str:
    return client.online_endpoints.get_keys(ENDPOINT).primary_key


def _post(
    port: int, body: bytes, key: str | None, deployment: str | None = None, auth: str | None = None
) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if auth or key:
        headers["Authorization"] = auth or f"Bearer {key}"
    if deployment:
        headers["azureml-model-deployment"] = deployment
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/score", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _raw(port: int, data: bytes, *, timeout: float = 10.0) -> bytes:
    """Send ``data`` as is and read until the gateway closes the connection (or ``timeout``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return received
            received += chunk


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _message(answer: bytes) -> str:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])["message"]


# -- without servers ---------------------------------------------------------------------------------


def test_only_a_bearer_key_is_authorized() -> None:
    keys = ["k1", "k2"]
    assert authorized("Bearer k1", keys) and authorized("Bearer k2", keys) and authorized("bearer k1", keys)
    for header in ("k1", "Bearer", "Bearer ", "Basic k1", "Bearer k3", "Bearerk1", "", "Bearer k1x"):
        assert not authorized(header, keys), header
    assert not authorized("Bearer k1", [])


def test_a_record_is_read_again_only_when_its_file_changes(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "endpoint.yaml"
    write_record(path, {"keys": {"primary": "a"}})
    cache = RecordCache()
    assert cache.get(path)["keys"]["primary"] == "a"
    reads = []
    monkeypatch.setattr(
        "accelerator.local._local_endpoints._gateway.read_record", lambda p: reads.append(p) or {}
    )
    cache.get(path)
    assert reads == []  # unchanged: not parsed again
    monkeypatch.undo()
    write_record(path, {"keys": {"primary": "b"}})  # same size, new file: seen at once
    assert cache.get(path)["keys"]["primary"] == "b"


def _parse(data: bytes) -> tuple[object, bytes]:
    """read_request over ``data``; (the request or the HttpError, what was written back)."""
    from accelerator.local._local_endpoints._http import HttpError, read_request

    class Writer:
        written = b""

        def write(self, chunk: bytes) -> None:
            Writer.written += chunk

    async def parse() -> object:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        try:
            return await read_request(reader, Writer())  # type: ignore[arg-type]
        except HttpError as error:
            return error

    return asyncio.run(parse()), Writer.written


def test_requests_are_read_with_their_framing_checked() -> None:
    request, written = _parse(
        b"POST /score?x=1 HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n{}"
    )
    assert (request.method, request.path, request.body, written) == (
        "POST",
        "/score",
        b"{}",
        b"HTTP/1.1 100 Continue\r\n\r\n",
    )
    chunked, _ = _parse(b"POST /score HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
    assert chunked.body == b"{}" and chunked.keep_alive
    too_big, written = _parse(
        f"POST / HTTP/1.1\r\nContent-Length: {BODY_LIMIT + 1}\r\nExpect: 100-continue\r\n\r\n".encode()
    )
    assert too_big.status == 413 and written == b""  # refused before the client sends its body
    closed, _ = _parse(b"GET / HTTP/1.0\r\n\r\n")
    assert not closed.keep_alive
    assert _parse(b"")[0] is None  # a client that closed without a request
    for bad in (
        b"POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n",
        b"POST / HTTP/2\r\n\r\n",
        b"POST / HTTP/1.1\r\n",
    ):
        assert _parse(bad)[0].status == 400, bad


# -- through the gateway ----------------------------------------------------------------------------


def test_32_concurrent_clients_get_no_connection_resets(endpoint) -> None:
    client, body = endpoint
    port, key = _port(client), _key(client)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def one_client() -> None:
        for _ in range(8):  # a new connection per request: the accept queue is what is tested
            try:
                statuses.append(_post(port, body, key)[0])
            except OSError as error:
                errors.append(error)

    threads = [threading.Thread(target=one_client) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert statuses == [200] * 256


def test_the_gateway_keeps_its_connection_to_the_server(endpoint) -> None:
    client, body = endpoint
    port, key = _port(client), _key(client)
    server = read_record(client.online_endpoints._records.folder(ENDPOINT) / "deployments" / "blue.yaml")[
        "server"
    ]["port"]

    def to_server() -> set[int]:
        return {
            c.laddr.port
            for c in _gateway(client).net_connections(kind="tcp")
            if c.raddr and c.raddr.port == server and c.status == psutil.CONN_ESTABLISHED
        }

    assert _post(port, body, key)[0] == 200
    before = to_server()
    for _ in range(10):
        assert _post(port, body, key)[0] == 200
    assert before and to_server() == before  # the same connection, not ten new ones


def test_a_key_is_needed_with_bearer_and_a_rotated_key_is_refused_at_once(endpoint) -> None:
    client, body = endpoint
    port = _port(client)
    keys = client.online_endpoints.get_keys(ENDPOINT)
    assert _post(port, body, None)[0] == 401
    assert _post(port, body, None, auth=keys.primary_key)[0] == 401  # the key without "Bearer "
    assert _post(port, body, None, auth=f"Basic {keys.primary_key}")[0] == 401
    status, answer = _post(port, body, keys.secondary_key)
    assert status == 200 and "predictions" in json.loads(answer)
    # Kept-alive connection, as a service would use: each rotation applies to the very next request.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(10):
        old = _key(client)
        client.online_endpoints.begin_regenerate_keys(ENDPOINT, key_type="primary").result()
        new = _key(client)
        for key, expected in ((old, 401), (new, 200)):
            connection.request(
                "POST",
                "/score",
                body=body,
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            )
            answer = connection.getresponse()
            answer.read()
            assert answer.status == expected
    connection.close()


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
        (b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
        (b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n12345", 400),
        (b"POST /score HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"GARBAGE\r\n\r\n", 400),
        (b"POST /score HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"POST /score HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort", 400),
    ],
)
def test_broken_framing_is_answered_with_a_json_4xx_not_a_hang(endpoint, head: bytes, status: int) -> None:
    port = _port(endpoint[0])
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=40) as sock:
        sock.sendall(head)
        if head.endswith(b"short"):
            sock.shutdown(socket.SHUT_WR)  # the promised 100 bytes never come
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert _status(answer) == status
    assert _message(answer)
    assert time.monotonic() - began < 35


def test_a_body_over_azures_limit_gets_413_and_is_not_read(endpoint) -> None:
    client, _ = endpoint
    port, gateway = _port(client), _gateway(client)
    memory = gateway.memory_info().rss
    head = f"POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {_key(client)}\r\n"
    huge = _raw(port, (head + "Content-Length: 100000000\r\n\r\n").encode())
    assert _status(huge) == 413 and "Payload too large" in _message(huge)
    # A client that sends its 4 MB anyway still gets the answer, not a reset.
    sent = (head + f"Content-Length: {4 * 1024 * 1024}\r\n\r\n").encode() + b"x" * (4 * 1024 * 1024)
    assert _status(_raw(port, sent)) == 413
    chunked = (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + f"{BODY_LIMIT + 1:x}\r\n".encode()
    assert _status(_raw(port, chunked + b"x" * (BODY_LIMIT + 1) + b"\r\n0\r\n\r\n")) == 413
    assert gateway.memory_info().rss - memory < 20 * 1024 * 1024


def test_slow_connections_do_not_exhaust_the_gateway(endpoint) -> None:
    client, body = endpoint
    port, key, gateway = _port(client), _key(client), _gateway(client)
    slow = []
    for _ in range(300):  # slowloris: request heads that never finish
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\n")
        slow.append(sock)
    try:
        began = time.monotonic()
        assert _post(port, body, key)[0] == 200
        assert time.monotonic() - began < 5
        assert gateway.num_threads() <= 8  # no thread per connection
        answer = b""
        while chunk := slow[0].recv(65536):  # closed after its 10 s to send a head
            answer += chunk
        assert _status(answer) == 408
    finally:
        for sock in slow:
            sock.close()


def test_both_scorers_answer_400_to_values_that_are_not_finite_numbers(endpoint) -> None:
    client, body = endpoint
    port, key = _port(client), _key(client)
    request = json.loads(body)["input_data"]
    columns, row = request["columns"], request["data"][0]
    bad = {
        "NaN": "NaN",
        "Infinity": "Infinity",
        "1e400": "1e400",
        "-Infinity": "-Infinity",
    }
    for deployment in ("blue", "green"):
        for literal in bad.values():
            values = ", ".join([literal, *(json.dumps(v) for v in row[1:])])
            payload = f'{{"input_data": {{"columns": {json.dumps(columns)}, "data": [[{values}]]}}}}'
            status, answer = _post(port, payload.encode(), key, deployment)
            assert status == 400, (deployment, literal, answer)
        deep = b'{"input_data": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
        status, answer = _post(port, deep, key, deployment)
        assert status == 400 and b"nested too deeply" in answer, (deployment, answer)
        assert _post(port, body, key, deployment)[0] == 200  # and the server is still up


def test_a_model_slower_than_its_request_timeout_gets_408(endpoint) -> None:
    client, body = endpoint
    began = time.monotonic()
    status, answer = _post(_port(client), body, _key(client), "slow")
    assert status == 408
    assert "1000 ms" in json.loads(answer)["message"]
    assert time.monotonic() - began < 2.9  # answered at the timeout, not when the model finished


def test_an_internal_error_is_a_json_500_not_a_dropped_connection(endpoint) -> None:
    client, body = endpoint
    record = client.online_endpoints._records.folder(ENDPOINT) / "deployments" / "blue.yaml"
    saved = record.read_bytes()
    try:
        record.write_text("- a damaged record\n")
        status, answer = _post(_port(client), body, _key(client))
    finally:
        record.write_bytes(saved)
    assert status == 500
    assert "damaged" in json.loads(answer)["message"]
    assert _post(_port(client), body, _key(client))[0] == 200


def test_a_dead_gateway_is_restarted_on_its_port_by_get_and_get_keys(endpoint) -> None:
    client, body = endpoint
    uri = client.online_endpoints.get(ENDPOINT).scoring_uri
    for call in (
        lambda: client.online_endpoints.get(ENDPOINT),
        lambda: client.online_endpoints.get_keys(ENDPOINT),
    ):
        for _ in range(3):  # many connections in TIME_WAIT must not move the port
            _post(_port(client), body, _key(client))
        gateway = _gateway(client)
        os.kill(gateway.pid, signal.SIGKILL)
        gateway.wait(10)
        call()
        assert _gateway(client).pid != gateway.pid
        entity = client.online_endpoints.get(ENDPOINT)
        assert entity.scoring_uri == uri and entity.provisioning_state == "Succeeded"
        assert _post(_port(client), body, _key(client))[0] == 200


def test_callers_finding_the_gateway_dead_together_start_one(endpoint) -> None:
    client, body = endpoint
    uri = client.online_endpoints.get(ENDPOINT).scoring_uri
    gateway = _gateway(client)
    os.kill(gateway.pid, signal.SIGKILL)
    gateway.wait(10)
    uris: list[str] = []
    threads = [
        threading.Thread(target=lambda: uris.append(client.online_endpoints.get(ENDPOINT).scoring_uri))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert uris == [uri] * 4
    folder = str(client.online_endpoints._records.folder(ENDPOINT))
    gateways = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "_gateway" in " ".join(p.info["cmdline"] or []) and folder in " ".join(p.info["cmdline"] or [])
    ]
    assert [p.pid for p in gateways] == [_gateway(client).pid]
    assert _post(_port(client), body, _key(client))[0] == 200
