"""Every notebook follows the book's conventions (DESIGN.md section 4)."""

from __future__ import annotations

import re

import nbformat
import pytest
from helpers import ORDER

from tools.notebooks import NOTEBOOKS

PRIVATE = re.compile(r"(/root/|/home/\w+|/tmp/|/work/|/Users/|[A-Z]:\\\\|/opt/|AccountKey=|0x[0-9a-f]{8,})")


@pytest.fixture(params=ORDER)
def notebook(request):
    return nbformat.read(NOTEBOOKS / f"{request.param}.ipynb", as_version=4)


def test_first_code_cell_is_tagged_parameters(notebook):
    first = next(c for c in notebook.cells if c.cell_type == "code")
    assert "parameters" in first.metadata.get("tags", [])


def test_opens_with_purpose_role_and_prerequisites_and_ends_with_a_checklist(notebook):
    opening = notebook.cells[0].source
    assert opening.startswith("# ")
    assert "**What this notebook achieves.**" in opening
    assert "**Who.**" in opening
    assert "**Prerequisites.**" in opening
    assert notebook.cells[-1].source.startswith("## Checklist")


def test_no_branching_on_the_backend(notebook):
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    for forbidden in ("LocalMLClient", "isinstance(ml_client", "backend ==", "backend !=", "if local"):
        assert forbidden not in code


def test_committed_outputs_are_clean(notebook):
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert any(c.outputs for c in code_cells), "outputs must be committed for nbval"
    for cell in code_cells:
        for output in cell.outputs:
            assert output.output_type != "error"
            assert not PRIVATE.search(str(output)), str(output)[:200]


# A cell the reader sees shows one step; a longer one belongs in the workload's code
# (shown with literalinclude) or in a hidden prerequisites cell.
VISIBLE_CELL_LINES = 40


def test_visible_code_cells_are_short(notebook):
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or "hide-input" in cell.metadata.get("tags", []):
            continue
        lines = len(cell.source.splitlines())
        assert lines <= VISIBLE_CELL_LINES, f"cell {index}: {lines} lines"


def test_no_formatter_or_linter_comments_in_the_code_a_reader_sees(notebook):
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            for marker in ("# fmt:", "# noqa", "# type: ignore"):
                assert marker not in cell.source, f"cell {index}: {marker}"
