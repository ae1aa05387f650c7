"""Root pytest configuration: nbval runs the notebooks on a fresh local store."""

from __future__ import annotations

import os
import shutil
import tempfile

_STORE: str | None = None


def pytest_configure(config) -> None:
    global _STORE
    if getattr(config.option, "nbval", False):
        # The kernels nbval starts inherit this environment: a store of their own, the local backend.
        _STORE = tempfile.mkdtemp(prefix="accelerator-nbval-")
        os.environ["ACCELERATOR_HOME"] = _STORE
        os.environ["ACCELERATOR_BACKEND"] = "local"


def pytest_unconfigure(config) -> None:
    if _STORE:
        # Week 11 leaves prod's endpoint serving: its processes stop with the run.
        from accelerator.local import stop_endpoints

        stop_endpoints(_STORE)
        shutil.rmtree(_STORE, ignore_errors=True)
