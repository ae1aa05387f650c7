"""Features of the taxi fare model, shared by the prep, train and evaluate.

A trip's fare follows from its distance, its duration, when it started (night
and rush-hour surcharges) and the vendor. The features are therefore the trip
facts plus the trip duration in minutes and the pickup weekday and hour. Left
out on purpose:

* the raw datetimes (models need numbers; their useful parts are kept);
* the dropoff calendar columns (pickup time plus duration already say it);
* month, day of month, minute and second: one month of data holds a single
  month (a constant), and the others are noise a model would overfit to;
* any partition column a data lake adds (for example ``month``).

Every feature is a float64 column, so the model signature is one plain type.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TARGET = "cost"

#: Model inputs, in order.
FEATURE_COLUMNS: tuple[str, ...] = (
    "vendor",
    "passengers",
    "distance",
    "pickup_latitude",
    "pickup_longitude",
    "dropoff_latitude",
    "dropoff_longitude",
    "store_forward",
    "pickup_weekday",
    "pickup_hour",
    "duration_minutes",
)

#: Columns a raw trips file must have.
RAW_COLUMNS: tuple[str, ...] = (
    "vendor",
    "pickup_datetime",
    "dropoff_datetime",
    "passengers",
    "distance",
    "pickup_latitude",
    "pickup_longitude",
    "dropoff_latitude",
    "dropoff_longitude",
    "store_forward",
    TARGET,
)

#: The file each prepared split folder holds.
DATA_FILE = "data.parquet"

_TRUE = {"y", "yes", "true", "1", "1.0"}
_FALSE = {"n", "no", "false", "0", "0.0"}


def _store_forward_flag(values: pd.Series) -> pd.Series:
    """``store_forward`` as 1.0/0.0 from Y/N, true/false or numbers."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(
        values
    ):
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        return numbers.where(numbers.isna(), (numbers != 0).astype("float64"))
    text = values.astype("string").str.strip().str.lower()
    flag = pd.Series(np.nan, index=values.index, dtype="float64")
    flag[text.isin(_TRUE).fillna(False).to_numpy(bool)] = 1.0
    flag[text.isin(_FALSE).fillna(False).to_numpy(bool)] = 0.0
    return flag


def engineer_features(
    raw: pd.DataFrame,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Model-ready rows from raw trips.

    Returns the frame (:data:`FEATURE_COLUMNS` then :data:`TARGET`, all
    float64) and how many rows were dropped for each reason, checked in this
    order: ``missing_target``, ``invalid_distance`` (missing or <= 0),
    ``invalid_duration`` (unreadable times or dropoff not after pickup) and
    ``missing_features`` (any other feature missing).

    Raises:
        ValueError: if a column of :data:`RAW_COLUMNS` is missing.
    """
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(
            f"the raw data lacks the column(s) {', '.join(missing)}; "
            f"expected at least: {', '.join(RAW_COLUMNS)}"
        )
    pickup = pd.to_datetime(raw["pickup_datetime"], errors="coerce")
    dropoff = pd.to_datetime(raw["dropoff_datetime"], errors="coerce")
    duration = (dropoff - pickup).dt.total_seconds() / 60.0

    frame = pd.DataFrame(index=raw.index)
    for column in (
        "vendor",
        "passengers",
        "distance",
        "pickup_latitude",
        "pickup_longitude",
        "dropoff_latitude",
        "dropoff_longitude",
    ):
        frame[column] = pd.to_numeric(raw[column], errors="coerce")
    frame["store_forward"] = _store_forward_flag(raw["store_forward"])
    frame["pickup_weekday"] = pickup.dt.weekday
    frame["pickup_hour"] = pickup.dt.hour
    frame["duration_minutes"] = duration
    frame[TARGET] = pd.to_numeric(raw[TARGET], errors="coerce")
    frame = frame[[*FEATURE_COLUMNS, TARGET]].astype("float64")

    checks = {
        "missing_target": frame[TARGET].notna(),
        "invalid_distance": frame["distance"].gt(0)
        & np.isfinite(frame["distance"]),
        "invalid_duration": frame["duration_minutes"].gt(0)
        & np.isfinite(frame["duration_minutes"]),
        "missing_features": frame[list(FEATURE_COLUMNS)].notna().all(axis=1),
    }
    dropped: dict[str, int] = {}
    for reason, keep in checks.items():
        keep = keep.reindex(frame.index).fillna(False).astype(bool)
        dropped[reason] = int((~keep).sum())
        frame = frame[keep]
    return frame.reset_index(drop=True), dropped


def read_prepared(folder: str | Path) -> tuple[pd.DataFrame, pd.Series]:
    """Features and target of a split written by ``prep.py``.

    Raises:
        FileNotFoundError: if the folder holds no :data:`DATA_FILE`.
        ValueError: if the split is empty or lacks a column.
    """
    folder = Path(folder)
    path = folder / DATA_FILE if folder.is_dir() else folder
    if not path.is_file():
        raise FileNotFoundError(
            f"no prepared data at {path}: pass a folder written by prep.py "
            f"(it holds {DATA_FILE})"
        )
    data = pd.read_parquet(path)
    missing = [c for c in (*FEATURE_COLUMNS, TARGET) if c not in data.columns]
    if missing:
        raise ValueError(
            f"{path} lacks the column(s) {', '.join(missing)}; "
            "was it written by this version of prep.py?"
        )
    if data.empty:
        raise ValueError(f"{path} has no rows")
    features = data[list(FEATURE_COLUMNS)].astype("float64")
    return features, data[TARGET].astype("float64")
