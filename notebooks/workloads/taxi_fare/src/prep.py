"""Prepare taxi trips: features, then a seeded train/validation/test split.

Usage::

    python prep.py --raw_data <folder or .parquet/.csv file> \\
        --train_data <folder> --validation_data <folder> --test_data <folder> \\
        [--seed 42] [--validation_size 0.15] [--test_size 0.15]

``--raw_data`` is a folder of parquet files (searched recursively, so a lake
partitioned like ``month=2026-01/trips.parquet`` works; partition folders do
not become columns), a folder of csv files, or a single .parquet/.csv file.
Each output folder receives ``data.parquet``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from features import DATA_FILE, engineer_features
from tracking import mlflow_run


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(
            f"{value} is not a fraction strictly between 0 and 1"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Feature engineering and a seeded train/validation/test "
        "split of taxi trips."
    )
    parser.add_argument(
        "--raw_data",
        required=True,
        help="folder of .parquet (or .csv) files, or one .parquet/.csv file",
    )
    parser.add_argument("--train_data", required=True, help="output folder")
    parser.add_argument(
        "--validation_data", required=True, help="output folder"
    )
    parser.add_argument("--test_data", required=True, help="output folder")
    parser.add_argument(
        "--seed", type=int, default=42, help="seed of the split (default 42)"
    )
    parser.add_argument(
        "--validation_size",
        type=_fraction,
        default=0.15,
        help="fraction of rows for validation (default 0.15)",
    )
    parser.add_argument(
        "--test_size",
        type=_fraction,
        default=0.15,
        help="fraction of rows for the test set (default 0.15)",
    )
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.validation_size + args.test_size >= 1.0:
        parser.error(
            f"--validation_size ({args.validation_size}) + --test_size "
            f"({args.test_size}) must be below 1, to leave rows for training"
        )
    return args


def _read_file(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path)
    return pd.read_parquet(path)


def read_raw(source: str | Path) -> pd.DataFrame:
    """All rows of a .parquet/.csv file, or of every such file in a folder.

    Files are read one by one (sorted by path), so the folders of a
    hive-partitioned lake (``month=2026-01/``) do not add columns.

    Raises:
        FileNotFoundError: if ``source`` does not exist.
        ValueError: if it holds no data files or no rows.
    """
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"--raw_data {source} does not exist")
    if source.is_dir():
        files = sorted(
            p
            for p in source.rglob("*.parquet")
            if p.is_file() and not p.name.startswith((".", "_"))
        )
        if not files:
            files = sorted(p for p in source.rglob("*.csv") if p.is_file())
        if not files:
            raise ValueError(
                f"--raw_data {source} holds no .parquet or .csv files"
            )
    elif source.suffix.lower() in (".parquet", ".csv"):
        files = [source]
    else:
        raise ValueError(
            f"--raw_data {source} is neither a folder nor a .parquet/.csv file"
        )
    frames = [_read_file(path) for path in files]
    raw = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if raw.empty:
        raise ValueError(f"--raw_data {source} has no rows")
    # Counts only: a job's log is shown in notebooks; its paths vary by run.
    print(f"Read {len(raw)} rows from {len(files)} file(s)")
    return raw


def split_frame(
    frame: pd.DataFrame,
    validation_size: float,
    test_size: float,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A seeded, disjoint train/validation/test split of ``frame``.

    Rows are first sorted by all their values, so the split depends on the
    rows and the seed, not on the order of the input files. The test and
    validation sets get ``round(n * size)`` rows; training gets the rest.
    Each part keeps the row's position in the sorted frame as its index.

    Raises:
        ValueError: if a size is not in (0, 1), the sizes add up to 1 or
            more, or there are too few rows for three non-empty parts.
    """
    for name, size in (
        ("validation_size", validation_size),
        ("test_size", test_size),
    ):
        if not 0.0 < size < 1.0:
            raise ValueError(
                f"{name} must be strictly between 0 and 1, got {size}"
            )
    if validation_size + test_size >= 1.0:
        raise ValueError(
            f"validation_size ({validation_size}) + test_size ({test_size}) "
            "must be below 1"
        )
    ordered = frame.sort_values(
        list(frame.columns), kind="mergesort"
    ).reset_index(drop=True)
    n = len(ordered)
    n_test = round(n * test_size)
    n_validation = round(n * validation_size)
    n_train = n - n_test - n_validation
    if min(n_train, n_validation, n_test) < 1:
        raise ValueError(
            f"{n} row(s) are too few to split into train/validation/test "
            f"with validation_size={validation_size}, test_size={test_size}"
        )
    order = np.random.default_rng(seed).permutation(n)
    test_rows = np.sort(order[:n_test])
    validation_rows = np.sort(order[n_test : n_test + n_validation])
    train_rows = np.sort(order[n_test + n_validation :])
    return (
        ordered.iloc[train_rows],
        ordered.iloc[validation_rows],
        ordered.iloc[test_rows],
    )


def write_split(frame: pd.DataFrame, folder: str | Path) -> Path:
    path = Path(folder) / DATA_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.reset_index(drop=True).to_parquet(path, index=False)
    return path


def main(argv: list[str] | None = None) -> dict[str, int]:
    """Run the step; returns the row counts it logged."""
    args = parse_args(argv)
    raw = read_raw(args.raw_data)
    frame, dropped = engineer_features(raw)
    for reason, count in dropped.items():
        if count:
            print(f"Dropped {count} row(s): {reason.replace('_', ' ')}")
    if frame.empty:
        raise ValueError(
            f"no valid rows left out of {len(raw)} in {args.raw_data} "
            f"(dropped: {dropped})"
        )
    train, validation, test = split_frame(
        frame, args.validation_size, args.test_size, args.seed
    )
    for name, part, folder in (
        ("train", train, args.train_data),
        ("validation", validation, args.validation_data),
        ("test", test, args.test_data),
    ):
        path = write_split(part, folder)
        print(f"Wrote {len(part)} {name} rows to {path.name}")

    counts = {
        "rows_raw": len(raw),
        "rows_valid": len(frame),
        **{f"rows_dropped_{reason}": n for reason, n in dropped.items()},
        "rows_train": len(train),
        "rows_validation": len(validation),
        "rows_test": len(test),
    }
    try:
        with mlflow_run():
            mlflow.log_params(
                {
                    "seed": args.seed,
                    "validation_size": args.validation_size,
                    "test_size": args.test_size,
                }
            )
            mlflow.log_metrics(counts)
    except Exception as error:  # the data is written; logging is a bonus
        print(f"warning: could not log to MLflow ({error})", file=sys.stderr)
    return counts


if __name__ == "__main__":
    main()
