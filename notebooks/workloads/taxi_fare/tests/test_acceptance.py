"""Acceptance tests of a taxi fare endpoint, run before a release reaches
production.

The same module runs against a local endpoint (notebook 11) and an Azure ML
endpoint (the CD pipeline): it only needs the scoring URI, the key and the
registered model's files (see conftest.py for the options).

- contract: the request and answer schema; a bad request gets 400 with the
  reason; no key, 401;
- known answers: the endpoint's predictions equal the registered model's own,
  computed offline on a fixed set of trips (so the deployment serves that model,
  with the same features);
- latency: the 95th percentile of a few hundred single-trip requests is within
  the budget.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
import features

from accelerator.data import generate_trips

#: The fixed trips of the known-answer test: the same on any machine.
TRIPS, SEED, START = 50, 20260301, "2026-03-01"
COLUMNS = list(features.FEATURE_COLUMNS)


def post(
    endpoint: tuple[str, str], body: bytes, *, key: bool = True
) -> tuple[int, Any, float]:
    """(status, JSON answer, seconds) of one request."""
    uri, secret = endpoint
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {secret}"
    request = urllib.request.Request(uri, body, headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return (
                answer.status,
                json.loads(answer.read()),
                time.perf_counter() - started,
            )
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            payload = json.loads(text)
        except ValueError:
            payload = text.decode(errors="replace")
        return error.code, payload, time.perf_counter() - started


@pytest.fixture(scope="module")
def trips() -> Any:
    frame, _ = features.engineer_features(
        generate_trips(TRIPS, seed=SEED, start=START, end="2026-03-28")
    )
    return frame


def body(rows: Any) -> bytes:
    return json.dumps(
        {
            "input_data": {
                "columns": COLUMNS,
                "data": rows[COLUMNS].values.tolist(),
            }
        }
    ).encode()


def test_contract_answers_one_prediction_per_trip(endpoint, trips) -> None:
    status, answer, _ = post(endpoint, body(trips.head(5)))
    assert status == 200, answer
    assert isinstance(answer, dict) and set(answer) == {"predictions"}
    predictions = answer["predictions"]
    assert len(predictions) == 5
    assert all(isinstance(p, float) and np.isfinite(p) for p in predictions)


def test_contract_records_form_is_accepted(endpoint, trips) -> None:
    records = json.dumps(
        {"input_data": trips[COLUMNS].head(2).to_dict(orient="records")}
    ).encode()
    status, answer, _ = post(endpoint, records)
    assert status == 200 and len(answer["predictions"]) == 2, answer


@pytest.mark.parametrize(
    ("request_body", "reason"),
    [
        (b"not json", "not valid JSON"),
        (
            json.dumps(
                {"input_data": {"columns": ["distance"], "data": [[2.0]]}}
            ).encode(),
            "Missing feature",
        ),
        (json.dumps({"rows": []}).encode(), "input_data"),
    ],
    ids=["not-json", "missing-features", "no-input-data"],
)
def test_contract_bad_request_gets_400_with_the_reason(
    endpoint, request_body, reason
) -> None:
    status, answer, _ = post(endpoint, request_body)
    assert status == 400
    assert reason in json.dumps(answer)


def test_contract_a_value_that_is_not_a_number_gets_400(
    endpoint, trips
) -> None:
    rows = trips[COLUMNS].head(1).values.tolist()
    rows[0][0] = "two"
    status, answer, _ = post(
        endpoint,
        json.dumps({"input_data": {"columns": COLUMNS, "data": rows}}).encode(),
    )
    assert status == 400 and "is not a number" in json.dumps(answer)


def test_contract_no_key_gets_401(endpoint, trips) -> None:
    status, _, _ = post(endpoint, body(trips.head(1)), key=False)
    assert status == 401


def test_known_answers_equal_the_registered_models_offline_predictions(
    endpoint, trips, model_dir
) -> None:
    import mlflow

    offline = mlflow.pyfunc.load_model(str(model_dir)).predict(
        trips[COLUMNS].astype("float64")
    )
    status, answer, _ = post(endpoint, body(trips))
    assert status == 200, answer
    # The scoring script rounds to 4 decimals.
    np.testing.assert_allclose(
        answer["predictions"],
        np.round(np.asarray(offline, dtype=float), 4),
        atol=1e-4,
    )


def test_latency_within_budget(endpoint, trips, latency_budget) -> None:
    budget, requests = latency_budget
    post(endpoint, body(trips.head(1)))  # a first request warms the worker
    seconds = []
    for index in range(requests):
        status, answer, took = post(
            endpoint, body(trips.iloc[[index % len(trips)]])
        )
        assert status == 200, answer
        seconds.append(took)
    p95 = float(np.percentile(seconds, 95))
    assert p95 <= budget, (
        f"p95 {p95 * 1000:.0f} ms over the budget of {budget * 1000:.0f} ms"
    )
