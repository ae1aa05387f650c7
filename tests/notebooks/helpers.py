"""Shared by the notebook tests: execute notebooks of the book into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import nbformat

from tools.notebooks import NOTEBOOKS, execute

ORDER = ["00_start_here", "05_create_workspaces", "06_connect_and_validate", "07_land_and_version_data"]


def run(name: str, output_dir: Path, **parameters: object) -> nbformat.NotebookNode:
    """Execute one notebook with papermill; return the executed notebook."""
    output_dir.mkdir(parents=True, exist_ok=True)
    output = output_dir / f"{name}.ipynb"
    execute(NOTEBOOKS / f"{name}.ipynb", output, parameters)
    return nbformat.read(output, as_version=4)


def text_of(notebook: nbformat.NotebookNode) -> str:
    """Everything the notebook printed or displayed as text."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                parts.append(output["text"])
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def outputs_of(notebook: nbformat.NotebookNode) -> list[list[dict]]:
    """Each code cell's outputs, without execution counts and pictures (compared as text)."""
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            data = {k: v for k, v in output.get("data", {}).items() if not k.startswith("image/")}
            outputs.append({"type": output.output_type, "text": output.get("text"), "data": data})
        cells.append(outputs)
    return cells
