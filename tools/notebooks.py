"""Run the book's notebooks in order with papermill, on the local backend.

    python tools/notebooks.py                 # execute in place (committed outputs), fresh store
    python tools/notebooks.py --output DIR    # execute into DIR, leave the notebooks untouched
    python tools/notebooks.py --stage DIR     # DIR becomes a copy of the book's sources with the
                                              # notebooks executed there: `make book` builds it

The order is the order of ``_toc.yml``. Papermill's timing metadata is removed afterwards, and job
names are drawn from a seeded generator (``ACCELERATOR_JOB_NAME_SEED``), so a re-run with the same
parameters on a fresh store changes nothing that git would see.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import papermill
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def notebooks_in_order() -> list[Path]:
    """The notebooks listed in _toc.yml, in reading order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    found: list[Path] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            entry = node.get("file")
            if isinstance(entry, str) and entry.startswith("notebooks/"):
                found.append(ROOT / f"{entry}.ipynb")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return found


def normalise(path: Path) -> None:
    """Make an executed notebook the same on every run.

    Papermill's per-run metadata (timestamps, durations) goes, and consecutive prints to the same
    stream become one output: how the kernel splits them depends on timing.
    """
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata.pop("papermill", None)
    for cell in notebook.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    nbformat.write(notebook, path)


def merge_streams(outputs: list) -> list:
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            output.get("output_type") == "stream"
            and previous is not None
            and previous.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            previous["text"] += output["text"]
        else:
            merged.append(output)
    return merged


def execute(path: Path, output: Path, parameters: dict | None = None) -> float:
    """Execute one notebook with papermill from the notebooks folder; return the seconds it took."""
    started = time.perf_counter()
    papermill.execute_notebook(
        str(path),
        str(output),
        parameters=parameters or {},
        cwd=str(NOTEBOOKS),
        kernel_name="python3",
        progress_bar=False,
        request_save_on_cell_execute=False,
    )
    normalise(output)
    return time.perf_counter() - started


# What the book is built from (with _toc.yml's pages): the rest of the checkout stays out of a stage.
BOOK_SOURCES = ["_config.yml", "_toc.yml", "book", "notebooks"]
JOB_NAME_SEED = "book"
# make test: the store nbval's first run of the book leaves for the in-order test's second run
# (conftest.py), and the marker saying that run was complete and passed.
NBVAL_STORE = "ACCELERATOR_NBVAL_STORE"
NBVAL_MARKER = ".nbval-passed"


def stage(target: Path) -> Path:
    """Copy the book's sources into ``target`` (emptied first); return its notebooks folder.

    ``make book`` executes the notebooks into this copy and builds the HTML from it, so reading the
    book leaves the checkout as it was (``git status`` clean).
    """
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")
    for name in BOOK_SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    return target / "notebooks"


def run_book(
    store: Path, output: Path | None = None, until: str | None = None
) -> Iterator[tuple[Path, float]]:
    """Execute every notebook in order on a fresh local ``store``: in place, or into ``output``.

    With ``until`` (a notebook's name), stop after that notebook. Yields each notebook and the
    seconds it took, as it finishes.
    """
    order = notebooks_in_order()
    if until is not None:
        names = [path.stem for path in order]
        if until not in names:
            raise SystemExit(f"--until {until}: not a notebook of _toc.yml ({', '.join(names)})")
        order = order[: names.index(until) + 1]
    # A fresh store, so the outputs are those of a first run; the user's own .accelerator/ is untouched.
    shutil.rmtree(store, ignore_errors=True)
    os.environ["ACCELERATOR_HOME"] = str(store.resolve())
    os.environ["ACCELERATOR_BACKEND"] = "local"
    # The same job names on every run of the book: its outputs are committed (accelerator/local/_names.py).
    os.environ.setdefault("ACCELERATOR_JOB_NAME_SEED", JOB_NAME_SEED)
    if output:
        output.mkdir(parents=True, exist_ok=True)
    try:
        for path in order:
            yield path, execute(path, (output / path.name) if output else path)
    finally:
        # Schedules the book leaves enabled keep the store's scheduler running: make book leaves none.
        from accelerator.local._scheduling._scheduler import stop

        stop(store.resolve())
        # Week 11 leaves prod's endpoint serving for week 12: no process outlives the run; the
        # endpoint starts again on its next invoke.
        from accelerator.local import stop_endpoints

        stop_endpoints(store)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--output", type=Path, help="write executed copies here instead of in place")
    where.add_argument(
        "--stage", type=Path, help="copy the book's sources here and execute the notebooks in the copy"
    )
    parser.add_argument(
        "--store", type=Path, default=ROOT / "_build" / "store", help="the local store to use (emptied first)"
    )
    parser.add_argument("--until", help="stop after this notebook (its name, e.g. 08_track_and_train)")
    args = parser.parse_args(argv)
    total = 0.0
    output = stage(args.stage) if args.stage else args.output
    for path, seconds in run_book(args.store, output, args.until):
        total += seconds
        print(f"{path.relative_to(ROOT)}: {seconds:.1f} s", flush=True)
    print(f"all notebooks: {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
