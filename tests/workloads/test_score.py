"""score.py's request checks, without a server (the server tests are in tests/unit)."""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path

import pytest

SCORE = Path(__file__).resolve().parents[2] / "notebooks" / "workloads" / "taxi_fare" / "score" / "score.py"
COLUMNS = ["distance", "passengers"]


class _Response:
    """Stands in for the server's AMLResponse, which lives in the inference environment only."""

    def __init__(self, message, status_code, response_headers=None, json_str=False):
        self.body, self.status = message, status_code


@pytest.fixture
def score(monkeypatch: pytest.MonkeyPatch):
    fake = types.ModuleType("azureml_inference_server_http.api.aml_response")
    fake.AMLResponse = _Response
    for name in ("azureml_inference_server_http", "azureml_inference_server_http.api"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, fake.__name__, fake)
    spec = importlib.util.spec_from_file_location("taxi_score", SCORE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_split_and_records_requests_give_the_same_frame(score) -> None:
    split = score.parse(json.dumps({"input_data": {"columns": COLUMNS, "data": [[1.5, 2]]}}), COLUMNS)
    records = score.parse(json.dumps({"input_data": [{"passengers": 2, "distance": "1.5"}]}), COLUMNS)
    assert split.equals(records)
    assert list(split.columns) == COLUMNS
    assert split.dtypes.eq("float64").all()


def test_extra_columns_are_left_out(score) -> None:
    frame = score.parse(json.dumps({"input_data": [{"distance": 1, "passengers": 1, "tip": 3}]}), COLUMNS)
    assert list(frame.columns) == COLUMNS


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "not valid JSON"),
        ("[1, 2]", '"input_data"'),
        ('{"input_data": {"data": 3}}', "list of rows"),
        ('{"input_data": {"columns": ["distance"], "data": [[1]]}}', "Missing feature(s): passengers"),
        ('{"input_data": [{"distance": 1, "passengers": null}]}', "'passengers' of row 0 is not a number"),
        ('{"input_data": [{"distance": true, "passengers": 1}]}', None),
        ('{"input_data": []}', "no rows"),
    ],
)
def test_bad_requests_are_named(score, body, message) -> None:
    if message is None:  # JSON true is a number to pandas: accepted, as 1.0
        assert score.parse(body, COLUMNS)["distance"].tolist() == [1.0]
        return
    with pytest.raises(score.RequestError) as raised:
        score.parse(body, COLUMNS)
    assert message in str(raised.value)


def test_too_many_rows_go_to_a_batch_endpoint(score) -> None:
    rows = [[1.0, 1]] * (score.MAX_ROWS + 1)
    with pytest.raises(score.RequestError, match="at most"):
        score.parse(json.dumps({"input_data": {"columns": COLUMNS, "data": rows}}), COLUMNS)


def test_run_answers_400_for_a_bad_request_and_predicts_otherwise(score, monkeypatch) -> None:
    class Doubler:
        def predict(self, frame):
            return frame["distance"] * 2

    monkeypatch.setattr(score, "model", Doubler())
    monkeypatch.setattr(score, "features", COLUMNS)
    answer = score.run("{oops")
    assert (answer.status, answer.body) == (400, {"error": "The request body is not valid JSON."})
    good = json.dumps({"input_data": {"columns": COLUMNS, "data": [[1.25, 1], [2, 3]]}})
    assert score.run(good) == {"predictions": [2.5, 4.0]}


def test_model_folder_finds_the_mlmodel_file(score, tmp_path: Path) -> None:
    (tmp_path / "taxi-fare" / "3" / "model").mkdir(parents=True)
    (tmp_path / "taxi-fare" / "3" / "model" / "MLmodel").write_text("flavors: {}\n")
    assert score.model_folder(tmp_path) == tmp_path / "taxi-fare" / "3" / "model"
    with pytest.raises(FileNotFoundError):
        score.model_folder(tmp_path / "empty")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"input_data": {"columns": ["distance", "passengers"], "data": [[NaN, 1]]}}', "NaN"),
        ('{"input_data": [{"distance": Infinity, "passengers": 1}]}', "Infinity"),
        ('{"input_data": [{"distance": -Infinity, "passengers": 1}]}', "-Infinity"),
        (
            '{"input_data": [{"distance": 1e400, "passengers": 1}]}',
            "'distance' of row 0 is not a finite number: inf",
        ),
        ('{"input_data": [{"distance": 1' + "0" * 400 + ', "passengers": 1}]}', "not a finite number"),
        ('{"input_data": [{"distance": "inf", "passengers": 1}]}', "not a number: 'inf'"),
        ('{"input_data": [{"distance": "nan", "passengers": 1}]}', "not a number: 'nan'"),
        ('{"input_data": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        ('{"input_data": [{"distance": [[1]], "passengers": 1}]}', "not a number: [[1]]"),
        ('{"input_data": {"columns": "distance", "data": [[1]]}}', "list of names"),
    ],
)
def test_values_that_are_not_finite_numbers_are_400s(score, monkeypatch, body, message) -> None:
    """NaN, Infinity, 1e400 and deep nesting were 500s: each is the caller's error, named."""
    monkeypatch.setattr(score, "features", COLUMNS)
    monkeypatch.setattr(score, "model", None)  # never reached: predict would fail with a 500
    answer = score.run(body)
    assert answer.status == 400
    assert message in answer.body["error"]
