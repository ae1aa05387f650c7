"""Root pytest configuration: nbval runs the notebooks on a fresh local store."""

from __future__ import annotations

import os
import tempfile


def pytest_configure(config) -> None:
    if getattr(config.option, "nbval", False):
        # The kernels nbval starts inherit this environment: a store of their own, the local backend.
        os.environ["ACCELERATOR_HOME"] = tempfile.mkdtemp(prefix="accelerator-nbval-")
        os.environ["ACCELERATOR_BACKEND"] = "local"
