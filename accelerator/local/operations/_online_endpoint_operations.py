"""``ml_client.online_endpoints`` on the local backend: managed online endpoints on loopback.

An endpoint is a gateway process on 127.0.0.1 (``_local_endpoints/_gateway.py``) in front of its
deployments' scoring servers: it checks the endpoint key, splits traffic and mirrors requests.
Processes outlive the kernel that started them; the store records them and ``invoke`` or the
gateway restarts what has stopped. Deleting the endpoint stops every process it has.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil
from azure.ai.ml import operations as sdk_operations
from azure.ai.ml.entities import EndpointAuthKeys, ManagedOnlineEndpoint, OnlineEndpoint
from azure.ai.ml.exceptions import ErrorTarget, LocalEndpointNotFoundError, MultipleLocalDeploymentsFoundError
from azure.core.exceptions import HttpResponseError
from azure.core.polling import LROPoller
from filelock import FileLock

from accelerator.local._exceptions import (
    LocalBackendUnsupportedError,
    not_found,
    user_error,
    validation_error,
)
from accelerator.local._local_endpoints import _deployments
from accelerator.local._local_endpoints._records import ONLINE_REQUIRED as _REQUIRED
from accelerator.local._local_endpoints._records import OnlineEndpointRecords
from accelerator.local._local_endpoints._server import free_port
from accelerator.local._paging import paged
from accelerator.local._poller import completed
from accelerator.local._scope import LocalScope
from accelerator.local._store import read_all, read_record, remove_tree
from accelerator.local.operations._base import LocalOperations

_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$")


class OnlineEndpointOperations(LocalOperations):
    _sdk_class = sdk_operations.OnlineEndpointOperations
    _group = "online_endpoints"

    def __init__(self, scope: LocalScope, records: OnlineEndpointRecords) -> None:
        super().__init__(scope)
        self._records = records  # shared with ml_client.online_deployments

    # -- create, update, read --------------------------------------------------------------------

    def begin_create_or_update(
        self, endpoint: OnlineEndpoint, *, local: bool = False
    ) -> LROPoller[OnlineEndpoint]:
        if not isinstance(endpoint, ManagedOnlineEndpoint):
            raise LocalBackendUnsupportedError(f"{type(endpoint).__name__}s", "Use a ManagedOnlineEndpoint.")
        if not endpoint.name or not _NAME.match(endpoint.name):
            raise user_error(
                f"Invalid endpoint name '{endpoint.name}': 3 to 32 letters, digits and '-', "
                "starting with a letter and not ending with '-'.",
                ErrorTarget.ONLINE_ENDPOINT,
            )
        auth_mode = (endpoint.auth_mode or "key").lower()
        if auth_mode != "key":
            raise LocalBackendUnsupportedError(f"auth_mode '{endpoint.auth_mode}'", "Use auth_mode='key'.")
        # As a PUT on Azure: the entity's traffic replaces the endpoint's, an empty one included.
        traffic = _shares(endpoint.traffic, "traffic")
        mirror = _shares(endpoint.mirror_traffic, "mirror_traffic")
        endpoint._to_rest_online_endpoint(self._location())  # the SDK's own checks and serialisation
        path = self._records.path(endpoint.name)
        if not path.is_file():  # checked before the lock makes its folder: a refusal leaves nothing
            _check_traffic(traffic, mirror, [])
        with self._records.lock(endpoint.name):
            record = (
                read_record(path, _REQUIRED)
                if path.is_file()
                else {
                    "name": endpoint.name,
                    "keys": {"primary": secrets.token_urlsafe(32), "secondary": secrets.token_urlsafe(32)},
                    "deployments": [],
                    "gateway": None,
                }
            )
            _check_traffic(traffic, mirror, record["deployments"])
            record.update(
                traffic=traffic,
                mirror_traffic=mirror,
                description=endpoint.description,
                tags=dict(endpoint.tags or {}),
                auth_mode="key",
            )
            self._records.write(record)
        return completed(self.get(endpoint.name))  # get starts the gateway

    def get(self, name: str, *, local: bool = False) -> ManagedOnlineEndpoint:
        # A gateway found dead is started again (on its port) before its URI is given out as live.
        port = self._ensure_gateway(name)
        record = self._records.get(name)
        endpoint = ManagedOnlineEndpoint(
            name=name,
            auth_mode="key",
            description=record.get("description"),
            tags=record.get("tags") or {},
            traffic=dict(record.get("traffic") or {}),
            mirror_traffic=dict(record.get("mirror_traffic") or {}),
        )
        endpoint._scoring_uri = f"http://127.0.0.1:{port}/score"
        endpoint._provisioning_state = "Succeeded"
        endpoint._id = self._scope.arm_id(
            "workspaces", self._scope.workspace_name or "", "onlineEndpoints", name
        )
        return endpoint

    def list(self, *, local: bool = False) -> Any:
        root = self._records.root()
        paths = sorted(root.glob("*/endpoint.yaml")) if root.is_dir() else []
        found = read_all([p for p in paths if not p.parent.name.startswith(".")], _REQUIRED)
        return paged(self.get(record["name"]) for _, record in found)

    def get_keys(self, name: str) -> EndpointAuthKeys:
        self._ensure_gateway(name)  # keys are for a scoring URI that answers
        keys = self._records.get(name)["keys"]
        return EndpointAuthKeys(primary_key=keys["primary"], secondary_key=keys["secondary"])

    def begin_regenerate_keys(self, name: str, *, key_type: str = "primary") -> LROPoller[None]:
        if key_type not in ("primary", "secondary"):
            raise validation_error(
                f"key_type must be 'primary' or 'secondary', not '{key_type}'.", ErrorTarget.ONLINE_ENDPOINT
            )
        self._records.update(
            name, lambda record: record["keys"].__setitem__(key_type, secrets.token_urlsafe(32))
        )
        return completed(None)

    def begin_delete(self, name: str | None = None, *, local: bool = False) -> LROPoller[None]:
        """Stop the endpoint's gateway and every deployment's server, then remove it."""
        if not name:
            raise validation_error("Give the name of the endpoint to delete.", ErrorTarget.ONLINE_ENDPOINT)
        folder = self._records.folder(name)
        with self._records.lock(name):
            record = self._records.get(name)
            for deployment in record.get("deployments") or []:
                _deployments.stop(folder, deployment)
            _stop_gateway(record)
            remove_tree(folder)
        return completed(None)

    # -- scoring ---------------------------------------------------------------------------------

    def invoke(
        self,
        endpoint_name: str,
        *,
        request_file: str | None = None,
        deployment_name: str | None = None,
        input_data: Any = None,
        params_override: Any = None,
        local: bool = False,
        **kwargs: Any,
    ) -> str:
        """POST the request file to the scoring URI with the endpoint key, as the SDK does."""
        if input_data is not None:
            raise LocalBackendUnsupportedError("invoke with input_data", "Give a request_file.")
        if not request_file:
            raise validation_error(
                "Give request_file: a JSON file with the request.", ErrorTarget.ONLINE_ENDPOINT
            )
        body = Path(request_file).read_bytes()
        record = self._records.get(endpoint_name)
        if deployment_name and deployment_name not in (record.get("deployments") or []):
            raise not_found("Deployment", deployment_name, f"endpoint '{endpoint_name}'")
        if local:
            return self._invoke_deployment(record, deployment_name, body)
        port = self._ensure_gateway(endpoint_name)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {record['keys']['primary']}"}
        if deployment_name:
            headers["azureml-model-deployment"] = deployment_name
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/score", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                return answer.read().decode()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise HttpResponseError(message=f"({error.code}) {detail}") from None

    def _invoke_deployment(self, record: dict[str, Any], deployment_name: str | None, body: bytes) -> str:
        """``invoke(..., local=True)``: as the SDK's local endpoint helper, straight to the deployment's
        own server (no key, no traffic rules), named or the endpoint's only one
        (``_local_endpoint_helper.invoke`` and ``DockerClient.get_scoring_uri``)."""
        deployments = record.get("deployments") or []
        if deployment_name is None:
            if len(deployments) > 1:
                raise MultipleLocalDeploymentsFoundError(endpoint_name=record["name"])
            if not deployments:
                raise LocalEndpointNotFoundError(endpoint_name=record["name"])
            deployment_name = deployments[0]
        server = _deployments.ensure_running(self._records.folder(record["name"]), deployment_name)
        status, answer = server.score(body, {"azureml-model-deployment": deployment_name})
        if status >= 400:
            raise HttpResponseError(message=f"({status}) {answer.decode(errors='replace')}")
        return answer.decode()

    # -- the gateway process ---------------------------------------------------------------------

    def _ensure_gateway(self, name: str) -> int:
        """The gateway's port, starting it (on its previous port when free) if it is not running.
        One caller at a time starts it (two notebooks finding it dead must not start two)."""
        gateway = self._records.get(name).get("gateway") or {}
        if _alive(gateway) and _healthy(gateway["port"]):
            return int(gateway["port"])
        folder = self._records.folder(name)
        (folder / "logs").mkdir(parents=True, exist_ok=True)
        with FileLock(folder / "gateway.lock", timeout=120):
            return self._start_gateway(name, folder)

    def _start_gateway(self, name: str, folder: Path) -> int:
        record = self._records.get(name)
        gateway = record.get("gateway") or {}
        if _alive(gateway):
            # A busy machine can delay an answer: give a live gateway time before replacing it,
            # and stop it first, so that it is never left running beside its replacement.
            if _healthy(gateway["port"]) or _healthy(gateway["port"], timeout=10):
                return int(gateway["port"])
            with open(folder / "logs" / "gateway.out", "a", encoding="utf-8") as output:
                output.write(f"gateway {gateway['pid']} did not answer its health check: replaced\n")
            _stop_gateway(record)
        # The previous port first, so that the scoring URI stays the same; another one only if
        # something else has taken it meanwhile.
        ports = [int(gateway["port"])] if gateway and _port_free(gateway["port"]) else []
        for port in [*ports, free_port()]:
            process = _spawn_gateway(folder, port)
            deadline = time.monotonic() + 30
            while not _healthy(port) and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            if _healthy(port):
                break
            if process.poll() is None:  # neither up nor gone within 30 s
                process.kill()
                break
        else:
            port = 0
        if not port or not _healthy(port):
            raise HttpResponseError(message=f"The gateway of endpoint {name} did not start; see its logs.")
        started = psutil.Process(process.pid).create_time()
        # Under the record's lock: a key rotation meanwhile is kept, not overwritten.
        self._records.update(
            name, lambda record: record.update(gateway={"pid": process.pid, "port": port, "started": started})
        )
        return port

    def _location(self) -> str:
        workspace = read_record(self._scope.require_workspace() / "workspace.yaml")
        return str(workspace.get("entity", {}).get("location") or "westeurope")


def _shares(given: Any, field: str) -> dict[str, int]:
    """Traffic percentages as the REST body carries them (integers); anything else is refused with
    the service's kind of error instead of a raw ``ValueError``."""
    shares: dict[str, int] = {}
    for name, value in (given or {}).items():
        text = str(value).strip()
        if isinstance(value, bool) or not (isinstance(value, int) or text.lstrip("-").isdigit()):
            raise user_error(
                f"{field} for deployment '{name}' must be a whole percentage 0-100, not {value!r}.",
                ErrorTarget.ONLINE_ENDPOINT,
            )
        shares[str(name)] = int(text)
    return shares


