from __future__ import annotations

import pytest


@pytest.fixture
def fresh_store(tmp_path, monkeypatch):
    """An empty local store and the local backend for the notebooks' kernels."""
    store = tmp_path / "store"
    monkeypatch.setenv("ACCELERATOR_HOME", str(store))
    monkeypatch.setenv("ACCELERATOR_BACKEND", "local")
    return store
