"""Shared by the design tests: a copy of the repository's design/ folder to break, and line lookups."""

from __future__ import annotations

import shutil
from pathlib import Path

from accelerator import design

DESIGN = Path(__file__).resolve().parents[2] / "design"


def copy_design(tmp_path: Path) -> Path:
    """A copy of design/ named ``design``, as errors name files by their folder."""
    folder = tmp_path / "design"
    shutil.copytree(DESIGN, folder)
    return folder


def edit(folder: Path, file: str, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) by ``new`` in one file of the design."""
    path = folder / file
    text = path.read_text()
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1))


def line_of(folder: Path, file: str, text: str, after: str | None = None) -> int:
    """The 1-based line of the first line containing ``text`` (after the line containing ``after``)."""
    lines = (folder / file).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines) if i >= start and text in line) + 1


def problems(folder: Path) -> list[str]:
    """Every problem loading ``folder`` reports, as ``file:line: message`` strings."""
    try:
        design.load_inputs(folder)
    except design.DesignError as error:
        return [str(p) for p in error.problems]
    raise AssertionError("the design loaded without errors")
