"""The Azure ML component specs: valid for the SDK, and in step with the scripts they run."""

from __future__ import annotations

import importlib
import re
import shlex
import sys

import pytest
from azure.ai.ml import load_component

from .conftest import COMPONENTS, SRC, WORKLOAD

MONITOR = WORKLOAD / "monitor"
MONITOR_COMPONENTS = {"production_data.yaml"}

EXPECTED = {
    # file: (name, is_deterministic)
    "prep.yaml": ("taxi_fare_prep", True),
    "train.yaml": ("taxi_fare_train", True),
    # The decision depends on the registry at run time, so it must never be reused.
    "evaluate.yaml": ("taxi_fare_evaluate", False),
    "register.yaml": ("taxi_fare_register", False),
    # Week 12's monitor calls it with a data window: the same window, the same rows.
    "production_data.yaml": ("taxi_fare_production_data", True),
}
REFERENCE = re.compile(r"\$\{\{(inputs|outputs)\.(\w+)\}\}")
OPTIONAL_PART = re.compile(r"\$\[\[(.*?)\]\]")
PATH_TYPES = {"uri_folder", "uri_file", "mlflow_model", "custom_model", "mltable"}


def test_every_component_file_is_covered() -> None:
    assert sorted(p.name for p in COMPONENTS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.fixture(params=sorted(EXPECTED), scope="module")
def spec(request: pytest.FixtureRequest):
    path = COMPONENTS / request.param
    return path, load_component(source=path)


def test_loads_and_validates(spec) -> None:
    path, component = spec
    result = component._validate()
    assert result.passed, result.error_messages
    name, deterministic = EXPECTED[path.name]
    assert component.name == name
    assert component.version == "1"
    assert component.type == "command"
    assert component.display_name and component.description
    assert component.is_deterministic is deterministic
    assert component.environment == "taxi-train@latest"
    assert "azureml:taxi-train@latest" in path.read_text()


def test_command_references_exactly_the_declared_inputs_and_outputs(spec) -> None:
    _, component = spec
    referenced = {(kind, name) for kind, name in REFERENCE.findall(component.command)}
    declared = {("inputs", name) for name in component.inputs} | {
        ("outputs", name) for name in component.outputs
    }
    assert referenced == declared


def test_optional_inputs_and_only_they_are_in_optional_parts(spec) -> None:
    _, component = spec
    in_optional_parts = {
        name for part in OPTIONAL_PART.findall(component.command) for _, name in REFERENCE.findall(part)
    }
    optional = {name for name, spec_input in component.inputs.items() if spec_input.optional}
    assert in_optional_parts == optional


def _script(path, component):
    """The module the component's command runs, imported from the component's code folder."""
    code = (path.parent / component.code).resolve()
    name = shlex.split(OPTIONAL_PART.sub("", component.command))[1].removesuffix(".py")
    if str(code) not in sys.path:
        sys.path.insert(0, str(code))
    return importlib.import_module(name)


def test_code_is_the_src_folder_with_the_script(spec) -> None:
    path, component = spec
    code = (path.parent / component.code).resolve()
    # The monitor's pre-processing lives beside the training scripts, not among them: the
    # training environment's snapshot stays the same when the monitor changes.
    assert code == (MONITOR if path.name in MONITOR_COMPONENTS else SRC).resolve()
    words = shlex.split(OPTIONAL_PART.sub("", component.command))
    assert words[0] == "python"
    if path.name not in MONITOR_COMPONENTS:
        assert words[1] == f"{path.stem}.py"
    assert (code / words[1]).is_file()


def _sample(component, kind: str, name: str) -> str:
    if kind == "outputs":
        return f"/outputs/{name}"
    spec_input = component.inputs[name]
    if spec_input.type in PATH_TYPES:
        return f"/inputs/{name}"
    if spec_input.default is not None:
        return str(spec_input.default)
    return {"integer": "3", "number": "0.5", "string": "taxi-fare", "boolean": "True"}[spec_input.type]


@pytest.mark.parametrize("with_optional", [True, False], ids=["optional-set", "optional-unset"])
def test_script_accepts_the_command_line(spec, with_optional: bool) -> None:
    """The command, with sample values in place of the references, parses with the script's own parser."""
    path, component = spec
    command = OPTIONAL_PART.sub(r"\1" if with_optional else "", component.command)
    command = REFERENCE.sub(lambda match: _sample(component, *match.groups()), command)
    words = shlex.split(command)
    script = _script(path, component)

    args = script.parse_args(words[2:])

    for name in component.outputs:
        assert str(getattr(args, name)) == f"/outputs/{name}"
    for name, spec_input in component.inputs.items():
        if spec_input.type in PATH_TYPES:
            assert str(getattr(args, name)) == f"/inputs/{name}"
        elif spec_input.optional and not with_optional:
            assert getattr(args, name) == script.build_parser().get_default(name)
        else:
            assert str(getattr(args, name)) == _sample(component, "inputs", name)


def test_defaults_match_the_scripts(spec) -> None:
    path, component = spec
    parser = _script(path, component).build_parser()
    for name, spec_input in component.inputs.items():
        script_default = parser.get_default(name)
        if spec_input.default is not None and script_default is not None:
            assert spec_input.default == script_default, name
