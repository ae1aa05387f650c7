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
from accelerator.local._store import read_record, write_record


def record_path(endpoint_dir: Path, name: str) -> Path:
    return endpoint_dir / "deployments" / f"{name}.yaml"


def server_of(record: dict[str, Any]) -> InferenceServer | None:
    running = record.get("server")
    if not running:
        return None
    return InferenceServer(running["pid"], running["port"], Path(running["log"]))


def ensure_running(endpoint_dir: Path, name: str) -> InferenceServer:
    """The deployment's healthy server, started (again) if it is not running."""
    path = record_path(endpoint_dir, name)
    with FileLock(path.with_suffix(".lock"), timeout=180):
        record = read_record(path)
        server = server_of(record)
        if server is not None and server.alive() and server.healthy():
            return server
        if server is not None:
            server.stop()
        server = InferenceServer.start(
            Path(record["code"]),
            record["scoring_script"],
            Path(record["model_dir"]),
            endpoint_dir / "logs" / f"{name}.log",
            environment=record.get("environment_variables") or {},
        )
        record["server"] = {"pid": server.pid, "port": server.port, "log": str(server.log)}
        write_record(path, record)
        return server


def stop(endpoint_dir: Path, name: str) -> None:
    path = record_path(endpoint_dir, name)
    if not path.is_file():
        return
    with FileLock(path.with_suffix(".lock"), timeout=180):
        record = read_record(path)
        server = server_of(record)
        if server is not None:
            server.stop()
        record["server"] = None
        write_record(path, record)
