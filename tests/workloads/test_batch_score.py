"""batch_score.py: the taxi model's batch scoring script, called as Azure ML's batch driver calls it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import mlflow
import pandas as pd
import pytest

SCRIPT = (
    Path(__file__).resolve().parents[2] / "notebooks" / "workloads" / "taxi_fare" / "score" / "batch_score.py"
)


@pytest.fixture
def batch_score(good_model: Path, monkeypatch: pytest.MonkeyPatch):
    # AZUREML_MODEL_DIR holds the model folder one level down, as Azure ML mounts a registered model.
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(good_model.parent))
    spec = importlib.util.spec_from_file_location("taxi_batch_score", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.init()
    return module


@pytest.fixture
def features(prepared) -> pd.DataFrame:
    return pd.read_parquet(prepared.test)


def test_scores_csv_and_parquet_files_in_order(
    batch_score, features, good_model: Path, tmp_path: Path
) -> None:
    features.head(30).to_csv(tmp_path / "monday.csv", index=False)
    features.iloc[30:50].to_parquet(tmp_path / "tuesday.parquet")
    result = batch_score.run([str(tmp_path / "monday.csv"), str(tmp_path / "tuesday.parquet")])
    assert list(result.columns) == ["file", "row", "predicted_fare"]
    assert result["file"].tolist() == ["monday.csv"] * 30 + ["tuesday.parquet"] * 20
    assert result["row"].tolist() == list(range(30)) + list(range(20))
    model = mlflow.pyfunc.load_model(str(good_model))
    expected = model.predict(features.head(50)[batch_score.features].astype("float64"))
    assert result["predicted_fare"].to_numpy() == pytest.approx(expected, abs=1e-4)


def test_extra_columns_such_as_the_fare_are_ignored(batch_score, features, tmp_path: Path) -> None:
    features.head(5).assign(comment="late").to_csv(tmp_path / "extra.csv", index=False)
    assert len(batch_score.run([str(tmp_path / "extra.csv")])) == 5


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda f, p: f.head(3).to_json(p.with_suffix(".json")), "only .csv and .parquet files"),
        (lambda f, p: p.write_bytes(b"\x00\x01 not parquet"), None),
        (lambda f, p: f.head(0).to_csv(p, index=False), "has no rows"),
        (
            lambda f, p: f.head(3).drop(columns=["distance"]).to_csv(p, index=False),
            "missing feature(s) distance",
        ),
        (
            lambda f, p: (
                f.head(3)
                .astype({"passengers": object})
                .assign(passengers=[1, "two", 3])
                .to_csv(p, index=False)
            ),
            "feature 'passengers' of row 1 is not a number: 'two'",
        ),
        (
            lambda f, p: f.head(3).assign(distance=[1.0, None, 2.0]).to_csv(p, index=False),
            "'distance' of row 1",
        ),
    ],
    ids=["json", "damaged parquet", "empty", "missing column", "text value", "missing value"],
)
def test_a_bad_file_raises_an_error_naming_it(batch_score, features, tmp_path: Path, write, message) -> None:
    path = tmp_path / ("bad.parquet" if message is None else "bad.csv")
    write(features, path)
    target = path.with_suffix(".json") if message and ".csv and" in message else path
    with pytest.raises(batch_score.InputFileError) as raised:
        batch_score.run([str(target)])
    assert str(raised.value).startswith(f"{target.name}: ")
    assert message is None or message in str(raised.value)
    if message is None:
        assert "cannot be read" in str(raised.value)
