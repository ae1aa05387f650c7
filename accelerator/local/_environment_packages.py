"""The packages an environment declares, checked against the Python that will run it.

On Azure ML an environment's conda file is built into its image, so a job never starts without a
package its environment declares. The local backend runs jobs in this machine's Python (and
deployments in the inference environment's), and does not build environments: it refuses, at
submission, an environment declaring a package that Python lacks, naming each one and how to
install it. It does not install anything itself: a job's packages would then depend on the
network at run time, and an install into the shared environment could break the backend's own
pins (azure-ai-ml, MLflow). A declared version that differs from the installed one gets a
warning, not a refusal: the package is there, and public samples pin versions years old.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from accelerator.local._exceptions import LocalBackendUnsupportedError

# Azure ML's own packages that only connect a job or server to the service (MLflow tracking to
# the workspace, the image's defaults): the local backend provides what they do, so they need not
# be installed here.
PROVIDED = frozenset(
    canonicalize_name(n)
    for n in ("azureml-mlflow", "azureml-defaults", "azureml-inference-server-http", "azureml-ai-monitoring")
)
# Conda entries that are not Python packages, or whose Python distribution has another name.
_CONDA_SKIPPED = frozenset({"python", "pip", "conda", "setuptools", "wheel"})
_CONDA_NAMES = {"pytorch": "torch", "py-xgboost": "xgboost", "tensorflow-gpu": "tensorflow"}
_GPU = frozenset({"cudatoolkit", "cudnn", "pytorch-cuda", "nvidia-cuda-runtime-cu12", "cupy"})


def declared(conda_file: Any) -> list[Requirement]:
    """The requirements of a conda specification (its conda and pip dependencies)."""
    spec = yaml.safe_load(conda_file) if isinstance(conda_file, str) else conda_file
    if not spec:
        return []
    if not isinstance(spec, dict) or not isinstance(spec.get("dependencies") or [], list):
        raise LocalBackendUnsupportedError(
            "conda files that are not a conda environment specification",
            "Give a mapping with a 'dependencies' list.",
        )
    found: list[Requirement] = []
    for entry in spec.get("dependencies") or []:
        if isinstance(entry, dict):
            for line in entry.get("pip") or []:
                found.extend(_pip(str(line)))
        else:
            found.extend(_conda(str(entry)))
    return found


def _pip(line: str) -> list[Requirement]:
    text = line.split("#", 1)[0].strip()
    if not text or text.startswith("-"):  # index options (--extra-index-url ...) install nothing here
        if text.startswith(("-r", "--requirement", "-e", "--editable")):
            raise LocalBackendUnsupportedError(
                f"pip entries like '{text}' in conda files", "List the packages themselves."
            )
        return []
    try:
        return [Requirement(text)]
    except InvalidRequirement:
        raise LocalBackendUnsupportedError(
            f"pip dependencies that are not package requirements ('{text}')",
            "List packages by name and version, as on PyPI.",
        ) from None


def _conda(entry: str) -> list[Requirement]:
    text = entry.split("::", 1)[-1].strip()  # channel::package
    name, operator, version = text, "", ""
    for candidate in ("==", ">=", "<=", "!=", ">", "<", "="):
        if candidate in text:
            name, _, version = text.partition(candidate)
            operator = candidate
            break
    name = name.strip()
    if name.lower() in _CONDA_SKIPPED:
        return []
    if name.lower() in _GPU:
        raise LocalBackendUnsupportedError(f"GPU environments (conda package '{name}')")
    name = _CONDA_NAMES.get(name.lower(), name)
    version = version.strip().split(" ", 1)[0].split("=", 1)[0]  # drop a conda build string
    if operator == "=":  # conda's 'name=1.2' means any 1.2.x
        spec = f"=={version.rstrip('.*')}.*" if version else ""
    else:
        spec = f"{operator}{version}" if version else ""
    try:
        return [Requirement(f"{name}{spec}")]
    except InvalidRequirement:
        return [Requirement(name)]


@functools.lru_cache(maxsize=8)
def installed(python: str | None = None) -> dict[str, str]:
    """{canonical name: version} of the distributions ``python`` (default: this one) can import."""
    if python is None or Path(python) == Path(sys.executable):
        found = importlib.metadata.distributions()
        return {canonicalize_name(d.metadata["Name"]): d.version for d in found if d.metadata["Name"]}
    listing = subprocess.run(
        [
            python,
            "-c",
            "import importlib.metadata as m, json; print(json.dumps({d.metadata['Name']: d.version "
            "for d in m.distributions() if d.metadata['Name']}))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {canonicalize_name(k): v for k, v in json.loads(listing.stdout).items()}


def check(conda_file: Any, what: str, python: str | None = None, install_hint: str = "") -> None:
    """Refuse ``what`` (an environment, named in messages) when ``python`` lacks a declared package."""
    packages = installed(python)
    missing: list[str] = []
    differing: list[str] = []
    for requirement in declared(conda_file):
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        if name in PROVIDED:
            continue
        version = packages.get(name)
        if version is None:
            missing.append(str(requirement))
            continue
        try:
            satisfied = not requirement.specifier or requirement.specifier.contains(
                Version(version), prereleases=True
            )
        except InvalidVersion:
            satisfied = True
        if not satisfied:
            differing.append(f"{requirement} (installed: {version})")
    if missing:
        quoted = " ".join(f"'{m}'" for m in missing)
        raise LocalBackendUnsupportedError(
            f"building environments: {what} declares packages this machine's Python does not have "
            f"({', '.join(missing)})",
            install_hint.format(packages=quoted)
            or f"Install them where the local backend runs ({sys.executable} -m pip install {quoted}), "
            "then submit again.",
        )
    if differing:
        warnings.warn(
            f"{what} declares versions that differ from those installed here, which the local backend "
            f"runs with: {'; '.join(differing)}.",
            stacklevel=3,
        )
