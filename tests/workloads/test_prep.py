"""prep.py: feature engineering, the seeded split, inputs it accepts and the errors it gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import prep
import pytest
from features import DATA_FILE, FEATURE_COLUMNS, TARGET, engineer_features

from accelerator.data import generate_trips

from .conftest import SRC, MlflowStore


def _rows(frame: pd.DataFrame) -> set[tuple]:
    return set(frame.itertuples(index=False, name=None))


def _outputs(root: Path) -> list[str]:
    return [
        "--train_data",
        str(root / "train"),
        "--validation_data",
        str(root / "validation"),
        "--test_data",
        str(root / "test"),
    ]


def _read_outputs(root: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(root / name / DATA_FILE) for name in ("train", "validation", "test")}


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    frame, _ = engineer_features(generate_trips(1000, seed=3))
    return frame


# --- features -----------------------------------------------------------------------------------


def test_features_are_numeric_and_derived_from_the_trip() -> None:
    raw = generate_trips(300, seed=1)
    frame, dropped = engineer_features(raw)

    assert list(frame.columns) == [*FEATURE_COLUMNS, TARGET]
    assert all(dtype == "float64" for dtype in frame.dtypes)
    assert dropped == {
        "missing_target": 0,
        "invalid_distance": 0,
        "invalid_duration": 0,
        "missing_features": 0,
    }
    assert len(frame) == len(raw)
    minutes = (raw["dropoff_datetime"] - raw["pickup_datetime"]).dt.total_seconds() / 60
    np.testing.assert_allclose(frame["duration_minutes"], minutes)
    np.testing.assert_array_equal(frame["pickup_hour"], raw["pickup_hour"])
    np.testing.assert_array_equal(frame["pickup_weekday"], raw["pickup_weekday"])
    np.testing.assert_array_equal(frame[TARGET], raw[TARGET])
    for left_out in ("pickup_datetime", "dropoff_datetime", "pickup_month", "dropoff_hour", "pickup_second"):
        assert left_out not in frame.columns


def test_invalid_rows_are_dropped_and_counted() -> None:
    raw = generate_trips(100, seed=2)
    raw.loc[[0, 1], "cost"] = np.nan
    raw.loc[2, "distance"] = 0.0
    raw.loc[3, "distance"] = np.nan
    raw.loc[4, "dropoff_datetime"] = raw.loc[4, "pickup_datetime"] - pd.Timedelta(minutes=5)
    raw["passengers"] = raw["passengers"].astype("float64")
    raw.loc[5, "passengers"] = np.nan

    frame, dropped = engineer_features(raw)

    assert dropped == {
        "missing_target": 2,
        "invalid_distance": 2,
        "invalid_duration": 1,
        "missing_features": 1,
    }
    assert len(frame) == 94
    assert frame.notna().all().all()
    assert (frame["distance"] > 0).all() and (frame["duration_minutes"] > 0).all()


def test_store_forward_flags_become_zero_and_one() -> None:
    raw = generate_trips(4, seed=2)
    raw["store_forward"] = ["Y", "N", "y", "n"]
    frame, _ = engineer_features(raw)
    assert frame["store_forward"].tolist() == [1.0, 0.0, 1.0, 0.0]


def test_missing_raw_column_is_named() -> None:
    with pytest.raises(ValueError, match=r"lacks the column.*dropoff_datetime"):
        engineer_features(generate_trips(10).drop(columns=["dropoff_datetime"]))


# --- split --------------------------------------------------------------------------------------


def test_split_sizes_disjoint_and_complete(features: pd.DataFrame) -> None:
    train, validation, test = prep.split_frame(features, validation_size=0.2, test_size=0.1, seed=5)

    assert (len(train), len(validation), len(test)) == (700, 200, 100)
    positions = [set(part.index) for part in (train, validation, test)]
    assert positions[0].isdisjoint(positions[1]) and positions[0].isdisjoint(positions[2])
    assert positions[1].isdisjoint(positions[2])
    assert _rows(pd.concat([train, validation, test])) == _rows(features)


def test_same_seed_gives_the_same_split(features: pd.DataFrame) -> None:
    first = prep.split_frame(features, 0.15, 0.15, seed=11)
    second = prep.split_frame(features, 0.15, 0.15, seed=11)
    for a, b in zip(first, second, strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_different_seed_gives_a_different_split(features: pd.DataFrame) -> None:
    _, _, test_a = prep.split_frame(features, 0.15, 0.15, seed=11)
    _, _, test_b = prep.split_frame(features, 0.15, 0.15, seed=12)
    assert len(test_a) == len(test_b)
    assert _rows(test_a) != _rows(test_b)


def test_row_order_does_not_change_the_split(features: pd.DataFrame) -> None:
    shuffled = features.sample(frac=1.0, random_state=99).reset_index(drop=True)
    for a, b in zip(
        prep.split_frame(features, 0.15, 0.15, seed=4),
        prep.split_frame(shuffled, 0.15, 0.15, seed=4),
        strict=True,
    ):
        assert _rows(a) == _rows(b)


@pytest.mark.parametrize(
    ("validation_size", "test_size", "message"),
    [
        (0.0, 0.15, "validation_size must be strictly between 0 and 1"),
        (0.15, 1.0, "test_size must be strictly between 0 and 1"),
        (-0.1, 0.15, "validation_size must be strictly between 0 and 1"),
        (0.5, 0.5, r"must be below 1"),
    ],
)
def test_split_rejects_result(
    features: pd.DataFrame, validation_size: float, test_size: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        prep.split_frame(features, validation_size, test_size, seed=1)


def test_split_needs_a_row_in_each_part(features: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="too few to split"):
        prep.split_frame(features.head(3), 0.1, 0.1, seed=1)


# --- the script -----------------------------------------------------------------------------------


def test_main_writes_three_splits_and_logs_row_counts(tmp_path: Path, mlflow_store: MlflowStore) -> None:
    raw = generate_trips(1000, seed=8)
    raw.to_parquet(tmp_path / "trips.parquet", index=False)

    counts = prep.main(["--raw_data", str(tmp_path / "trips.parquet"), *_outputs(tmp_path / "out")])

    parts = _read_outputs(tmp_path / "out")
    assert {name: len(part) for name, part in parts.items()} == {"train": 700, "validation": 150, "test": 150}
    for part in parts.values():
        assert list(part.columns) == [*FEATURE_COLUMNS, TARGET]
    assert not _rows(parts["train"]) & _rows(parts["test"])
    assert not _rows(parts["validation"]) & _rows(parts["test"])
    assert counts["rows_raw"] == 1000 and counts["rows_train"] == 700

    (run,) = mlflow_store.client.search_runs([mlflow_store.experiment_id])
    assert run.data.params == {"seed": "42", "validation_size": "0.15", "test_size": "0.15"}
    assert run.data.metrics["rows_raw"] == 1000
    assert run.data.metrics["rows_test"] == 150
    assert run.data.metrics["rows_dropped_invalid_distance"] == 0


def test_main_is_deterministic_per_seed(tmp_path: Path) -> None:
    generate_trips(600, seed=8).to_parquet(tmp_path / "trips.parquet", index=False)

    def run(seed: int, name: str) -> dict[str, pd.DataFrame]:
        prep.main(
            ["--raw_data", str(tmp_path / "trips.parquet"), "--seed", str(seed), *_outputs(tmp_path / name)]
        )
        return _read_outputs(tmp_path / name)

    first, again, other = run(1, "a"), run(1, "b"), run(2, "c")
    for name in first:
        pd.testing.assert_frame_equal(first[name], again[name])
    assert _rows(first["test"]) != _rows(other["test"])


def test_hive_partitioned_folder_gives_no_partition_column_and_ignores_file_order(tmp_path: Path) -> None:
    january = generate_trips(400, seed=1, start="2026-01-01", end="2026-01-31")
    february = generate_trips(300, seed=2, start="2026-02-01", end="2026-02-28")
    for month, trips in (("2026-01", january), ("2026-02", february)):
        (tmp_path / "lake" / f"month={month}").mkdir(parents=True)
        trips.to_parquet(tmp_path / "lake" / f"month={month}" / "trips.parquet", index=False)
    # The same rows in one file, in another order.
    both = pd.concat([february, january]).sample(frac=1.0, random_state=3)
    both.to_parquet(tmp_path / "single.parquet", index=False)

    counts = prep.main(["--raw_data", str(tmp_path / "lake"), *_outputs(tmp_path / "from_lake")])
    prep.main(["--raw_data", str(tmp_path / "single.parquet"), *_outputs(tmp_path / "from_file")])

    assert counts["rows_raw"] == 700
    from_lake, from_file = _read_outputs(tmp_path / "from_lake"), _read_outputs(tmp_path / "from_file")
    for name, part in from_lake.items():
        assert "month" not in part.columns
        assert list(part.columns) == [*FEATURE_COLUMNS, TARGET]
        pd.testing.assert_frame_equal(part, from_file[name])


def test_csv_file_input(tmp_path: Path) -> None:
    generate_trips(500, seed=5).to_csv(tmp_path / "trips.csv", index=False)

    counts = prep.main(["--raw_data", str(tmp_path / "trips.csv"), *_outputs(tmp_path / "out")])

    parts = _read_outputs(tmp_path / "out")
    assert counts["rows_valid"] == 500
    assert sum(len(part) for part in parts.values()) == 500
    assert (parts["train"]["duration_minutes"] > 0).all()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--validation_size", "0"], "not a fraction strictly between 0 and 1"),
        (["--test_size", "1"], "not a fraction strictly between 0 and 1"),
        (["--test_size", "abc"], "is not a number"),
        (["--validation_size", "0.5", "--test_size", "0.5"], "must be below 1"),
    ],
)
def test_result_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        prep.main(["--raw_data", str(tmp_path), *_outputs(tmp_path / "out"), *flags])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_missing_input_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        prep.main(["--raw_data", str(tmp_path / "nowhere"), *_outputs(tmp_path / "out")])


def test_folder_without_data_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "notes.txt").write_text("no data here")
    with pytest.raises(ValueError, match=r"holds no \.parquet or \.csv files"):
        prep.main(["--raw_data", str(tmp_path / "raw"), *_outputs(tmp_path / "out")])


def test_empty_data_is_an_error(tmp_path: Path) -> None:
    generate_trips(0).to_parquet(tmp_path / "empty.parquet", index=False)
    with pytest.raises(ValueError, match="has no rows"):
        prep.main(["--raw_data", str(tmp_path / "empty.parquet"), *_outputs(tmp_path / "out")])


def test_no_valid_rows_is_an_error(tmp_path: Path) -> None:
    raw = generate_trips(50, seed=1)
    raw["distance"] = 0.0
    raw.to_parquet(tmp_path / "trips.parquet", index=False)
    with pytest.raises(ValueError, match="no valid rows left out of 50"):
        prep.main(["--raw_data", str(tmp_path / "trips.parquet"), *_outputs(tmp_path / "out")])


def test_script_exits_nonzero_with_a_message(tmp_path: Path) -> None:
    """Run as Azure ML runs it: `python prep.py ...` from the src folder."""
    result = subprocess.run(
        [
            sys.executable,
            "prep.py",
            "--raw_data",
            str(tmp_path),
            *_outputs(tmp_path / "out"),
            "--test_size",
            "2",
        ],
        cwd=SRC,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "--test_size: 2.0 is not a fraction strictly between 0 and 1" in result.stderr
