"""An online endpoint's front door on this machine: key authentication, traffic split, mirroring.

``python -m accelerator.local._local_endpoints._gateway <endpoint folder> <port>`` serves
``POST /score`` on 127.0.0.1, as an Azure ML endpoint's scoring URI does:

- a request without ``Authorization: Bearer <primary or secondary key>`` gets 401;
- the ``azureml-model-deployment`` header picks a deployment; otherwise one is drawn in proportion
  to the endpoint's traffic;
- a deployment with mirror traffic also gets that share of requests as copies, whose answers are
  discarded (logged, for comparison);
- a deployment whose server has stopped is started again before it answers;
- an answered request's data is collected as the deployment's ``data_collector`` says (``_collect``).

The endpoint record is read on every request, so traffic and key changes apply at once.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from accelerator.local._local_endpoints._collect import collect
from accelerator.local._local_endpoints._deployments import ensure_running, record_path, server_of
from accelerator.local._store import read_record

_lock = threading.Lock()


def choose(traffic: dict[str, int], draw: float) -> str | None:
    """The deployment that gets a request, for a uniform ``draw`` in [0, 1); None if none has traffic."""
    total = sum(traffic.values())
    if total <= 0:
        return None
    point = draw * total
    for name, share in sorted(traffic.items()):
        if point < share:
            return name
        point -= share
    return max(traffic, key=lambda n: traffic[n])


def forward(endpoint_dir: Path, deployment: str, body: bytes, content_type: str) -> tuple[int, bytes]:
    """The deployment's answer. Its server is checked (and restarted) only when it cannot be reached,
    so a request to a running server costs one local round trip."""
    server = server_of(read_record(record_path(endpoint_dir, deployment)))
    for attempt in range(2):
        if server is None or attempt:
            server = ensure_running(endpoint_dir, deployment)
        request = urllib.request.Request(
            server.url + "/score", data=body, headers={"Content-Type": content_type}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except (urllib.error.URLError, ConnectionError):
            if attempt:
                raise
    raise AssertionError("unreachable")


class Gateway(BaseHTTPRequestHandler):
    endpoint_dir: Path
    server_version = "azureml-local-endpoint"

    def _answer(self, status: int, payload: Any, deployment: str | None = None) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if deployment:
            self.send_header("azureml-model-deployment", deployment)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # liveness of the endpoint itself
        self._answer(200, {"status": "Healthy"})

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != "/score":
            self._answer(404, {"message": f"No route {self.path}: the scoring route is /score."})
            return
        endpoint = read_record(self.endpoint_dir / "endpoint.yaml")
        keys = endpoint.get("keys") or {}
        given = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not given or given not in keys.values():
            self._answer(
                401, {"message": "Unauthorized: the request needs 'Authorization: Bearer <endpoint key>'."}
            )
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        content_type = self.headers.get("Content-Type") or "application/json"
        deployments = set(endpoint.get("deployments") or [])
        requested = self.headers.get("azureml-model-deployment")
        if requested:
            if requested not in deployments:
                self._answer(404, {"message": f"The endpoint has no deployment '{requested}'."})
                return
            chosen: str | None = requested
        else:
            chosen = choose(endpoint.get("traffic") or {}, random.random())
            if chosen is None:
                self._answer(
                    424, {"message": "No deployment has live traffic: set the endpoint's traffic first."}
                )
                return
        for mirror, share in (endpoint.get("mirror_traffic") or {}).items():
            if not requested and mirror != chosen and random.random() * 100 < share:
                threading.Thread(target=self._mirror, args=(mirror, body, content_type), daemon=True).start()
        status, answer = forward(self.endpoint_dir, chosen, body, content_type)
        self._answer(status, answer, chosen)
        self._collect(chosen, body, status, answer)

    def _collect(self, deployment: str, body: bytes, status: int, answer: bytes) -> None:
        """The deployment's data collection, after the caller has its answer."""
        if 200 <= status < 300:
            record = read_record(record_path(self.endpoint_dir, deployment))
            workspace = self.endpoint_dir.parents[1]
            collect(workspace, self.endpoint_dir.name, deployment, record, body, answer)

    def _mirror(self, deployment: str, body: bytes, content_type: str) -> None:
        status, answer = forward(self.endpoint_dir, deployment, body, content_type)
        self._collect(deployment, body, status, answer)
        line = json.dumps(
            {
                "deployment": deployment,
                "status": status,
                "request": body.decode(errors="replace"),
                "response": answer.decode(errors="replace"),
            }
        )
        with _lock, open(self.endpoint_dir / "logs" / "mirror.jsonl", "a", encoding="utf-8") as log:
            log.write(line + "\n")

    def log_message(self, format: str, *args: Any) -> None:
        with _lock, open(self.endpoint_dir / "logs" / "gateway.log", "a", encoding="utf-8") as log:
            log.write(f"{self.address_string()} - {format % args}\n")


def main(argv: list[str]) -> int:
    endpoint_dir, port = Path(argv[0]), int(argv[1])
    (endpoint_dir / "logs").mkdir(parents=True, exist_ok=True)
    handler = type("EndpointGateway", (Gateway,), {"endpoint_dir": endpoint_dir})
    with ThreadingHTTPServer(("127.0.0.1", port), handler) as httpd:
        httpd.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
