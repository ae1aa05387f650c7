"""The notebook steps of the model's pipelines, read from the workflow files: each papermill command
in job order with its notebook, output and parameters. The rule tests check them; the local CD test
(test_cd_local.py) runs them."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
AZURE_DEVOPS = REPO / ".azure-pipelines"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SHELL_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


@dataclass
class NotebookStep:
    job: str
    name: str
    notebook: str  # relative to the repository, as the command names it
    output: str
    cwd: str | None
    kernel: str | None
    parameters: dict[str, str] = field(default_factory=dict)


def load_github(name: str, folder: Path = WORKFLOWS) -> dict:
    workflow = yaml.safe_load((folder / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def load_azure_devops(name: str, folder: Path = AZURE_DEVOPS) -> dict:
    return yaml.safe_load((folder / name).read_text())


def job_order(jobs: dict[str, dict]) -> list[str]:
    """Jobs in the order they run: each after every job it needs, ties in file order."""
    ordered: list[str] = []
    pending = list(jobs)
    while pending:
        ready = [
            name
            for name in pending
            if all(need in ordered for need in _needs(jobs[name].get("needs") or jobs[name].get("dependsOn")))
        ]
        if not ready:
            raise ValueError(f"jobs that wait for each other or for unknown jobs: {pending}")
        ordered.append(ready[0])
        pending.remove(ready[0])
    return ordered


def _needs(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def papermill_commands(script: str) -> list[str]:
    """The papermill command lines of a script (a folded `>-` block is one line already)."""
    return [line.strip() for line in script.splitlines() if line.strip().startswith("papermill ")]


def parse_papermill(command: str, variables: dict[str, str], job: str, name: str) -> NotebookStep:
    """One papermill command: shell variables expanded from ``variables`` (the step's environment),
    its options read as papermill reads them; anything else is an error, not ignored."""

    def expand(word: str) -> str:
        def value(match: re.Match) -> str:
            if match.group(1) not in variables:
                raise KeyError(f"{job}/{name}: ${match.group(1)} is not set in the step's environment")
            return variables[match.group(1)]

        return SHELL_VARIABLE.sub(value, word)

    words = [expand(word) for word in shlex.split(command)]
    if words[0] != "papermill" or len(words) < 3:
        raise ValueError(f"{job}/{name}: not a papermill command: {command}")
    step = NotebookStep(job, name, words[1], words[2], None, None)
    rest = words[3:]
    while rest:
        option = rest.pop(0)
        if option == "--cwd":
            step.cwd = rest.pop(0)
        elif option in ("-k", "--kernel"):
            step.kernel = rest.pop(0)
        elif option in ("-p", "--parameters"):
            key, value = rest.pop(0), rest.pop(0)
            step.parameters[key] = value
        else:
            raise ValueError(f"{job}/{name}: papermill option {option!r} is not one the pipelines use")
    return step


def resolve(text: str, expressions: Callable[[str], str]) -> str:
    """``${{ expression }}`` replaced by ``expressions(expression)``."""
    return EXPRESSION.sub(lambda m: expressions(m.group(1)), str(text))


def github_notebook_steps(workflow: dict, expressions: Callable[[str], str]) -> list[NotebookStep]:
    """Every papermill step of a GitHub workflow, in job order, with the variables its shell sees
    (workflow, job and step ``env``, expressions resolved by ``expressions``)."""
    jobs = workflow.get("jobs", {})
    found = []
    for job_name in job_order(jobs):
        job = jobs[job_name]
        for index, step in enumerate(job.get("steps", [])):
            commands = papermill_commands(str(step.get("run", "")))
            if not commands:
                continue
            variables = {
                key: resolve(value, expressions)
                for scope in (workflow.get("env", {}), job.get("env", {}), step.get("env", {}))
                for key, value in scope.items()
            }
            for command in commands:
                found.append(parse_papermill(command, variables, job_name, step.get("name", str(index))))
    return found


def azure_devops_steps(stage: dict) -> list[dict]:
    steps = []
    for job in stage.get("jobs", []):
        steps += job.get("steps") or job.get("strategy", {}).get("runOnce", {}).get("deploy", {}).get(
            "steps", []
        )
    return steps


def azure_devops_notebook_steps(pipeline: dict) -> list[NotebookStep]:
    """Every papermill command of an Azure DevOps pipeline, in stage order; pipeline variables and
    the step's env are what its shell sees (`$(name)` macros kept as their name)."""
    stages = {stage["stage"]: stage for stage in pipeline.get("stages", [])}
    variables = {k: str(v) for k, v in (pipeline.get("variables") or {}).items()}
    found = []
    for stage_name in job_order(stages):
        for index, step in enumerate(azure_devops_steps(stages[stage_name])):
            script = step.get("script") or step.get("inputs", {}).get("inlineScript", "")
            env = {**variables, **{k: str(v) for k, v in step.get("env", {}).items()}}
            for command in papermill_commands(str(script)):
                found.append(parse_papermill(command, env, stage_name, step.get("displayName", str(index))))
    return found
