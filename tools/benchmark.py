"""Benchmark: the whole book on the local backend, and the data generator.

    python tools/benchmark.py [--rows 1000000] [--repeat 3]

Prints the time of each notebook (a fresh store, in the book's order, run as `make book` runs
them), the total, and the generator's and the validation's rows per second. Figures, not tests:
nothing here fails on a slow machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from accelerator.data import generate_trips, validate_trips
from tools.notebooks import run_book


def best_of(repeat: int, action) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows generated per timing")
    parser.add_argument("--repeat", type=int, default=3, help="timings per figure (the best is kept)")
    parser.add_argument("--skip-notebooks", action="store_true", help="only time the generator")
    args = parser.parse_args(argv)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")

    if not args.skip_notebooks:
        with tempfile.TemporaryDirectory(prefix="accelerator-benchmark-") as folder:
            total = 0.0
            print("\nnotebook                                   seconds")
            for path, seconds in run_book(Path(folder) / "store", Path(folder) / "executed"):
                total += seconds
                print(f"{path.stem:<40} {seconds:>8.1f}")
            print(f"{'whole book':<40} {total:>8.1f}")

    generate_trips(1_000, seed=0)  # warm up imports and caches
    seconds = best_of(args.repeat, lambda: generate_trips(args.rows, seed=0))
    trips = generate_trips(args.rows, seed=0)
    checked = best_of(args.repeat, lambda: validate_trips(trips))
    print(f"\ngenerate_trips({args.rows:,}): {seconds:.2f} s, {args.rows / seconds:,.0f} rows/s")
    print(f"validate_trips({args.rows:,}): {checked:.2f} s, {args.rows / checked:,.0f} rows/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
