"""Waiting for a local job in the job tests."""

from __future__ import annotations

import time

from accelerator.local import LocalMLClient


def finish(client: LocalMLClient, name: str, timeout: float = 120.0) -> str:
    """Wait for a job to end; its final status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.jobs.get(name).status
        if status in ("Completed", "Failed", "Canceled"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {name} did not end within {timeout} s")
