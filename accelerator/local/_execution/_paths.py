"""Where a job's inputs are read from and its outputs written to, on this machine.

Inputs and outputs live in datastores. A folder datastore's files are used in place (as a mount);
a blob datastore's (Azurite) are downloaded before the job and its outputs uploaded after it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fsspec.implementations.local import LocalFileSystem

from accelerator.local._execution._records import PRIMITIVE_TYPES, JobRecords
from accelerator.local._execution._spec import InputSpec, OutputSpec
from accelerator.local._storage import datastore_filesystem, parse_datastore_uri

FILE_TYPES = ("uri_file",)

# The server expressions an output path may hold (learn.microsoft.com/azure/machine-learning/
# concept-expressions): ${{name}} is the job's name (a step's own name in a pipeline),
# ${{output_name}} the output's, ${{default_datastore}} the pipeline's or workspace's default.
_EXPRESSION = re.compile(r"\$\{\{\s*(name|output_name|default_datastore)\s*\}\}")


def expand_output_path(uri: str, values: dict[str, str]) -> str:
    """``uri`` with the expressions that ``values`` gives replaced; any other is left for later."""
    return _EXPRESSION.sub(lambda m: values.get(m[1], m[0]), uri)


def _datastore_path(workspace_dir: Path, uri: str) -> tuple[Any, str]:
    parsed = parse_datastore_uri(uri)
    if parsed is None:
        raise ValueError(f"'{uri}' is not a datastore path.")
    found = datastore_filesystem(workspace_dir, parsed.datastore)
    if found is None:
        raise ValueError(f"Datastore '{parsed.datastore}' of '{uri}' does not exist in this workspace.")
    fs, root = found
    return fs, f"{root}/{parsed.path}".rstrip("/")


def materialise_input(
    workspace_dir: Path, records: JobRecords, spec: InputSpec | None, job_folder: Path, name: str
) -> str | None:
    """The local path (or literal value) the command sees for one input."""
    if spec is None:
        return None
    if "value" in spec:
        return None if spec["value"] is None else str(spec["value"])
    if "local" in spec:
        return spec["local"]
    uri = spec.get("uri")
    if "job_output" in spec:
        producer, output = spec["job_output"]
        uri = records.get(producer)["outputs"][output]["uri"]
    fs, path = _datastore_path(workspace_dir, uri)
    if not fs.exists(path):
        raise FileNotFoundError(f"Input '{name}' points to '{uri}', which does not exist.")
    if isinstance(fs, LocalFileSystem):
        return path
    target = job_folder / "inputs" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    fs.get(path, str(target), recursive=fs.isdir(path))
    return str(target)


def output_target(workspace_dir: Path, spec: OutputSpec, job_folder: Path, name: str) -> str:
    """The local path an output is written to: in place in a folder datastore, else a staging folder."""
    if spec["type"] in PRIMITIVE_TYPES:
        local_file = job_folder / "outputs" / name
        local_file.parent.mkdir(parents=True, exist_ok=True)
        return str(local_file)
    fs, path = _datastore_path(workspace_dir, spec["uri"])
    if not isinstance(fs, LocalFileSystem):
        path = str(job_folder / "outputs" / name)
    local = Path(path)
    if spec["type"] in FILE_TYPES:
        local.parent.mkdir(parents=True, exist_ok=True)
    else:
        local.mkdir(parents=True, exist_ok=True)
    return str(local)


def publish_output(workspace_dir: Path, spec: OutputSpec, local: str) -> None:
    """Upload a staged output to its blob datastore; a folder datastore's output is already there."""
    if spec["type"] in PRIMITIVE_TYPES:
        return
    fs, path = _datastore_path(workspace_dir, spec["uri"])
    if isinstance(fs, LocalFileSystem):
        return
    if Path(local).exists():
        fs.put(local, path, recursive=Path(local).is_dir())


def primitive_value(local: str, name: str) -> str:
    """The value a step wrote for primitive output ``name``, as text (mldesigner writes ``str(value)``
    to the path it is given, or to ``<path>/output`` when the path is a folder)."""
    path = Path(local)
    if path.is_dir():
        path = path / "output"
    if not path.is_file():
        raise ValueError(f"the job did not write a value for its output '{name}' (to {local}).")
    return path.read_text(encoding="utf-8").removesuffix("\n")


def local_output(workspace_dir: Path, spec: OutputSpec) -> tuple[Any, str]:
    """The filesystem and path of a finished job's output, for downloads and model registration."""
    return _datastore_path(workspace_dir, spec["uri"])


def default_output_uri(prefix: str, job: str, output: str) -> str:
    """Azure ML's default output location, ``<default datastore>/azureml/<job>/<output>``.

    ``prefix`` is the ``azureml://`` URI of ``azureml/`` in the default datastore, kept in the record
    of the job that submits children.
    """
    return f"{prefix.rstrip('/')}/{job}/{output}"


def child_outputs(prefix: str, job: str, specs: Mapping[str, OutputSpec]) -> dict[str, OutputSpec]:
    """A step's or trial's outputs: where the spec says, else at the default location for ``job``."""
    return {
        name: {"type": spec["type"], "uri": None}
        if spec["type"] in PRIMITIVE_TYPES
        else {
            "type": spec["type"],
            "uri": expand_output_path(spec["uri"], {"name": job, "output_name": name})
            if spec.get("uri")
            else default_output_uri(prefix, job, name),
        }
        for name, spec in specs.items()
    }
