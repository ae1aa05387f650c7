"""What a monitor run reads: data windows as the SDK sets them, the model data collector's hour
partitions as the service's preprocessor filters them, and MLTable folders."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from azure.ai.ml.entities import BaselineDataRange
from fsspec.implementations.local import LocalFileSystem

from accelerator.local._monitoring import _data
from accelerator.local._monitoring._metrics import MonitoringComputationError

UTC = dt.timezone.utc
TRIGGER = dt.datetime(2026, 3, 10, 0, 0, tzinfo=UTC)


def test_trailing_static_and_fixed_windows() -> None:
    trailing = BaselineDataRange(lookback_window_size="P2D", lookback_window_offset="P1D")
    assert _data.window(trailing, TRIGGER) == (
        dt.datetime(2026, 3, 7, tzinfo=UTC),
        dt.datetime(2026, 3, 9, tzinfo=UTC),
    )
    hours = BaselineDataRange(lookback_window_size="PT12H")
    assert _data.window(hours, TRIGGER) == (dt.datetime(2026, 3, 9, 12, tzinfo=UTC), TRIGGER)
    static = BaselineDataRange(window_start="2026-01-01", window_end="2026-01-31")
    assert _data.window(static, TRIGGER) == (
        dt.datetime(2026, 1, 1, tzinfo=UTC),
        dt.datetime(2026, 1, 31, tzinfo=UTC),
    )
    assert _data.window(None, TRIGGER) is None


@pytest.mark.parametrize(
    ("window", "message"),
    [
        (BaselineDataRange(lookback_window_size="7 days"), "ISO 8601 duration"),
        (BaselineDataRange(lookback_window_size="-P1D"), "positive duration"),
        (BaselineDataRange(window_start="2026-01-31", window_end="2026-01-01"), "before it starts"),
        (BaselineDataRange(window_start="2026-01-31"), "both window_start and window_end"),
    ],
)
def test_bad_windows_are_refused(window: BaselineDataRange, message: str) -> None:
    with pytest.raises(MonitoringComputationError, match=message):
        _data.window(window, TRIGGER)


def _write(root: Path, hour: dt.datetime, correlation: str, rows: list[dict]) -> None:
    folder = root / f"{hour:%Y/%m/%d/%H}"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "1.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"data": rows, "correlationid": correlation}) + "\n")


def test_collected_hours_are_kept_from_the_start_hour_to_the_end_hour_both_included(tmp_path: Path) -> None:
    root = tmp_path / "model_inputs"
    _write(root, dt.datetime(2026, 3, 8, 23, tzinfo=UTC), "before", [{"x": 1}])
    _write(root, dt.datetime(2026, 3, 9, 0, tzinfo=UTC), "first", [{"x": 2}, {"x": 3}])
    _write(root, dt.datetime(2026, 3, 9, 17, tzinfo=UTC), "middle", [{"x": 4}])
    _write(root, dt.datetime(2026, 3, 10, 0, tzinfo=UTC), "last", [{"x": 5}])
    _write(root, dt.datetime(2026, 3, 10, 1, tzinfo=UTC), "after", [{"x": 6}])
    span = (dt.datetime(2026, 3, 9, 0, 30, tzinfo=UTC), TRIGGER)
    frame = _data._collected(LocalFileSystem(), root.as_posix(), span, correlation_ids=True)
    assert frame["x"].tolist() == [2, 3, 4, 5]
    assert frame[_data.CORRELATION_ID].tolist() == ["first_0", "first_1", "middle_0", "last_0"]
    assert "correlationid" not in _data._collected(LocalFileSystem(), root.as_posix(), span, False).columns
    assert _data._collected(LocalFileSystem(), root.as_posix(), None, False)["x"].tolist() == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]


def test_mltable_folders_are_read_with_their_one_reader(tmp_path: Path) -> None:
    folder = tmp_path / "table"
    (folder / "parts").mkdir(parents=True)
    pd.DataFrame({"a": [1, 2]}).to_csv(folder / "parts" / "one.csv", index=False)
    pd.DataFrame({"a": [3]}).to_csv(folder / "parts" / "two.csv", index=False)
    (folder / "MLTable").write_text(
        "paths:\n  - pattern: ./parts/*.csv\ntransformations:\n  - read_delimited:\n      delimiter: ','\n"
    )
    assert _data._mltable(LocalFileSystem(), folder.as_posix())["a"].tolist() == [1, 2, 3]
    (folder / "MLTable").write_text(
        "paths:\n  - folder: ./parts\ntransformations:\n  - read_delimited: {}\n  - take: 1\n"
    )
    with pytest.raises(NotImplementedError, match="MLTable transformations"):
        _data._mltable(LocalFileSystem(), folder.as_posix())
