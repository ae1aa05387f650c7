"""Shared by the notebook tests: execute notebooks of the book into a temporary folder."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import nbformat

from tools.notebooks import NOTEBOOKS, execute

ORDER = [
    "00_start_here",
    "01_kickoff_and_roles",
    "02_maturity_and_delivery",
    "03_architecture_choices",
    "04_security_access_cost",
    "05_create_workspaces",
    "06_connect_and_validate",
    "07_land_and_version_data",
    "08_track_and_train",
    "09_training_pipeline",
    "10_deploy_online",
    "10b_score_in_batch",
    "11_promote_to_test_and_prod",
    "12_monitor_and_retrain",
]
SANITIZE = Path(__file__).resolve().parents[1] / "nbval_sanitize.cfg"


def _sanitizers() -> list[tuple[re.Pattern[str], str]]:
    """The nbval sanitizers (regex, replacement), so reruns are compared as nbval compares them."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(SANITIZE)
    return [(re.compile(parser[s]["regex"]), parser[s]["replace"]) for s in parser.sections()]


def sanitized(text: str | None) -> str | None:
    if text is None:
        return None
    for pattern, replacement in _sanitizers():
        text = pattern.sub(replacement, text)
    return text


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
            data = output.get("data", {})
            parts.append(data.get("text/markdown") or data.get("text/plain", ""))
    return "\n".join(parts)


def outputs_of(notebook: nbformat.NotebookNode) -> list[list[dict]]:
    """Each code cell's outputs, without execution counts and pictures, sanitized as nbval does."""
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            data = {
                k: sanitized(v if isinstance(v, str) else "".join(v))
                for k, v in output.get("data", {}).items()
                if not k.startswith("image/")
            }
            text = output.get("text")
            outputs.append({"type": output.output_type, "text": sanitized(text), "data": data})
        cells.append(outputs)
    return cells


def processes_of(store: Path) -> list[str]:
    """Command lines of live processes serving from ``store``: endpoint gateways name its folder,
    scoring servers have their model folder under it in AZUREML_MODEL_DIR."""
    import psutil

    # Not this test's own ancestors: `make test` names nbval's store in the shell that runs it.
    ours = {process.pid for process in [psutil.Process(), *psutil.Process().parents()]}
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if process.pid in ours or process.status() == psutil.STATUS_ZOMBIE:
                continue
            command = " ".join(process.info["cmdline"] or [])
            if str(store) in command or process.environ().get("AZUREML_MODEL_DIR", "").startswith(str(store)):
                found.append(command)
        except psutil.Error:
            continue
    return found
