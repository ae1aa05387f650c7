"""The runner's MLflow work: job runs opened and closed, artifacts logged, metrics read.

MLflow takes seconds to import. With warm job processes, the runner does not import it at all: its
tracking calls run in a child of the job's warm server, which has imported MLflow already (once per
runner, not per step). Without them, an MLflow client in the runner's own process does the same.
Both offer the same methods: ``MlflowClient``'s, and the job-run helpers of ``accelerator.local._mlflow``.
"""

from __future__ import annotations

import pickle
import socket
import struct
from pathlib import Path
from typing import Any

from accelerator.local import _mlflow

_FRAME = struct.Struct("!Q")
# The helpers of accelerator.local._mlflow that take the client as their first argument.
FUNCTIONS = ("experiment_id", "create_run", "end_run")


class InProcessTracking:
    """An MLflow client in this process, created on first use."""

    def __init__(self, workspace_dir: Path) -> None:
        self.workspace_dir = workspace_dir
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _mlflow.client(self.workspace_dir)
        return self._client

    def experiment_id(self, name: str) -> str:
        return _mlflow.experiment_id(self.client, self.workspace_dir, name)

    def create_run(self, experiment: str, run_id: str, run_name: str, tags: dict[str, str]) -> str:
        return _mlflow.create_run(self.client, experiment, run_id, run_name, tags)

    def end_run(self, run_id: str, status: str) -> None:
        _mlflow.end_run(self.client, run_id, status)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.client, name)

    def close(self) -> None:
        pass


def send_frame(connection: socket.socket, value: Any) -> None:
    body = pickle.dumps(value)
    connection.sendall(_FRAME.pack(len(body)) + body)


def receive_frame(connection: socket.socket) -> Any:
    header = _read(connection, _FRAME.size)
    if header is None:
        raise EOFError
    (length,) = _FRAME.unpack(header)
    body = _read(connection, length)
    if body is None:
        raise EOFError
    return pickle.loads(body)  # the peer is this user's own warm server (SO_PEERCRED checked)


def _read(connection: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = connection.recv(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class RemoteTracking:
    """The same calls, run by a tracking process the warm server forked (see _warm.py)."""

    def __init__(self, connection: socket.socket) -> None:
        self._connection = connection

    def _call(self, kind: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        send_frame(self._connection, (kind, name, args, kwargs))
        ok, value = receive_frame(self._connection)
        if not ok:
            raise value
        return value

    def experiment_id(self, name: str) -> str:
        return self._call("function", "experiment_id", (name,), {})

    def create_run(self, experiment: str, run_id: str, run_name: str, tags: dict[str, str]) -> str:
        return self._call("function", "create_run", (experiment, run_id, run_name, tags), {})

    def end_run(self, run_id: str, status: str) -> None:
        self._call("function", "end_run", (run_id, status), {})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._call("client", name, args, kwargs)

    def close(self) -> None:
        self._connection.close()


def serve_tracking(connection: socket.socket, workspace_dir: Path) -> None:
    """In the warm server's child: answer a runner's tracking calls until it hangs up."""
    local = InProcessTracking(workspace_dir)
    while True:
        try:
            kind, name, args, kwargs = receive_frame(connection)
        except EOFError:
            return
        try:
            if kind == "function" and name in FUNCTIONS:
                target = getattr(local, name)
            elif kind == "client":
                target = getattr(local.client, name)
            else:
                raise ValueError(f"unknown tracking call {kind} {name}")
            answer: tuple[bool, Any] = (True, target(*args, **kwargs))
        except Exception as error:
            answer = (False, _picklable(error))
        send_frame(connection, answer)


def _picklable(error: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
