"""Behaviour of the synthetic taxi trip generator."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from accelerator.data import DRIFT_SCENARIOS, TRIP_COLUMNS, generate_trips, validate_trips

N = 20_000
RUSH_HOURS = [7, 8, 9, 16, 17, 18, 19]


@pytest.fixture(scope="module")
def baseline() -> pd.DataFrame:
    return generate_trips(N, seed=11)


def _scenario(name: str) -> pd.DataFrame:
    return generate_trips(N, seed=11, scenario=name)


def _duration_minutes(df: pd.DataFrame) -> pd.Series:
    return (df["dropoff_datetime"] - df["pickup_datetime"]).dt.total_seconds() / 60.0


def _r_squared(y: np.ndarray, prediction: np.ndarray) -> float:
    return 1.0 - float(((y - prediction) ** 2).sum() / ((y - y.mean()) ** 2).sum())


# --- shape, schema, determinism ---------------------------------------------------------------


def test_row_count_and_column_order(baseline: pd.DataFrame) -> None:
    assert len(baseline) == N
    assert list(baseline.columns) == list(TRIP_COLUMNS)
    assert TRIP_COLUMNS[-1] == "cost"
    assert len(TRIP_COLUMNS) == 23


def test_dtypes(baseline: pd.DataFrame) -> None:
    for column in ("pickup_datetime", "dropoff_datetime"):
        assert pd.api.types.is_datetime64_any_dtype(baseline[column])
    floats = {"distance", "cost"} | {c for c in TRIP_COLUMNS if c.endswith(("latitude", "longitude"))}
    for column in TRIP_COLUMNS:
        if column in floats:
            assert pd.api.types.is_float_dtype(baseline[column]), column
        elif not column.endswith("datetime"):
            assert pd.api.types.is_integer_dtype(baseline[column]), column


def test_same_seed_gives_identical_frame() -> None:
    pd.testing.assert_frame_equal(generate_trips(5_000, seed=3), generate_trips(5_000, seed=3))


def test_same_seed_identical_for_every_scenario() -> None:
    for name in DRIFT_SCENARIOS:
        first = generate_trips(2_000, seed=5, scenario=name)
        pd.testing.assert_frame_equal(first, generate_trips(2_000, seed=5, scenario=name))


def test_different_seed_gives_different_data() -> None:
    a, b = generate_trips(5_000, seed=1), generate_trips(5_000, seed=2)
    assert not a.equals(b)
    assert not np.array_equal(a["distance"].to_numpy(), b["distance"].to_numpy())


def test_exact_row_counts() -> None:
    for n in (1, 2, 17, 1_000):
        assert len(generate_trips(n, seed=0)) == n


def test_zero_rows_has_schema_and_dtypes(baseline: pd.DataFrame) -> None:
    empty = generate_trips(0)
    assert len(empty) == 0
    assert list(empty.columns) == list(TRIP_COLUMNS)
    pd.testing.assert_series_equal(empty.dtypes, baseline.dtypes)


# --- realism -----------------------------------------------------------------------------------


def test_baseline_passes_validation(baseline: pd.DataFrame) -> None:
    report = validate_trips(baseline)
    assert report["passed"].all()


@pytest.mark.parametrize("scenario", list(DRIFT_SCENARIOS))
def test_every_scenario_passes_validation(scenario: str) -> None:
    assert validate_trips(_scenario(scenario))["passed"].all()


def test_pickups_within_date_range_including_last_day() -> None:
    df = generate_trips(N, seed=4, start="2026-03-10", end="2026-03-12")
    pickup = df["pickup_datetime"]
    assert pickup.min() >= pd.Timestamp("2026-03-10")
    assert pickup.max() < pd.Timestamp("2026-03-13")
    assert set(pickup.dt.day) == {10, 11, 12}
    assert (df["pickup_month"] == 3).all()


def test_single_day_range_and_date_objects() -> None:
    df = generate_trips(1_000, start=date(2026, 2, 28), end=date(2026, 2, 28))
    assert (df["pickup_datetime"].dt.normalize() == pd.Timestamp("2026-02-28")).all()
    pd.testing.assert_frame_equal(df, generate_trips(1_000, start="2026-02-28", end="2026-02-28"))


def test_value_ranges(baseline: pd.DataFrame) -> None:
    assert set(baseline["vendor"].unique()) == {1, 2}
    assert baseline["passengers"].between(1, 6).all()
    assert baseline["passengers"].value_counts(normalize=True)[1] > 0.5
    assert (baseline["distance"] > 0).all()
    assert 1.5 < baseline["distance"].median() < 2.5
    assert baseline["pickup_latitude"].between(40.6, 40.9).all()
    assert baseline["dropoff_longitude"].between(-74.05, -73.75).all()
    assert set(baseline["store_forward"].unique()) <= {0, 1}
    assert 0 < baseline["store_forward"].mean() < 0.05
    assert (baseline["cost"] >= 3.0).all()
    assert (baseline["cost"] == baseline["cost"].round(2)).all()


def test_more_trips_in_rush_hour_than_before_dawn(baseline: pd.DataFrame) -> None:
    counts = baseline["pickup_hour"].value_counts()
    assert counts[18] > 3 * counts[4]


def test_rush_hour_trips_are_slower(baseline: pd.DataFrame) -> None:
    speed = baseline["distance"] / (_duration_minutes(baseline) / 60.0)
    hour = baseline["pickup_hour"]
    assert speed[hour.isin([17, 18])].median() < speed[hour.isin([2, 3])].median()


def test_dropoff_distance_consistent_with_trip_distance(baseline: pd.DataFrame) -> None:
    dlat = (baseline["dropoff_latitude"] - baseline["pickup_latitude"]) * 69.0
    dlon = (baseline["dropoff_longitude"] - baseline["pickup_longitude"]) * 52.4
    straight = np.hypot(dlat, dlon)
    assert np.corrcoef(straight, baseline["distance"])[0, 1] > 0.7
    assert (straight <= baseline["distance"] + 1e-6).mean() > 0.99


def test_fare_is_learnable_with_least_squares(baseline: pd.DataFrame) -> None:
    hour = baseline["pickup_hour"]
    night = (hour >= 20) | (hour < 6)
    rush = (baseline["pickup_weekday"] < 5) & hour.isin(RUSH_HOURS)
    x = np.column_stack(
        [np.ones(len(baseline)), baseline["distance"], _duration_minutes(baseline), night, rush]
    ).astype(float)
    y = baseline["cost"].to_numpy()
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    assert _r_squared(y, x @ coef) > 0.8
    # Coefficients close to the documented tariff: ~3.0 base, ~2.5/mile, ~0.5/minute.
    assert 2.0 < coef[1] < 3.0
    assert 0.3 < coef[2] < 0.7


# --- drift scenarios ---------------------------------------------------------------------------


def test_scenarios_have_descriptions() -> None:
    assert {"baseline", "higher_fares", "longer_trips", "new_vendor"} <= set(DRIFT_SCENARIOS)
    assert all(isinstance(text, str) and text for text in DRIFT_SCENARIOS.values())


def test_higher_fares_is_concept_drift(baseline: pd.DataFrame) -> None:
    drifted = _scenario("higher_fares")
    features = [c for c in TRIP_COLUMNS if c != "cost"]
    pd.testing.assert_frame_equal(drifted[features], baseline[features])
    per_mile = (drifted["cost"] / drifted["distance"]).mean()
    assert per_mile > 1.05 * (baseline["cost"] / baseline["distance"]).mean()
    assert (drifted["cost"] >= baseline["cost"]).mean() > 0.9


def test_longer_trips_is_covariate_drift(baseline: pd.DataFrame) -> None:
    drifted = _scenario("longer_trips")
    assert drifted["distance"].mean() > 1.4 * baseline["distance"].mean()
    assert drifted["cost"].mean() > baseline["cost"].mean()
    pd.testing.assert_series_equal(drifted["pickup_datetime"], baseline["pickup_datetime"])
    pd.testing.assert_series_equal(drifted["passengers"], baseline["passengers"])


def test_new_vendor_only_in_new_vendor_scenario(baseline: pd.DataFrame) -> None:
    for name in DRIFT_SCENARIOS:
        if name != "new_vendor":
            assert 3 not in set(_scenario(name)["vendor"]), name
    drifted = _scenario("new_vendor")
    share = (drifted["vendor"] == 3).mean()
    assert 0.25 < share < 0.35
    is_new = drifted["vendor"] == 3
    # The new vendor charges more for the same trips.
    assert drifted.loc[is_new, "cost"].mean() > 1.1 * baseline.loc[is_new, "cost"].mean()


def test_more_passengers_shifts_passenger_counts(baseline: pd.DataFrame) -> None:
    drifted = _scenario("more_passengers")
    assert drifted["passengers"].mean() > baseline["passengers"].mean() + 0.5
    pd.testing.assert_series_equal(drifted["cost"], baseline["cost"])


# --- bad parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_rows": -1}, "n_rows"),
        ({"n_rows": 1.5}, "n_rows"),
        ({"n_rows": "10"}, "n_rows"),
        ({"n_rows": True}, "n_rows"),
        ({"n_rows": 10, "seed": -3}, "seed"),
        ({"n_rows": 10, "start": "2026-02-01", "end": "2026-01-01"}, "before start"),
        ({"n_rows": 10, "start": "01/02/2026"}, "start"),
        ({"n_rows": 10, "end": "2026-02-30"}, "end"),
        ({"n_rows": 10, "start": 20260101}, "start"),
        ({"n_rows": 10, "scenario": "nope"}, "unknown scenario"),
    ],
)
def test_bad_parameters_raise_value_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_trips(**kwargs)


def test_unknown_scenario_lists_valid_ones() -> None:
    with pytest.raises(ValueError) as excinfo:
        generate_trips(10, scenario="weekend")
    for name in DRIFT_SCENARIOS:
        assert name in str(excinfo.value)


def test_numpy_integer_row_count_is_accepted() -> None:
    assert len(generate_trips(np.int64(12))) == 12
