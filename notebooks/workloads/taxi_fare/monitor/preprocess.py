"""Model monitoring's pre-processing component for the team's own data.

The contract is Azure ML's ("Set up model monitoring by bringing your
production data to Azure Machine Learning",
how-to-monitor-model-performance): inputs ``data_window_start`` and
``data_window_end`` (ISO 8601) and ``input_data`` (a folder), output
``preprocessed_input_data`` (an MLTable). The folder holds parquet files
partitioned by day (``day=<yyyy-mm-dd>/``), each row with a ``timestamp``;
the window keeps start <= timestamp < end.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

TIMESTAMP = "timestamp"


def window_rows(folder: Path, start: str, end: str) -> pd.DataFrame:
    """The rows of the parquet files under ``folder`` in [start, end)."""
    files = sorted(folder.rglob("*.parquet"))
    if not files:
        raise SystemExit(f"No parquet files under {folder}.")
    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    if TIMESTAMP not in frame.columns:
        raise SystemExit(f"The production data has no '{TIMESTAMP}' column.")
    stamps = pd.to_datetime(frame[TIMESTAMP], utc=True)
    low, high = pd.Timestamp(start), pd.Timestamp(end)
    low = low.tz_localize("UTC") if low.tzinfo is None else low
    high = high.tz_localize("UTC") if high.tzinfo is None else high
    return frame[(stamps >= low) & (stamps < high)].reset_index(drop=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_window_start", required=True)
    parser.add_argument("--data_window_end", required=True)
    parser.add_argument("--input_data", type=Path, required=True)
    parser.add_argument("--preprocessed_input_data", type=Path, required=True)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    rows = window_rows(
        args.input_data, args.data_window_start, args.data_window_end
    )
    out = args.preprocessed_input_data
    out.mkdir(parents=True, exist_ok=True)
    rows.to_parquet(out / "data.parquet", index=False)
    (out / "MLTable").write_text(
        "paths:\n  - file: ./data.parquet\ntransformations:\n  - read_parquet\n"
    )
    window = f"{args.data_window_start} to {args.data_window_end}"
    print(f"{len(rows)} rows from {window}")


if __name__ == "__main__":
    main()
