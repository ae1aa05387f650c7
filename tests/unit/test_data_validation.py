"""Behaviour of the trip data-quality checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accelerator.data import TRIP_COLUMNS, DataValidationError, generate_trips, validate_trips
from accelerator.data.validation import CHECK_NAMES


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    return generate_trips(10_000, seed=21)


@pytest.fixture
def trips(clean: pd.DataFrame) -> pd.DataFrame:
    return clean.copy()


def _failed(df: pd.DataFrame) -> dict[str, str]:
    report = validate_trips(df, raise_on_error=False)
    failed = report[~report["passed"]]
    return dict(zip(failed["check"], failed["detail"], strict=True))


def test_report_shape_for_clean_data(clean: pd.DataFrame) -> None:
    report = validate_trips(clean)
    assert list(report.columns) == ["check", "passed", "detail"]
    assert list(report["check"]) == list(CHECK_NAMES)
    assert report["passed"].dtype == bool
    assert report["passed"].all()
    assert all(isinstance(d, str) and d for d in report["detail"])


def test_report_is_deterministic(clean: pd.DataFrame) -> None:
    broken = clean.copy()
    broken.loc[[1, 2], "distance"] = -1.0
    first = validate_trips(broken, raise_on_error=False)
    pd.testing.assert_frame_equal(first, validate_trips(broken, raise_on_error=False))


def test_nulls_are_named_with_counts(trips: pd.DataFrame) -> None:
    trips.loc[[0, 5, 9], "cost"] = np.nan
    trips.loc[[3], "distance"] = np.nan
    failed = _failed(trips)
    assert set(failed) == {"no_nulls"}
    assert "distance (1)" in failed["no_nulls"]
    assert "cost (3)" in failed["no_nulls"]


def test_duplicate_rows(trips: pd.DataFrame) -> None:
    doubled = pd.concat([trips, trips.iloc[:4]], ignore_index=True)
    failed = _failed(doubled)
    assert set(failed) == {"no_duplicate_rows"}
    assert failed["no_duplicate_rows"] == "4 duplicate rows"


def test_negative_distance(trips: pd.DataFrame) -> None:
    trips.loc[[0, 1, 2], "distance"] = -0.5
    failed = _failed(trips)
    assert set(failed) == {"distance_range"}
    assert failed["distance_range"] == "3 rows with negative distance"


def test_distance_zero_and_too_long(trips: pd.DataFrame) -> None:
    trips.loc[0, "distance"] = 0.0
    trips.loc[1, "distance"] = 250.0
    detail = _failed(trips)["distance_range"]
    assert "1 row with zero distance" in detail
    assert "1 row with distance >= 200 miles" in detail


def test_cost_and_passenger_ranges(trips: pd.DataFrame) -> None:
    trips.loc[0, "cost"] = -4.0
    trips.loc[[1, 2], "passengers"] = 0
    failed = _failed(trips)
    assert set(failed) == {"cost_range", "passengers_range"}
    assert failed["cost_range"] == "1 row with negative cost"
    assert failed["passengers_range"] == "2 rows with passengers outside 1 to 9"


def test_coordinates_outside_nyc(trips: pd.DataFrame) -> None:
    trips.loc[0, "pickup_latitude"] = 51.5  # London
    failed = _failed(trips)
    assert set(failed) == {"coordinates_in_nyc"}
    assert "1 row with pickup_latitude outside NYC" in failed["coordinates_in_nyc"]


def test_dropoff_before_pickup(trips: pd.DataFrame) -> None:
    trips.loc[[0, 1], "dropoff_datetime"] = trips.loc[[0, 1], "pickup_datetime"] - pd.Timedelta(minutes=5)
    failed = _failed(trips)
    assert "dropoff_after_pickup" in failed
    assert failed["dropoff_after_pickup"].startswith("2 rows with dropoff_datetime not after")


def test_store_forward_flag(trips: pd.DataFrame) -> None:
    trips.loc[0, "store_forward"] = 7
    assert _failed(trips) == {"store_forward_flag": "1 row with store_forward not 0 or 1"}


def test_calendar_out_of_range_and_inconsistent(trips: pd.DataFrame) -> None:
    trips.loc[0, "pickup_hour"] = 24
    trips.loc[[1, 2], "dropoff_minute"] = (trips.loc[[1, 2], "dropoff_minute"] + 1) % 60
    failed = _failed(trips)
    assert set(failed) == {"calendar_ranges", "calendar_consistency"}
    assert failed["calendar_ranges"] == "1 row with pickup_hour outside 0 to 23"
    assert "1 row with pickup_hour != pickup_datetime.hour" in failed["calendar_consistency"]
    assert "2 rows with dropoff_minute != dropoff_datetime.minute" in failed["calendar_consistency"]


def test_missing_column_does_not_crash_other_checks(trips: pd.DataFrame) -> None:
    failed = _failed(trips.drop(columns=["distance", "pickup_datetime"]))
    assert failed["columns_present"] == "2 missing columns: pickup_datetime, distance"
    assert "missing column(s) distance" in failed["distance_range"]
    assert "missing column(s) pickup_datetime" in failed["dropoff_after_pickup"]
    assert "pickup_datetime" in failed["calendar_consistency"]
    # Checks that do not need the dropped columns still run and pass.
    for check in ("cost_range", "passengers_range", "no_nulls", "dtypes", "not_empty"):
        assert check not in failed


def test_extra_column(trips: pd.DataFrame) -> None:
    trips["tip"] = 1.0
    assert _failed(trips) == {"no_unexpected_columns": "1 unexpected column: tip"}


def test_wrong_dtypes(trips: pd.DataFrame) -> None:
    trips["distance"] = trips["distance"].astype(str)
    trips["pickup_datetime"] = trips["pickup_datetime"].astype(str)
    failed = _failed(trips)
    assert "distance: expected numeric" in failed["dtypes"]
    assert "pickup_datetime: expected datetime" in failed["dtypes"]
    assert "non-numeric column(s) distance" in failed["distance_range"]
    assert "non-datetime column(s) pickup_datetime" in failed["dropoff_after_pickup"]


def test_empty_frame(clean: pd.DataFrame) -> None:
    failed = _failed(clean.iloc[:0])
    assert failed == {"not_empty": "frame has 0 rows"}


def test_frame_with_no_columns() -> None:
    failed = _failed(pd.DataFrame())
    assert failed["columns_present"].startswith(f"{len(TRIP_COLUMNS)} missing columns")
    assert "not_empty" in failed


def test_raise_on_error_lists_every_failed_check(trips: pd.DataFrame) -> None:
    trips.loc[0, "distance"] = -1.0
    trips["tip"] = 2.0
    with pytest.raises(DataValidationError) as excinfo:
        validate_trips(trips)
    error = excinfo.value
    assert isinstance(error, ValueError)
    message = str(error)
    assert "failed 2 of" in message
    assert "distance_range: 1 row with negative distance" in message
    assert "no_unexpected_columns: 1 unexpected column: tip" in message
    report = error.report
    assert list(report["check"]) == list(CHECK_NAMES)
    assert set(report.loc[~report["passed"], "check"]) == {
        "distance_range",
        "no_unexpected_columns",
    }


def test_raise_on_error_false_returns_report(trips: pd.DataFrame) -> None:
    trips.loc[0, "cost"] = np.nan
    report = validate_trips(trips, raise_on_error=False)
    assert not report["passed"].all()
    assert report.set_index("check").loc["no_nulls", "detail"] == "1 column with nulls: cost (1)"


def test_nullable_integer_columns_are_handled(trips: pd.DataFrame) -> None:
    trips["passengers"] = trips["passengers"].astype("Int64")
    trips.loc[0, "passengers"] = pd.NA
    trips.loc[1, "passengers"] = 12
    failed = _failed(trips)
    assert set(failed) == {"no_nulls", "passengers_range"}
    assert failed["passengers_range"] == "1 row with passengers outside 1 to 9"


def test_not_a_dataframe() -> None:
    with pytest.raises(TypeError, match="DataFrame"):
        validate_trips([1, 2, 3])  # type: ignore[arg-type]
