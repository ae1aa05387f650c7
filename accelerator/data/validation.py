"""Data-quality checks for a taxi trips frame (see :data:`accelerator.data.TRIP_COLUMNS`).

:func:`validate_trips` runs every check, vectorised, and returns a report with one row per check.
A check that needs a column that is missing (or not numeric / not a datetime) does not crash: it
fails with a detail that says why it could not be evaluated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from accelerator.data.taxi import TRIP_COLUMNS

__all__ = ["DataValidationError", "validate_trips"]

REPORT_COLUMNS: tuple[str, ...] = ("check", "passed", "detail")

_DATETIME_COLUMNS: tuple[str, ...] = ("pickup_datetime", "dropoff_datetime")
_NUMERIC_COLUMNS: tuple[str, ...] = tuple(c for c in TRIP_COLUMNS if c not in _DATETIME_COLUMNS)

# NYC bounding box.
_LAT_RANGE = (40.4, 41.1)
_LON_RANGE = (-74.5, -73.5)

# Inclusive integer ranges of the calendar-part columns, and how to derive them from a datetime.
_PART_RANGES: dict[str, tuple[int, int]] = {
    "weekday": (0, 6),
    "month": (1, 12),
    "monthday": (1, 31),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}
_PART_ACCESSORS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "weekday": lambda s: s.dt.day_of_week,
    "month": lambda s: s.dt.month,
    "monthday": lambda s: s.dt.day,
    "hour": lambda s: s.dt.hour,
    "minute": lambda s: s.dt.minute,
    "second": lambda s: s.dt.second,
}


class DataValidationError(ValueError):
    """Raised by :func:`validate_trips` when checks fail; ``.report`` holds the full report."""

    def __init__(self, message: str, report: pd.DataFrame) -> None:
        super().__init__(message)
        self.report = report


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _unusable(df: pd.DataFrame, columns: Sequence[str], kind: str) -> str | None:
    """Why ``columns`` cannot be used for a check (missing or wrong dtype), or None if they can."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        return f"not evaluated: missing column(s) {', '.join(missing)}"
    repeated = [c for c in columns if isinstance(df[c], pd.DataFrame)]
    if repeated:
        return f"not evaluated: duplicated column label(s) {', '.join(repeated)}"
    check = _is_datetime if kind == "datetime" else _is_numeric
    wrong = [c for c in columns if not check(df[c])]
    if wrong:
        return f"not evaluated: non-{kind} column(s) {', '.join(wrong)}"
    return None


def _is_numeric(series: pd.Series) -> bool:
    return ptypes.is_numeric_dtype(series.dtype) and not ptypes.is_bool_dtype(series.dtype)


def _is_datetime(series: pd.Series) -> bool:
    return ptypes.is_datetime64_any_dtype(series.dtype)


def _count(mask: pd.Series | np.ndarray) -> int:
    """Number of True values; missing values (nullable dtypes) count as False."""
    if isinstance(mask, pd.Series) and mask.dtype != bool:
        mask = mask.fillna(False)
    return int(np.count_nonzero(np.asarray(mask, dtype=bool)))


# ---------------------------------------------------------------------------------------------
# Checks. Each returns (passed, detail).
# ---------------------------------------------------------------------------------------------


def _check_columns_present(df: pd.DataFrame) -> tuple[bool, str]:
    missing = [c for c in TRIP_COLUMNS if c not in df.columns]
    if missing:
        return False, f"{_plural(len(missing), 'missing column')}: {', '.join(missing)}"
    return True, f"all {len(TRIP_COLUMNS)} columns present"


def _check_no_unexpected_columns(df: pd.DataFrame) -> tuple[bool, str]:
    expected = set(TRIP_COLUMNS)
    extra = [str(c) for c in df.columns if c not in expected]
    if extra:
        return False, f"{_plural(len(extra), 'unexpected column')}: {', '.join(extra)}"
    return True, "no unexpected columns"


def _check_dtypes(df: pd.DataFrame) -> tuple[bool, str]:
    problems = []
    for column in TRIP_COLUMNS:
        if column not in df.columns:
            continue
        series = df[column]
        if isinstance(series, pd.DataFrame):  # duplicated column label
            problems.append(f"{column}: duplicated column label")
        elif column in _DATETIME_COLUMNS and not _is_datetime(series):
            problems.append(f"{column}: expected datetime, got {series.dtype}")
        elif column in _NUMERIC_COLUMNS and not _is_numeric(series):
            problems.append(f"{column}: expected numeric, got {series.dtype}")
    if problems:
        return False, f"{_plural(len(problems), 'column')} with wrong dtype: {'; '.join(problems)}"
    return True, "dtypes as expected"


