from __future__ import annotations

import pytest


@pytest.fixture
def fresh_store(tmp_path, monkeypatch):
    """An empty local store and the local backend for the notebooks' kernels."""
    store = tmp_path / "store"
    monkeypatch.setenv("ACCELERATOR_HOME", str(store))
    monkeypatch.setenv("ACCELERATOR_BACKEND", "local")
    # A kernel inherits this process's environment: no MLflow settings left by other tests.
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.delenv(variable, raising=False)
    yield store
    # Week 11 leaves prod's endpoint serving (for week 12): nothing may outlive the test.
    from accelerator.local import stop_endpoints

    stop_endpoints(store)
