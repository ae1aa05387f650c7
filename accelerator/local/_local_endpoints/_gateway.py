"""An online endpoint's front door on this machine: key authentication, traffic split, mirroring.

``python -m accelerator.local._local_endpoints._gateway <endpoint folder> <port>`` serves
``POST /score`` on 127.0.0.1, as an Azure ML endpoint's scoring URI does:

- a request without ``Authorization: Bearer <primary or secondary key>`` gets 401 (keys compared
  in constant time);
- the ``azureml-model-deployment`` header picks a deployment; otherwise one is drawn in proportion
  to the endpoint's traffic;
- a deployment with mirror traffic also gets that share of requests as copies, whose answers are
  discarded (logged, for comparison);
- a deployment whose server has stopped is started again before it answers;
- an answered request's data is collected as the deployment's ``data_collector`` says (``_collect``).

It is one asyncio process, so a slow or idle connection costs a little memory, never a thread:
a connection must send its request head within 10 s and its body within 30 s (``_http``), bodies
over Azure's 1.5 MB get 413, a model slower than the deployment's ``request_timeout_ms`` (Azure's
default 5000 ms) gets 408, and at most ``MAX_CONNECTIONS`` are open at once. Every failure is
answered with a status and a JSON ``message``; none drops the connection unanswered.

Records are re-read only when their file changes (``RecordCache``): a key rotation replaces the
endpoint's record file, so the next request already sees the new keys. Connections to the scoring
servers are kept open (``_upstream``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import random
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from accelerator.local._local_endpoints._collect import collect
from accelerator.local._local_endpoints._deployments import ensure_running, record_path, server_of
from accelerator.local._local_endpoints._http import (
    HEAD_LIMIT,
    HEAD_TIMEOUT,
    HttpError,
    Request,
    encode_response,
    json_body,
    read_request,
)
from accelerator.local._local_endpoints._server import InferenceServerError
from accelerator.local._local_endpoints._upstream import Upstreams
from accelerator.local._store import read_record

#: Open client connections at once; beyond, a new one is answered 503 and closed.
MAX_CONNECTIONS = 1000
#: The listening socket's accept queue (the old server's 5 reset connections at 32 clients).
BACKLOG = 1024
#: Requests being scored at once, and waiting for their turn, before a 429 as Azure answers
#: "Too many pending requests".
MAX_IN_FLIGHT = 64
MAX_WAITING = 1024
#: How long a kept-alive connection may stay idle between requests.
KEEPALIVE = 30.0
#: Azure ML's default ``request_settings.request_timeout_ms``.
DEFAULT_REQUEST_TIMEOUT_MS = 5000


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


def authorized(header: str, keys: list[str]) -> bool:
    """Whether ``Authorization`` is ``Bearer <one of keys>``. Every key is compared, each in
    constant time, so the answer's timing says nothing about how much of a key was right."""
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return False
    given = token.encode()
    matches = [hmac.compare_digest(given, str(key).encode()) for key in keys if key]
    return any(matches)


class RecordCache:
    """Store records, parsed again only when their file is replaced or changed (the store writes
    by rename, so each write is a new inode)."""

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[tuple[int, int, int], dict[str, Any]]] = {}

    def get(self, path: Path) -> dict[str, Any]:
        stat = os.stat(path)
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        record = read_record(path)
        self._cache[path] = (key, record)
        return record


