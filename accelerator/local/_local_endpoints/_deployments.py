"""Keep a local deployment's scoring server running: started on creation, restarted on demand.

A deployment's record (``<endpoint>/deployments/<name>.yaml``) holds what its server needs (the
code snapshot, the scoring script, the model folder, environment variables) and the running
server's pid and port. Whoever finds the server gone (the endpoint's gateway, the client) starts it
again; a lock per deployment makes sure only one does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from filelock import FileLock

from accelerator.local._local_endpoints._server import InferenceServer
from accelerator.local._store import join, read_record, record_lock, segment, write_record

REQUIRED = ("name", "code", "scoring_script", "model_dir")


def record_path(endpoint_dir: Path, name: str) -> Path:
    return join(endpoint_dir, "deployments") / f"{segment(name, 'deployment name')}.yaml"


def lock(endpoint_dir: Path, name: str) -> FileLock:
    """Held around every read-modify-write of the deployment's record (its definition, its server)."""
    return record_lock(record_path(endpoint_dir, name).with_suffix(".lock"), timeout=180)


def start(endpoint_dir: Path, name: str, record: dict[str, Any]) -> InferenceServer:
    """A new server for the definition in ``record`` (not yet written); raises if it cannot serve."""
    return InferenceServer.start(
        Path(record["code"]),
        record["scoring_script"],
        Path(record["model_dir"]),
        endpoint_dir / "logs" / f"{name}.log",
        environment=record.get("environment_variables") or {},
    )


def server_of(record: dict[str, Any]) -> InferenceServer | None:
    running = record.get("server")
    if not running:
        return None
    return InferenceServer(running["pid"], running["port"], Path(running["log"]), running.get("started"))


def ensure_running(endpoint_dir: Path, name: str) -> InferenceServer:
    """The deployment's healthy server, started (again) if it is not running."""
    path = record_path(endpoint_dir, name)
    # The common case without the lock: an update holds it while its new server starts, and the
    # old server keeps answering meanwhile.
    server = server_of(read_record(path, REQUIRED))
    if server is not None and server.alive() and server.healthy():
        return server
    with lock(endpoint_dir, name):
        record = read_record(path, REQUIRED)
        server = server_of(record)
        if server is not None and server.alive() and server.healthy():
            return server
        if server is not None:
            server.stop()
        server = start(endpoint_dir, name, record)
        record["server"] = running(server)
        write_record(path, record)
        return server


def running(server: InferenceServer) -> dict[str, Any]:
    """How a record keeps its running server: pid, start time, port and log."""
    return {"pid": server.pid, "started": server.started, "port": server.port, "log": str(server.log)}


def stop(endpoint_dir: Path, name: str) -> None:
    path = record_path(endpoint_dir, name)
    if not path.is_file():
        return
    with lock(endpoint_dir, name):
        record = read_record(path, REQUIRED)
        server = server_of(record)
        if server is not None:
            server.stop()
        record["server"] = None
        write_record(path, record)