def _check_traffic(traffic: dict[str, int], mirror: dict[str, int], deployments: list[str]) -> None:
    """Azure ML's rules: known deployments, 0-100 each, live traffic adding up to 100 (or 0), and
    mirrored traffic to at most one deployment, at most 50%, never one with live traffic."""
    for name, share in {**traffic, **mirror}.items():
        if name not in deployments:
            raise user_error(
                f"Traffic names deployment '{name}', which the endpoint does not have.",
                ErrorTarget.ONLINE_ENDPOINT,
            )
        if not 0 <= share <= 100:
            raise user_error(f"Traffic for '{name}' must be 0-100, not {share}.")
    total = sum(traffic.values())
    if total not in (0, 100):
        raise user_error(f"The traffic must add up to 100; it adds up to {total}.")
    live_mirrors = {n: s for n, s in mirror.items() if s}
    if len(live_mirrors) > 1 or any(s > 50 for s in live_mirrors.values()):
        raise user_error("Mirror traffic goes to one deployment, at most 50%.")
    for name in live_mirrors:
        if traffic.get(name):
            raise user_error(f"Deployment '{name}' has live traffic; it cannot also be mirrored.")


def _alive(process: dict[str, Any]) -> bool:
    if not process:
        return False
    try:
        found = psutil.Process(process["pid"])
        return abs(found.create_time() - process.get("started", found.create_time())) < 0.01 and (
            found.status() != psutil.STATUS_ZOMBIE
        )
    except psutil.NoSuchProcess:
        return False


def _healthy(port: int, timeout: float = 2) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=timeout) as answer:
            return answer.status == 200 and json.loads(answer.read()).get("status") == "Healthy"
    except (OSError, ValueError):
        return False


def _port_free(port: int) -> bool:
    """Whether the gateway can listen on ``port`` again. The gateway binds with SO_REUSEADDR, so
    the check does too: without it, connections of the previous gateway still in TIME_WAIT made
    the port look taken and the scoring URI changed after every restart."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", int(port)))
        except OSError:
            return False
    return True


def _spawn_gateway(folder: Path, port: int) -> subprocess.Popen[bytes]:
    with open(folder / "logs" / "gateway.out", "ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "accelerator.local._local_endpoints._gateway", str(folder), str(port)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop_gateway(record: dict[str, Any]) -> None:
    gateway = record.get("gateway") or {}
    if not _alive(gateway):
        return
    process = psutil.Process(gateway["pid"])
    if abs(process.create_time() - gateway.get("started", 0)) > 0.01:
        return  # the pid was recycled: that process is not our gateway
    process.terminate()
    try:
        process.wait(timeout=10)
    except psutil.TimeoutExpired:
        process.kill()
