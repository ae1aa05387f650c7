"""Root pytest configuration: nbval runs the notebooks on a fresh local store.

``make test`` names that store (``ACCELERATOR_NBVAL_STORE``) and keeps it: after nbval has checked
the book's first run against the committed outputs, the in-order test runs every notebook again on
it (tests/notebooks/test_run_in_order.py), instead of executing the whole book a second time. A
marker file says the run was complete and passed; the in-order test consumes it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from tools.notebooks import NBVAL_MARKER, NBVAL_STORE

_STORE: str | None = None
_KEEP = False


def pytest_configure(config) -> None:
    global _STORE, _KEEP
    if getattr(config.option, "nbval", False):
        named = os.environ.get(NBVAL_STORE)
        if named:
            shutil.rmtree(named, ignore_errors=True)  # a first run of the book: always fresh
            Path(named).mkdir(parents=True)
            _STORE, _KEEP = str(Path(named).resolve()), True
        else:
            _STORE = tempfile.mkdtemp(prefix="accelerator-nbval-")
        # The kernels nbval starts inherit this environment: a store of their own, the local backend.
        os.environ["ACCELERATOR_HOME"] = _STORE
        os.environ["ACCELERATOR_BACKEND"] = "local"


def pytest_sessionfinish(session, exitstatus) -> None:
    if _STORE and _KEEP and exitstatus == 0:
        # The notebooks only: nbval's session also collects the workload's pytest files under notebooks/.
        paths = [Path(str(item.fspath)) for item in session.items]
        ran = list(dict.fromkeys(path.stem for path in paths if path.suffix == ".ipynb"))
        Path(_STORE, NBVAL_MARKER).write_text("\n".join(ran) + "\n")


def pytest_unconfigure(config) -> None:
    if _STORE:
        # Week 11 leaves prod's endpoint serving, week 12 may leave a schedule enabled: their
        # processes stop with the run.
        from accelerator.local import stop_endpoints
        from accelerator.local._scheduling._scheduler import stop

        stop(Path(_STORE))
        stop_endpoints(_STORE)
        if not _KEEP:
            shutil.rmtree(_STORE, ignore_errors=True)
