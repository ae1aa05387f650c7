"""One scoring server: ``azureml-inference-server-http`` serving a scoring script and a model.

It runs with the inference environment's Python (``.venv-inference``, or the interpreter in
``ACCELERATOR_INFERENCE_PYTHON``), bound to 127.0.0.1 on a free port, in its own session so that
stopping it stops its gunicorn workers too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

INFERENCE_PYTHON_VARIABLE = "ACCELERATOR_INFERENCE_PYTHON"
INFERENCE_VENV = ".venv-inference"
_LAUNCHER = Path(__file__).with_name("serve.py")


class InferenceServerError(RuntimeError):
    """The server could not start, or did not become healthy; the message has its log's end."""


def _default_inference_python() -> Path:
    """``.venv-inference/bin/python`` of the repository: the nearest folder above this package (an
    editable install) or above the client's own environment (``sys.prefix``, a regular install
    into the repository's ``.venv``) that has one. Where none has, the repository's expected place,
    for the error message."""
    here = Path(__file__).resolve().parents
    prefix = Path(sys.prefix).resolve()
    for folder in (*here, prefix, *prefix.parents):
        python = folder / INFERENCE_VENV / "bin" / "python"
        if python.is_file():
            return python
    return here[3] / INFERENCE_VENV / "bin" / "python"


def inference_python() -> Path:
    """The inference environment's interpreter: ``ACCELERATOR_INFERENCE_PYTHON`` when set, else the
    repository's ``.venv-inference``; a clear error saying how to create it if missing."""
    configured = os.environ.get(INFERENCE_PYTHON_VARIABLE)
    python = Path(configured).expanduser() if configured else _default_inference_python()
    if configured and not python.is_file():
        raise InferenceServerError(
            f"{INFERENCE_PYTHON_VARIABLE} is set to {python}, which is not a file. Set it to the path of a "
            "Python with requirements-inference.txt installed, or unset it to use the repository's "
            f"{INFERENCE_VENV} (created by `make setup`)."
        )
    if not python.is_file():
        raise InferenceServerError(
            f"The inference environment is missing ({python}). Create it with `make setup`, or set "
            f"{INFERENCE_PYTHON_VARIABLE} to a Python with requirements-inference.txt installed."
        )
    return python


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class InferenceServer:
    pid: int
    port: int
    log: Path
    started: float | None = None  # the process's create time: a recycled pid is never taken for it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls,
        code: Path,
        entry_script: str,
        model_dir: Path,
        log: Path,
        *,
        environment: dict[str, str] | None = None,
        timeout: float = 120.0,
    ) -> InferenceServer:
        """Start serving and wait until the health route answers (or fail with the log's end)."""
        python = inference_python()
        port = free_port()
        log.parent.mkdir(parents=True, exist_ok=True)
        env = {
            key: value
            for key, value in os.environ.items()
            # The notebook's own MLflow and Python settings mean nothing to the server.
            if not key.startswith(("MLFLOW_", "PYTHONPATH", "VIRTUAL_ENV"))
        }
        env.update(
            {
                "AML_APP_ROOT": str(code),
                "AZUREML_MODEL_DIR": str(model_dir),
                "WORKER_COUNT": "1",
                # gunicorn's default sync worker closes every connection after one answer; the
                # threaded worker with one thread answers one request at a time just the same,
                # and keeps the gateway's connection open (docs.gunicorn.org, "keepalive").
                "GUNICORN_CMD_ARGS": "--worker-class gthread --threads 1 --keep-alive 60",
                "PYTHONUNBUFFERED": "1",
                **(environment or {}),
            }
        )
        with open(log, "ab") as output:
            process = subprocess.Popen(
                [str(python), str(_LAUNCHER), "--entry_script", entry_script, "--port", str(port)],
                cwd=code,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = cls(process.pid, port, log, psutil.Process(process.pid).create_time())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise InferenceServerError(
                    f"The scoring server exited with code {process.returncode}:\n{server.tail()}"
                )
            if server.healthy():
                return server
            time.sleep(0.2)
        server.stop()
        raise InferenceServerError(
            f"The scoring server did not answer within {timeout:.0f} s:\n{server.tail()}"
        )

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/", timeout=2) as answer:
                return answer.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def score(self, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """POST ``body`` to the scoring route; (HTTP status, response body)."""
        request = urllib.request.Request(
            self.url + "/score",
            data=body,
            headers={"Content-Type": "application/json", **(headers or {})},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def alive(self) -> bool:
        try:
            process = psutil.Process(self.pid)
            if self.started is not None and abs(process.create_time() - self.started) > 0.01:
                return False  # another process got the pid after ours ended
            return process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    def recycled(self) -> bool:
        """True when the pid now belongs to another process. While our server's group lives, Linux
        never hands its number out again, so a pid that is free may still be signalled as a group."""
        try:
            process = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return False
        return self.started is not None and abs(process.create_time() - self.started) > 0.01

    def stop(self, grace: float = 10.0) -> None:
        """Stop the server and its workers (its whole process group), if it is still ours."""
        if self.recycled():
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(self.pid, os.WNOHANG)
                if not self.alive():
                    return
                time.sleep(0.1)

    def tail(self, lines: int = 30) -> str:
        if not self.log.is_file():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
