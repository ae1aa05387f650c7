"""Fixtures shared by every test folder: an isolated local store, a local client, and Azurite."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.ai.ml.entities import Workspace

from accelerator import connect
from accelerator.local import LocalMLClient
from accelerator.local._execution._warm import stop_daemons

REPO = Path(__file__).resolve().parents[1]
AZURITE_BLOB = REPO / "node_modules" / ".bin" / "azurite-blob"
AZURITE_START_TIMEOUT = 20.0
# Azurite's well-known development account (public, documented by Microsoft; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

# Variables that would make a test depend on the machine it runs on.
_ISOLATED_VARIABLES = (
    "ACCELERATOR_BACKEND",
    "ACCELERATOR_PROJECT",
    "ACCELERATOR_BLOB_CONNECTION_STRING",
    # A developer's mail relay never receives the tests' monitor alerts.
    "ACCELERATOR_SMTP_HOST",
    "ACCELERATOR_SMTP_PORT",
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh ACCELERATOR_HOME, no backend or workspace settings from the environment, cwd = tmp_path.

    Working in tmp_path means no config.json of the checkout (or its parents) is found. At the end,
    the store's warm job daemon (if a job started one) is stopped rather than left to idle out.
    """
    store = tmp_path / "accelerator-home"
    monkeypatch.setenv("ACCELERATOR_HOME", str(store))
    for variable in _ISOLATED_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    for variable in list(os.environ):
        if variable.startswith("AZUREML_"):
            monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    yield store
    stop_daemons(store)


@pytest.fixture
def ml_client(home: Path) -> LocalMLClient:
    """The local client of the dev workspace, with the workspace created."""
    client = connect("dev", backend="local")
    client.workspaces.begin_create(Workspace(name=client.workspace_name, location="westeurope")).result()
    return client


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Azurite's blob service on a free port of 127.0.0.1; yields its connection string."""
    if not AZURITE_BLOB.is_file():
        pytest.fail(
            f"{AZURITE_BLOB} is missing: run `npm install --no-audit --no-fund` in {REPO} "
            "to install Azurite (pinned in package.json)."
        )
    folder = tmp_path_factory.mktemp("azurite")
    port = _free_port()
    log_path = folder / "azurite.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                str(AZURITE_BLOB),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(port),
                "--disableTelemetry",
                "--silent",
                "--location",
                str(folder / "data"),
                "--skipApiVersionCheck",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + AZURITE_START_TIMEOUT
        while not _accepts_connections(port):
            if process.poll() is not None:
                pytest.fail(
                    f"Azurite exited with code {process.returncode} before listening on port {port}:\n"
                    + log_path.read_text(errors="replace")[-2000:]
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"Azurite did not listen on port {port} within {AZURITE_START_TIMEOUT:.0f} s:\n"
                    + log_path.read_text(errors="replace")[-2000:]
                )
            time.sleep(0.1)
        yield (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
        )
    finally:
        _stop(process)
