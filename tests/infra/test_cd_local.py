"""The CD workflow itself, executed on the local backend: its notebook steps taken from
.github/workflows/model-cd.yml in job order, with their parameters (backend set to local, the
approving reviewer mapped to the person the RACI makes accountable), run as the workflow runs them
(papermill, from notebooks/) after the book's earlier notebooks on a fresh store. A change to the
workflow's steps, their order or their parameters is tested here, not only its syntax.

A step whose notebook does not exist yet is skipped with a warning that names it; the test fails
if no step ran."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import psutil
import pytest
from pipeline_steps import REPO, NotebookStep, github_notebook_steps, load_github

from tools.notebooks import NOTEBOOKS, execute, notebooks_in_order

PAPERMILL = Path(sys.executable).with_name("papermill")
APPROVER_OUTPUT = "steps.approval.outputs.approver"
REGISTRY_MODEL = "azureml://registries/mlr-taxi/models/taxi-fare/versions/"


def release_approver() -> str:
    """Who approves on GitHub, locally: the first person holding the RACI's Accountable role for
    releases (week 11's rule; design/raci.yaml and design/team.yaml)."""
    from accelerator import design
    from accelerator.design.approval import approvers

    _role, _title, people = approvers(design.load_inputs(REPO / "design"))
    return people[0]


def local_value(expression: str) -> str:
    """What a `${{ }}` expression of the workflow stands for here. Only the approver reaches a
    notebook; anything else that would is reported, never guessed."""
    if expression == APPROVER_OUTPUT:
        try:
            return release_approver()
        except ImportError:  # week 11's approval rule is not in this checkout
            return f"<not available locally: {expression} (accelerator.design.approval)>"
    return f"<not available locally: {expression}>"


def text_of(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def injected(notebook: nbformat.NotebookNode) -> str:
    return "".join(
        "".join(cell.source)
        for cell in notebook.cells
        if "injected-parameters" in cell.get("metadata", {}).get("tags", [])
    )


def store_processes(store: Path) -> list[psutil.Process]:
    """Processes serving from ``store`` (gateways name it, scoring servers' models are under it)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            command = " ".join(process.info["cmdline"] or [])
            if str(store) in command or process.environ().get("AZUREML_MODEL_DIR", "").startswith(str(store)):
                found.append(process)
        except psutil.Error:
            continue
    return found


@pytest.fixture
def local_store(tmp_path, monkeypatch):
    """A fresh store and the local backend for the notebooks' kernels; whatever the steps leave
    serving from it (endpoints stay up after a release, as on Azure) is stopped afterwards."""
    store = tmp_path / "store"
    monkeypatch.setenv("ACCELERATOR_HOME", str(store))
    monkeypatch.setenv("ACCELERATOR_BACKEND", "local")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    for variable in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.delenv(variable, raising=False)
    yield store
    try:  # the local backend's own shutdown of the endpoints it serves from this store
        from accelerator.local import stop_endpoints

        stop_endpoints(store)
    except ImportError:
        pass
    left = store_processes(store)
    for process in left:
        try:
            process.terminate()
        except psutil.Error:
            continue
    psutil.wait_procs(left, timeout=15)


def command_for(step: NotebookStep, output: Path) -> list[str]:
    """The step's papermill command as the workflow gives it, the backend local, the output here."""
    assert step.parameters.get("backend") == "azure", f"{step.job}/{step.name} does not run on Azure"
    command = [str(PAPERMILL), step.notebook, str(output)]
    if step.cwd:
        command += ["--cwd", step.cwd]
    if step.kernel:
        command += ["-k", step.kernel]
    for key, value in {**step.parameters, "backend": "local"}.items():
        assert "<not available locally" not in value, f"{step.job}/{step.name}: -p {key} {value}"
        command += ["-p", key, value]
    return command


def test_the_cd_workflow_runs_on_the_local_backend(local_store, tmp_path):
    steps = github_notebook_steps(load_github("model-cd.yml"), local_value)
    assert steps, "model-cd.yml has no papermill steps"
    # The prerequisites: before each step, the book's notebooks that come before the step's own
    # and are not steps themselves (weeks 0-8 before week 9, week 10 before week 11), in order, on
    # the fresh store, as a team has run them before its first release.
    book = [path.stem for path in notebooks_in_order()]
    step_notebooks = {Path(step.notebook).stem for step in steps}
    prerequisites = tmp_path / "prerequisites"
    prerequisites.mkdir()
    done: set[str] = set()

    def prepare(notebook: str) -> None:
        for name in book[: book.index(notebook)] if notebook in book else []:
            if name not in done and name not in step_notebooks:
                execute(NOTEBOOKS / f"{name}.ipynb", prerequisites / f"{name}.ipynb")
                done.add(name)

    evidence = tmp_path / "evidence"
    ran, skipped = [], []
    for step in steps:
        if not (REPO / step.notebook).exists():
            skipped.append(step)
            warnings.warn(
                f"CD step {step.job}/{step.name!r} skipped: {step.notebook} does not exist yet",
                stacklevel=1,
            )
            continue
        prepare(Path(step.notebook).stem)
        output = evidence / Path(step.output).name
        output.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            command_for(step, output),
            cwd=REPO,
            env=dict(os.environ),
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"{step.job}/{step.name} failed:\n{result.stderr[-4000:]}"
        notebook = nbformat.read(output, as_version=4)
        parameters = injected(notebook)
        assert 'backend = "local"' in parameters
        for key, value in step.parameters.items():
            if key != "backend":
                assert f"{key} = " in parameters and value in parameters, (key, value, parameters)
        ran.append((step, text_of(notebook)))

    assert ran, f"no step of the CD ran: {[s.notebook for s in skipped]} do not exist"
    outputs = {Path(step.notebook).stem + ":" + step.parameters.get("stage", ""): text for step, text in ran}
    # Week 9 in dev, after weeks 0-8: the first model becomes the champion, the worse one is
    # blocked, the sweep's best is promoted (the same figures as the book's own first run).
    training = outputs["09_training_pipeline:"]
    assert "PROMOTE: challenger vs no champion" in training
    assert "BLOCK: challenger vs champion v1" in training
    assert "versions: [1, 2]; champion: version 2" in training
    if "11_promote_to_test_and_prod:share" in outputs:
        # Week 11's share stage, dev's identity: the champion and its environment into the registry,
        # nothing deployed.
        sharing = outputs["11_promote_to_test_and_prod:share"]
        assert f"model: {REGISTRY_MODEL}2" in sharing and "same files as dev: True" in sharing
        assert "test serves:" not in sharing and "approved by" not in sharing
    if "11_promote_to_test_and_prod:test" in outputs:
        # Week 11's test stage: the registry's champion (shared by the stage before) served in test,
        # the acceptance tests passed.
        promoting = outputs["11_promote_to_test_and_prod:test"]
        assert "11_promote_to_test_and_prod:share" in outputs, "test ran before anything was shared"
        assert f"test serves: {REGISTRY_MODEL}2" in promoting
        assert "9 acceptance tests on taxi-fare-test:" in promoting and "failed:" not in promoting
    if "11_promote_to_test_and_prod:prod" in outputs:
        # The prod stage, approved by the reviewer the workflow passes: prod serves the registry's model.
        releasing = outputs["11_promote_to_test_and_prod:prod"]
        assert f"approved by {release_approver()}" in releasing
        assert f"prod serves: {REGISTRY_MODEL}2" in releasing
    assert sorted(path.name for path in evidence.iterdir()) == sorted(Path(s.output).name for s, _ in ran)