class Gateway:
    def __init__(self, endpoint_dir: Path) -> None:
        self.endpoint_dir = endpoint_dir
        self.records = RecordCache()
        self.upstreams = Upstreams()
        # Server starts, data collection and log lines run here, off the event loop.
        self.blocking = ThreadPoolExecutor(max_workers=4, thread_name_prefix="gateway")
        self.in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self.waiting = 0
        self.connections = 0
        self.background: set[asyncio.Task[None]] = set()
        logs = endpoint_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.log = open(logs / "gateway.log", "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    # -- connections -----------------------------------------------------------------------------

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = (writer.get_extra_info("peername") or ("?",))[0]
        if self.connections >= MAX_CONNECTIONS:
            await self._refuse(reader, writer, HttpError(503, "The endpoint has too many open connections."))
            return
        self.connections += 1
        try:
            served = 0
            while True:
                try:
                    request = await read_request(
                        reader, writer, idle_timeout=KEEPALIVE if served else HEAD_TIMEOUT
                    )
                except HttpError as error:
                    if served and error.status == 408:
                        break  # an idle kept-alive connection: close it quietly
                    self._access(peer, None, error.status)
                    await self._refuse(reader, writer, error)
                    break
                if request is None:
                    break
                served += 1
                status, body, headers = await self.answer(request)
                close = not request.keep_alive
                writer.write(encode_response(status, body, headers, close=close))
                await writer.drain()
                self._access(peer, request, status)
                if close:
                    break
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass  # the client went away; there is no one left to answer
        except Exception:  # a fault of the gateway itself: logged, the connection closed
            self._write_log(f"connection failed: {traceback.format_exc()}")
        finally:
            self.connections -= 1
            writer.close()

    async def _refuse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, error: HttpError
    ) -> None:
        """Answer ``error`` and close. What the client is still sending is read and dropped for a
        moment first: closing a socket with unread data resets it, and the client would see a
        reset instead of the answer."""
        with contextlib.suppress(ConnectionError, OSError):
            writer.write(encode_response(error.status, json_body({"message": error.message}), close=True))
            await writer.drain()
            writer.write_eof()
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                try:
                    chunk = await asyncio.wait_for(reader.read(HEAD_LIMIT), deadline - time.monotonic())
                except (asyncio.TimeoutError, asyncio.LimitOverrunError):
                    break
                if not chunk:
                    break
        writer.close()

    # -- requests --------------------------------------------------------------------------------

    async def answer(self, request: Request) -> tuple[int, bytes, dict[str, str]]:
        """Status, body and headers for one request; an internal error is a 500 with its reason."""
        try:
            return await self._answer(request)
        except HttpError as error:
            return error.status, json_body({"message": error.message}), {"Content-Type": "application/json"}
        except Exception as error:
            self._write_log(f"internal error: {traceback.format_exc()}")
            message = f"The endpoint failed to handle the request: {type(error).__name__}: {error}"
            return 500, json_body({"message": message}), {"Content-Type": "application/json"}

    async def _answer(self, request: Request) -> tuple[int, bytes, dict[str, str]]:
        if request.method == "GET":  # liveness of the endpoint itself
            return 200, json_body({"status": "Healthy"}), {"Content-Type": "application/json"}
        if request.method != "POST":
            raise HttpError(405, f"Method {request.method} is not allowed: POST to /score.", close=False)
        if request.path != "/score":
            raise HttpError(404, f"No route {request.path}: the scoring route is /score.", close=False)
        try:
            endpoint = self.records.get(self.endpoint_dir / "endpoint.yaml")
        except FileNotFoundError:
            raise HttpError(404, "The endpoint no longer exists.", close=False) from None
        if not authorized(
            request.headers.get("authorization", ""), list((endpoint.get("keys") or {}).values())
        ):
            raise HttpError(
                401, "Unauthorized: the request needs 'Authorization: Bearer <endpoint key>'.", close=False
            )
        if self.waiting >= MAX_WAITING:
            raise HttpError(429, "Too many pending requests: the endpoint is at capacity.", close=False)
        self.waiting += 1
        try:
            await self.in_flight.acquire()
        finally:
            self.waiting -= 1
        try:
            return await self._score(request, endpoint)
        finally:
            self.in_flight.release()

    async def _score(self, request: Request, endpoint: dict[str, Any]) -> tuple[int, bytes, dict[str, str]]:
        content_type = request.headers.get("content-type") or "application/json"
        deployments = set(endpoint.get("deployments") or [])
        requested = request.headers.get("azureml-model-deployment")
        if requested:
            if requested not in deployments:
                raise HttpError(404, f"The endpoint has no deployment '{requested}'.", close=False)
            chosen = requested
        else:
            drawn = choose(endpoint.get("traffic") or {}, random.random())
            if drawn is None:
                raise HttpError(
                    424, "No deployment has live traffic: set the endpoint's traffic first.", close=False
                )
            chosen = drawn
            for mirror, share in (endpoint.get("mirror_traffic") or {}).items():
                if mirror != chosen and random.random() * 100 < share:
                    self._background(self._mirror(mirror, request.body, content_type))
        status, answer, answer_type = await self.forward(chosen, request.body, content_type)
        if 200 <= status < 300 and self._collects(chosen):
            self._background(self._collect(chosen, request.body, status, answer))
        return status, answer, {"Content-Type": answer_type, "azureml-model-deployment": chosen}

    async def forward(self, deployment: str, body: bytes, content_type: str) -> tuple[int, bytes, str]:
        """The deployment's answer through a kept connection. Its server is checked (and started
        again) only when it cannot be reached, so a request to a running server is one round trip."""
        try:
            record = self.records.get(record_path(self.endpoint_dir, deployment))
        except FileNotFoundError:
            raise HttpError(404, f"The endpoint has no deployment '{deployment}'.", close=False) from None
        timeout_ms = int(record.get("request_timeout_ms") or DEFAULT_REQUEST_TIMEOUT_MS)
        server = server_of(record)
        loop = asyncio.get_running_loop()
        for attempt in range(2):
            if server is None or attempt:
                try:
                    server = await loop.run_in_executor(
                        self.blocking, ensure_running, self.endpoint_dir, deployment
                    )
                except InferenceServerError as error:
                    raise HttpError(
                        502, f"Deployment '{deployment}' could not start: {error}", close=False
                    ) from None
            pool = self.upstreams.pool(server.port)
            try:
                answer = await pool.post("/score", body, {"Content-Type": content_type}, timeout_ms / 1000)
            except asyncio.TimeoutError:
                raise HttpError(
                    408,
                    f"Request timeout: deployment '{deployment}' did not answer within {timeout_ms} ms "
                    "(its request_settings.request_timeout_ms).",
                    close=False,
                ) from None
            except (ConnectionError, OSError, asyncio.IncompleteReadError):
                self.upstreams.forget(server.port)
                if attempt:
                    raise HttpError(502, f"Deployment '{deployment}' did not answer.", close=False) from None
                continue
            return answer.status, answer.body, answer.headers.get("content-type", "application/json")
        raise AssertionError("unreachable")

    # -- after the answer ------------------------------------------------------------------------

    def _background(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def _collects(self, deployment: str) -> bool:
        """Whether the deployment collects anything (most do not: no thread hop for them)."""
        try:
            return bool(self.records.get(record_path(self.endpoint_dir, deployment)).get("data_collector"))
        except (OSError, ValueError):
            return False

    async def _collect(self, deployment: str, body: bytes, status: int, answer: bytes) -> None:
        """The deployment's data collection, after the caller has its answer."""
        try:
            record = self.records.get(record_path(self.endpoint_dir, deployment))
            workspace = self.endpoint_dir.parents[1]
            await asyncio.get_running_loop().run_in_executor(
                self.blocking, collect, workspace, self.endpoint_dir.name, deployment, record, body, answer
            )
        except Exception:
            self._write_log(f"data collection failed: {traceback.format_exc()}")

    async def _mirror(self, deployment: str, body: bytes, content_type: str) -> None:
        try:
            status, answer, _ = await self.forward(deployment, body, content_type)
        except HttpError as error:
            status, answer = error.status, json_body({"message": error.message})
        except Exception:
            self._write_log(f"mirroring failed: {traceback.format_exc()}")
            return
        if 200 <= status < 300 and self._collects(deployment):
            await self._collect(deployment, body, status, answer)
        line = json.dumps(
            {
                "deployment": deployment,
                "status": status,
                "request": body.decode(errors="replace"),
                "response": answer.decode(errors="replace"),
            }
        )
        with open(self.endpoint_dir / "logs" / "mirror.jsonl", "a", encoding="utf-8") as log:
            log.write(line + "\n")

    def _access(self, peer: str, request: Request | None, status: int) -> None:
        line = f'"{request.method} {request.target} {request.version}"' if request else '"-"'
        self._write_log(f"{peer} - {line} {status} -")

    def _write_log(self, line: str) -> None:
        with contextlib.suppress(OSError):
            self.log.write(line.rstrip("\n") + "\n")


async def serve(endpoint_dir: Path, port: int) -> None:
    gateway = Gateway(endpoint_dir)
    server = await asyncio.start_server(
        gateway.connection, "127.0.0.1", port, backlog=BACKLOG, limit=HEAD_LIMIT, reuse_address=True
    )
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> int:
    endpoint_dir, port = Path(argv[0]), int(argv[1])
    asyncio.run(serve(endpoint_dir, port))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
