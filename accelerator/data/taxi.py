"""Deterministic generator of NYC-like taxi trips for the taxi fare regression example.

The schema follows the Azure MLOps v2 taxi fare example: raw trip facts, the calendar parts of
the pickup and dropoff times as separate integer columns, and ``cost`` (the fare) as the target.

Everything is vectorised with numpy and driven by a single ``numpy.random.default_rng(seed)``,
so the same arguments always give the same frame. Every scenario consumes the random stream in
exactly the same way: with the same seed, a drift scenario differs from ``baseline`` only in what
the scenario changes and in what follows from it (for example ``longer_trips`` also changes
durations, dropoff positions and fares, but not pickup times or passenger counts).
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

__all__ = ["DRIFT_SCENARIOS", "TRIP_COLUMNS", "generate_trips"]

_CALENDAR_PARTS: tuple[str, ...] = ("weekday", "month", "monthday", "hour", "minute", "second")

#: Columns of a trips frame, in order. ``cost`` (the last column) is the regression target.
TRIP_COLUMNS: tuple[str, ...] = (
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
    *(f"pickup_{part}" for part in _CALENDAR_PARTS),
    *(f"dropoff_{part}" for part in _CALENDAR_PARTS),
    "cost",
)

#: Named data scenarios: ``baseline`` plus the drifts used in the monitoring chapters.
DRIFT_SCENARIOS: dict[str, str] = {
    "baseline": "Reference data: vendors 1 and 2, standard fares.",
    "higher_fares": "Concept drift: the per-mile rate is 25% higher, features are unchanged.",
    "longer_trips": "Covariate drift: trip distances are 60% longer (median 1.9 -> 3.0 miles).",
    "new_vendor": "A new vendor (id 3) takes ~30% of trips and charges 20% more.",
    "more_passengers": "Covariate drift: shared rides, far fewer single-passenger trips.",
}

_DATETIME_DTYPE = "datetime64[ns]"

# Trips by pickup hour (0-23): quiet before dawn, morning and evening peaks.
_HOUR_WEIGHTS = np.array(
    [30, 20, 14, 10, 8, 10, 20, 38, 48, 46, 44, 45, 47, 47, 49, 51, 53, 58, 64, 64, 58, 54, 50, 42],
    dtype=float,
)
# Typical street speed by hour (mph): fast at night, slow in the rush hours.
_HOUR_SPEED_MPH = np.array(
    [
        20,
        21,
        22,
        22,
        22,
        20,
        16,
        11,
        10,
        10,
        12,
        12,
        12,
        12,
        12,
        11,
        10,
        9.5,
        9.5,
        10,
        13,
        15,
        17,
        19,
    ],
    dtype=float,
)
_RUSH_HOURS = (7, 8, 9, 16, 17, 18, 19)  # weekdays only, for the surcharge

_PASSENGER_PROBS = np.array([0.70, 0.14, 0.05, 0.03, 0.05, 0.03])
_MORE_PASSENGER_PROBS = np.array([0.35, 0.25, 0.13, 0.09, 0.11, 0.07])

_DISTANCE_MEDIAN_MILES = 1.9
_DISTANCE_SIGMA = 0.75
_LONGER_TRIPS_FACTOR = 1.6
_MIN_DISTANCE, _MAX_DISTANCE = 0.1, 60.0

_LAT_BOUNDS = (40.60, 40.90)
_LON_BOUNDS = (-74.05, -73.75)
_MILES_PER_DEG_LAT = 69.0
_MILES_PER_DEG_LON = 52.4  # at Manhattan's latitude

_BASE_FARE = 3.0
_PER_MILE = 2.5
_PER_MINUTE = 0.5
_NIGHT_SURCHARGE = 1.0  # 20:00-06:00
_RUSH_SURCHARGE = 2.5  # weekdays 07:00-10:00 and 16:00-20:00
_MIN_FARE = 3.0
_FARE_NOISE_SD = 1.0  # dollars, additive
_FARE_NOISE_REL_SD = 0.10  # relative, e.g. meter and route variation
_VENDOR_MULTIPLIER = {1: 1.0, 2: 1.04, 3: 1.20}
_VENDOR_2_SHARE = 0.55
_NEW_VENDOR_SHARE = 0.30
_STORE_FORWARD_RATE = 0.01


def _parse_date(value: str | date, name: str) -> date:
    if isinstance(value, datetime):  # includes pandas.Timestamp
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"{name}={value!r} is not a valid date; use ISO format YYYY-MM-DD, e.g. '2026-01-01'"
            ) from None
    raise ValueError(
        f"{name} must be an ISO date string (YYYY-MM-DD) or a datetime.date, got {type(value).__name__}"
    )


def _check_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        # ValueError, not TypeError: callers catch one exception type for any bad argument.
        message = f"{name} must be an integer, got {type(value).__name__} {value!r}"
        raise ValueError(message)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


def _calendar_parts(seconds: np.ndarray, prefix: str) -> dict[str, np.ndarray]:
    """Calendar columns from int64 seconds since the Unix epoch (Monday is weekday 0)."""
    days = seconds // 86_400
    day = days.astype("datetime64[D]")
    month_start = day.astype("datetime64[M]")
    return {
        f"{prefix}_weekday": (days + 3) % 7,  # 1970-01-01 was a Thursday
        f"{prefix}_month": month_start.astype(np.int64) % 12 + 1,
        f"{prefix}_monthday": (day - month_start.astype("datetime64[D]")).astype(np.int64) + 1,
        f"{prefix}_hour": seconds // 3600 % 24,
        f"{prefix}_minute": seconds // 60 % 60,
        f"{prefix}_second": seconds % 60,
    }


def _reflect_into(center: np.ndarray, offset: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    """``center + offset``, flipping the offset where it would leave ``bounds``, then clipping."""
    low, high = bounds
    target = center + offset
    outside = (target < low) | (target > high)
    target = np.where(outside, center - offset, target)
    return np.clip(target, low, high)


def generate_trips(
    n_rows: int,
    seed: int = 42,
    start: str | date = "2026-01-01",
    end: str | date = "2026-01-31",
    scenario: str = "baseline",
) -> pd.DataFrame:
    """Generate ``n_rows`` NYC-like taxi trips with pickups between ``start`` and ``end``.

    Args:
        n_rows: number of trips (0 gives an empty frame with the full schema).
        seed: seed for ``numpy.random.default_rng``; the same arguments give the same frame.
        start: first pickup day (ISO ``YYYY-MM-DD`` string or ``datetime.date``).
        end: last pickup day, inclusive of the whole day.
        scenario: one of :data:`DRIFT_SCENARIOS`.

    Returns:
        A frame with :data:`TRIP_COLUMNS`, in that order; rows are independent and unsorted.

    Raises:
        ValueError: if an argument is invalid (the message names the argument).
    """
    n = _check_int(n_rows, "n_rows")
    seed = _check_int(seed, "seed")
    first_day = _parse_date(start, "start")
    last_day = _parse_date(end, "end")
    if last_day < first_day:
        raise ValueError(f"end ({last_day}) is before start ({first_day})")
    if not isinstance(scenario, str) or scenario not in DRIFT_SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; valid scenarios: {', '.join(DRIFT_SCENARIOS)}")

    rng = np.random.default_rng(seed)
    # Draw every random variate up front, in a fixed order, whatever the scenario.
    u_vendor = rng.random(n)
    u_new_vendor = rng.random(n)
    n_days = (last_day - first_day).days + 1
    day_index = rng.integers(0, n_days, size=n)
    u_hour = rng.random(n)
    second_in_hour = rng.integers(0, 3600, size=n)
    u_passengers = rng.random(n)
    z_distance = rng.standard_normal(n)
    z_speed = rng.standard_normal(n)
    pickup_lat = rng.normal(40.754, 0.030, size=n)
    pickup_lon = rng.normal(-73.980, 0.025, size=n)
    bearing = rng.uniform(0.0, 2.0 * np.pi, size=n)
    route_factor = rng.uniform(1.2, 1.45, size=n)
    u_store_forward = rng.random(n)
    fare_noise = rng.normal(0.0, _FARE_NOISE_SD, size=n)
    fare_noise_rel = rng.normal(0.0, _FARE_NOISE_REL_SD, size=n)

    # Vendor.
    vendor = np.where(u_vendor < _VENDOR_2_SHARE, 2, 1).astype(np.int64)
    if scenario == "new_vendor":
        vendor = np.where(u_new_vendor < _NEW_VENDOR_SHARE, 3, vendor)

    # Pickup time: uniform day, hour from the daily profile, uniform second within the hour.
    hour_cdf = np.cumsum(_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    hour = np.minimum(np.searchsorted(hour_cdf, u_hour, side="right"), 23).astype(np.int64)
    epoch_day = (np.datetime64(first_day, "D") - np.datetime64(0, "D")).astype(np.int64)
    pickup_s = (epoch_day + day_index) * 86_400 + hour * 3600 + second_in_hour

    # Passengers (inverse CDF, so every scenario uses the same uniforms).
    probs = _MORE_PASSENGER_PROBS if scenario == "more_passengers" else _PASSENGER_PROBS
    passengers = np.minimum(np.searchsorted(np.cumsum(probs), u_passengers, side="right"), 5) + 1
    passengers = passengers.astype(np.int64)

    # Distance (miles): lognormal, rounded like a taximeter.
    median = _DISTANCE_MEDIAN_MILES * (_LONGER_TRIPS_FACTOR if scenario == "longer_trips" else 1)
    distance = np.exp(np.log(median) + _DISTANCE_SIGMA * z_distance)
    distance = np.round(np.clip(distance, _MIN_DISTANCE, _MAX_DISTANCE), 2)

    # Duration from distance and an hour-dependent speed.
    speed = _HOUR_SPEED_MPH[hour] * np.exp(0.15 * z_speed)
    duration_s = np.maximum(np.round(distance / speed * 3600.0), 60).astype(np.int64)
    dropoff_s = pickup_s + duration_s
    minutes = duration_s / 60.0

    # Coordinates: dropoff is the straight-line part of the route, in a random direction.
    pickup_lat = np.clip(pickup_lat, *_LAT_BOUNDS)
    pickup_lon = np.clip(pickup_lon, *_LON_BOUNDS)
    straight_miles = distance / route_factor
    dropoff_lat = _reflect_into(
        pickup_lat, straight_miles * np.cos(bearing) / _MILES_PER_DEG_LAT, _LAT_BOUNDS
    )
    dropoff_lon = _reflect_into(
        pickup_lon, straight_miles * np.sin(bearing) / _MILES_PER_DEG_LON, _LON_BOUNDS
    )

    store_forward = (u_store_forward < _STORE_FORWARD_RATE).astype(np.int64)

    # Fare.
    pickup = _calendar_parts(pickup_s, "pickup")
    weekday = pickup["pickup_weekday"]
    night = (hour >= 20) | (hour < 6)
    rush = (weekday < 5) & np.isin(hour, _RUSH_HOURS)
    per_mile = _PER_MILE * (1.25 if scenario == "higher_fares" else 1.0)
    fare = (
        _BASE_FARE
        + per_mile * distance
        + _PER_MINUTE * minutes
        + _NIGHT_SURCHARGE * night
        + _RUSH_SURCHARGE * rush
    )
    multiplier = np.array([0.0, *(_VENDOR_MULTIPLIER[v] for v in (1, 2, 3))])[vendor]
    noisy_fare = fare * multiplier * (1.0 + fare_noise_rel) + fare_noise
    cost = np.round(np.maximum(noisy_fare, _MIN_FARE), 2)

    columns: dict[str, np.ndarray] = {
        "vendor": vendor,
        "pickup_datetime": (pickup_s * 1_000_000_000).astype(_DATETIME_DTYPE),
        "dropoff_datetime": (dropoff_s * 1_000_000_000).astype(_DATETIME_DTYPE),
        "passengers": passengers,
        "distance": distance,
        "pickup_latitude": np.round(pickup_lat, 6),
        "pickup_longitude": np.round(pickup_lon, 6),
        "dropoff_latitude": np.round(dropoff_lat, 6),
        "dropoff_longitude": np.round(dropoff_lon, 6),
        "store_forward": store_forward,
        **pickup,
        **_calendar_parts(dropoff_s, "dropoff"),
        "cost": cost,
    }
    return pd.DataFrame(columns, columns=list(TRIP_COLUMNS), copy=False)
