"""Benchmark: the whole book on the local backend, and the data generator.

    python tools/benchmark.py [--rows 1000000] [--repeat 3]

Prints the time of each notebook (a fresh store, in the book's order, run as `make book` runs
them) beside its floor, the total, and the generator's and the validation's rows per second.
The floor is what any notebook pays before its own work: a kernel started by papermill that imports
what the weeks import (the SDK, pandas, matplotlib, the accelerator), measured in the same run.
Figures, not tests: nothing here fails on a slow machine.
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

import nbformat

from accelerator.data import generate_trips, validate_trips
from tools.notebooks import execute, run_book

# What a week's first cells import before any result (weeks 5-12).
FLOOR_IMPORTS = (
    "import matplotlib.pyplot, pandas\n"
    "from azure.ai.ml import MLClient, Input, command\n"
    "from azure.ai.ml.entities import ManagedOnlineEndpoint, Model\n"
    "from accelerator import connect"
)


def notebook_floor(folder: Path, repeat: int) -> float:
    """The best time papermill takes to run a notebook that only imports (kernel start included)."""
    path = folder / "floor.ipynb"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FLOOR_IMPORTS)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    return min(execute(path, folder / "floor-out.ipynb") for _ in range(repeat))


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
            floor = notebook_floor(Path(folder), args.repeat)
            total, count = 0.0, 0
            print(f"\n{'notebook':<40} {'seconds':>8} {'floor':>8}")
            for path, seconds in run_book(Path(folder) / "store", Path(folder) / "executed"):
                total, count = total + seconds, count + 1
                print(f"{path.stem:<40} {seconds:>8.1f} {floor:>8.1f}")
            print(f"{'whole book':<40} {total:>8.1f} {floor * count:>8.1f}")
            print("floor: a kernel started by papermill importing the SDK, pandas and matplotlib")

    generate_trips(1_000, seed=0)  # warm up imports and caches
    seconds = best_of(args.repeat, lambda: generate_trips(args.rows, seed=0))
    trips = generate_trips(args.rows, seed=0)
    checked = best_of(args.repeat, lambda: validate_trips(trips))
    print(f"\ngenerate_trips({args.rows:,}): {seconds:.2f} s, {args.rows / seconds:,.0f} rows/s")
    print(f"validate_trips({args.rows:,}): {checked:.2f} s, {args.rows / checked:,.0f} rows/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
