"""Options of the acceptance tests: the endpoint to test, the model it serves.

Each option also reads an environment variable, so a pipeline can pass the key
without putting it on a command line::

    SCORING_URI=https://... SCORING_KEY=... python -m pytest \\
        test_acceptance.py --model-dir downloaded/taxi-fare
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_OPTIONS = {
    "--scoring-uri": ("SCORING_URI", "the endpoint's scoring URI"),
    "--scoring-key": (
        "SCORING_KEY",
        "the endpoint's key (prefer the variable)",
    ),
    "--model-dir": (
        "ACCEPTANCE_MODEL_DIR",
        "the registered model's files (an MLflow model folder or above one)",
    ),
    "--latency-budget-ms": (
        "ACCEPTANCE_LATENCY_BUDGET_MS",
        "the 95th percentile a request may take, in ms (default 300)",
    ),
    "--latency-requests": (
        "ACCEPTANCE_LATENCY_REQUESTS",
        "single-trip requests timed for the budget (default 200)",
    ),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("acceptance", "the endpoint under test")
    for option, (variable, description) in _OPTIONS.items():
        group.addoption(
            option, default=None, help=f"{description}; or {variable}"
        )


def _option(config: pytest.Config, option: str) -> str | None:
    # Options exist when this folder is given to pytest; collected from a parent
    # folder (the book's nbval run), only the variables can configure the tests.
    given = config.getoption(option, default=None)
    return given if given is not None else os.environ.get(_OPTIONS[option][0])


@pytest.fixture(scope="session")
def endpoint(pytestconfig: pytest.Config) -> tuple[str, str]:
    """(scoring URI, key): without both, the acceptance tests cannot run."""
    uri = _option(pytestconfig, "--scoring-uri")
    key = _option(pytestconfig, "--scoring-key")
    if not uri and not key:
        pytest.skip(
            "No endpoint to accept: give --scoring-uri and SCORING_KEY."
        )
    if not uri or not key:
        pytest.fail(
            "Give the endpoint: --scoring-uri and SCORING_KEY "
            "(or --scoring-key)."
        )
    return uri, key


@pytest.fixture(scope="session")
def model_dir(pytestconfig: pytest.Config) -> Path:
    given = _option(pytestconfig, "--model-dir")
    if not given:
        pytest.fail(
            "Give the registered model's files: --model-dir or "
            "ACCEPTANCE_MODEL_DIR."
        )
    found = sorted(Path(given).rglob("MLmodel"))
    if not found:
        pytest.fail(f"No MLflow model (MLmodel file) under {given}.")
    return found[0].parent


@pytest.fixture(scope="session")
def latency_budget(pytestconfig: pytest.Config) -> tuple[float, int]:
    """(the p95 budget in seconds, how many requests to time)."""
    budget = float(_option(pytestconfig, "--latency-budget-ms") or 300)
    requests = int(_option(pytestconfig, "--latency-requests") or 200)
    return budget / 1000, requests