def _check_not_empty(df: pd.DataFrame) -> tuple[bool, str]:
    if len(df) == 0:
        return False, "frame has 0 rows"
    return True, f"{len(df)} rows"


def _check_no_nulls(df: pd.DataFrame) -> tuple[bool, str]:
    counts = df.isna().sum()
    with_nulls = [(str(c), int(n)) for c, n in counts.items() if n > 0]
    if with_nulls:
        listed = ", ".join(f"{c} ({n})" for c, n in with_nulls)
        return False, f"{_plural(len(with_nulls), 'column')} with nulls: {listed}"
    return True, "no nulls"


def _check_no_duplicate_rows(df: pd.DataFrame) -> tuple[bool, str]:
    if len(df.columns) == 0 or len(df) < 2:
        return True, "no duplicate rows"
    # Hash rows first (fast), then compare the rows whose hashes collide exactly.
    row_hash = pd.util.hash_pandas_object(df, index=False)
    candidates = df[row_hash.duplicated(keep=False).to_numpy()]
    duplicates = int(candidates.duplicated().sum())
    if duplicates:
        return False, _plural(duplicates, "duplicate row")
    return True, "no duplicate rows"


def _range_check(
    df: pd.DataFrame,
    bounds: dict[str, tuple[float, float]],
    *,
    describe: Callable[[str, int, float, float], str],
) -> tuple[bool, str]:
    """Count non-null values outside closed ``bounds`` for each column."""
    reason = _unusable(df, list(bounds), "numeric")
    if reason:
        return False, reason
    problems = []
    for column, (low, high) in bounds.items():
        values = df[column]
        bad = _count(values.notna() & ((values < low) | (values > high)))
        if bad:
            problems.append(describe(column, bad, low, high))
    if problems:
        return False, "; ".join(problems)
    return True, "all values in range"


def _between(column: str, bad: int, low: float, high: float) -> str:
    return f"{_plural(bad, 'row')} with {column} outside {low:g} to {high:g}"


def _check_passengers(df: pd.DataFrame) -> tuple[bool, str]:
    return _range_check(df, {"passengers": (1, 9)}, describe=_between)


def _check_distance(df: pd.DataFrame) -> tuple[bool, str]:
    reason = _unusable(df, ["distance"], "numeric")
    if reason:
        return False, reason
    distance = df["distance"]
    problems = []
    negative = _count(distance < 0)
    zero = _count(distance == 0)
    too_long = _count(distance >= 200)
    if negative:
        problems.append(f"{_plural(negative, 'row')} with negative distance")
    if zero:
        problems.append(f"{_plural(zero, 'row')} with zero distance")
    if too_long:
        problems.append(f"{_plural(too_long, 'row')} with distance >= 200 miles")
    if problems:
        return False, "; ".join(problems)
    return True, "all distances > 0 and < 200 miles"


def _check_cost(df: pd.DataFrame) -> tuple[bool, str]:
    reason = _unusable(df, ["cost"], "numeric")
    if reason:
        return False, reason
    cost = df["cost"]
    problems = []
    negative = _count(cost < 0)
    too_high = _count(cost >= 1000)
    if negative:
        problems.append(f"{_plural(negative, 'row')} with negative cost")
    if too_high:
        problems.append(f"{_plural(too_high, 'row')} with cost >= 1000")
    if problems:
        return False, "; ".join(problems)
    return True, "all costs >= 0 and < 1000"


def _check_coordinates(df: pd.DataFrame) -> tuple[bool, str]:
    bounds = {
        "pickup_latitude": _LAT_RANGE,
        "pickup_longitude": _LON_RANGE,
        "dropoff_latitude": _LAT_RANGE,
        "dropoff_longitude": _LON_RANGE,
    }

    def describe(column: str, bad: int, low: float, high: float) -> str:
        return f"{_plural(bad, 'row')} with {column} outside NYC ({low:g} to {high:g})"

    passed, detail = _range_check(df, bounds, describe=describe)
    return passed, "all coordinates inside the NYC bounding box" if passed else detail


def _check_dropoff_after_pickup(df: pd.DataFrame) -> tuple[bool, str]:
    reason = _unusable(df, list(_DATETIME_COLUMNS), "datetime")
    if reason:
        return False, reason
    pickup, dropoff = df["pickup_datetime"], df["dropoff_datetime"]
    bad = _count(pickup.notna() & dropoff.notna() & (dropoff <= pickup))
    if bad:
        return False, f"{_plural(bad, 'row')} with dropoff_datetime not after pickup_datetime"
    return True, "every dropoff is after its pickup"


def _check_store_forward(df: pd.DataFrame) -> tuple[bool, str]:
    reason = _unusable(df, ["store_forward"], "numeric")
    if reason:
        return False, reason
    values = df["store_forward"]
    bad = _count(values.notna() & ~values.isin([0, 1]))
    if bad:
        return False, f"{_plural(bad, 'row')} with store_forward not 0 or 1"
    return True, "store_forward is 0 or 1"


def _check_calendar_ranges(df: pd.DataFrame) -> tuple[bool, str]:
    bounds = {
        f"{prefix}_{part}": rng for prefix in ("pickup", "dropoff") for part, rng in _PART_RANGES.items()
    }
    return _range_check(df, bounds, describe=_between)


def _check_calendar_consistency(df: pd.DataFrame) -> tuple[bool, str]:
    problems = []
    unusable = []
    for prefix in ("pickup", "dropoff"):
        source = f"{prefix}_datetime"
        derived = [f"{prefix}_{part}" for part in _PART_RANGES]
        reason = _unusable(df, [source], "datetime") or _unusable(df, derived, "numeric")
        if reason:
            unusable.append(f"{prefix}: {reason}")
            continue
        stamps = df[source]
        for part, accessor in _PART_ACCESSORS.items():
            column = f"{prefix}_{part}"
            values = df[column]
            expected = accessor(stamps)
            known = values.notna() & expected.notna()
            bad = _count(known & (values != expected))
            if bad:
                problems.append(f"{_plural(bad, 'row')} with {column} != {source}.{part}")
    if problems or unusable:
        return False, "; ".join(unusable + problems)
    return True, "calendar columns match the datetimes"


_CHECKS: tuple[tuple[str, Callable[[pd.DataFrame], tuple[bool, str]]], ...] = (
    ("columns_present", _check_columns_present),
    ("no_unexpected_columns", _check_no_unexpected_columns),
    ("dtypes", _check_dtypes),
    ("not_empty", _check_not_empty),
    ("no_nulls", _check_no_nulls),
    ("no_duplicate_rows", _check_no_duplicate_rows),
    ("passengers_range", _check_passengers),
    ("distance_range", _check_distance),
    ("cost_range", _check_cost),
    ("coordinates_in_nyc", _check_coordinates),
    ("dropoff_after_pickup", _check_dropoff_after_pickup),
    ("store_forward_flag", _check_store_forward),
    ("calendar_ranges", _check_calendar_ranges),
    ("calendar_consistency", _check_calendar_consistency),
)

#: Names of the checks run by :func:`validate_trips`, in report order.
CHECK_NAMES: tuple[str, ...] = tuple(name for name, _ in _CHECKS)


def validate_trips(df: pd.DataFrame, *, raise_on_error: bool = True) -> pd.DataFrame:
    """Run every data-quality check on a trips frame.

    Args:
        df: a trips frame, e.g. from :func:`accelerator.data.generate_trips`.
        raise_on_error: raise :class:`DataValidationError` if any check fails.

    Returns:
        A report with columns ``check`` (str), ``passed`` (bool) and ``detail`` (str), one row
        per check, in a fixed order.

    Raises:
        TypeError: if ``df`` is not a pandas DataFrame.
        DataValidationError: if ``raise_on_error`` and a check failed; its message lists every
            failed check and its ``.report`` attribute holds the report.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"validate_trips expects a pandas DataFrame, got {type(df).__name__}")
    rows = []
    for name, check in _CHECKS:
        try:
            passed, detail = check(df)
        except (TypeError, ValueError) as exc:  # e.g. mixed tz-aware and naive datetimes
            passed, detail = False, f"not evaluated: {type(exc).__name__}: {exc}"
        rows.append({"check": name, "passed": bool(passed), "detail": detail})
    report = pd.DataFrame(rows, columns=list(REPORT_COLUMNS)).astype({"passed": bool})
    failed = report[~report["passed"]]
    if raise_on_error and len(failed):
        lines = [f"- {row.check}: {row.detail}" for row in failed.itertuples(index=False)]
        message = f"trip data failed {len(failed)} of {len(report)} checks:\n" + "\n".join(lines)
        raise DataValidationError(message, report)
    return report
