"""Fixtures for the infrastructure checks: where infra/ is, and the terraform and checkov programs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


@pytest.fixture(scope="session")
def terraform() -> str:
    """The terraform program: the tests need it installed (it is not a Python package)."""
    found = shutil.which("terraform")
    if found is None:
        pytest.fail(
            "terraform is not on PATH. Install Terraform 1.9 or newer "
            "(https://developer.hashicorp.com/terraform/install) to run the infrastructure checks."
        )
    return found


@pytest.fixture(scope="session")
def checkov() -> str:
    """checkov from its own virtual environment, which `make test` (or `make checkov`) builds."""
    if not os.access(CHECKOV, os.X_OK):
        pytest.fail(
            f"checkov is not installed at {CHECKOV.relative_to(REPO)}: run `make checkov` "
            "(make test does) to create .venv-checkov from requirements-checkov.txt."
        )
    return str(CHECKOV)


@pytest.fixture(scope="session")
def terraform_env() -> dict[str, str]:
    """An environment for terraform runs: no prompts, no user CLI configuration, no variables from outside."""
    env = dict(os.environ)
    env.update(
        {
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "TF_CLI_CONFIG_FILE": os.devnull,
            "CHECKPOINT_DISABLE": "1",  # no version check call home
        }
    )
    for name in list(env):
        if name.startswith("TF_VAR_") or name == "TF_DATA_DIR":
            del env[name]
    return env


@pytest.fixture(scope="session")
def checkov_scan(checkov):
    """Runs checkov as `make infra-scan` does for one environment: offline (no Prisma Cloud
    download, no mapping fetch), terraform only, with that environment's variables file."""

    def scan(infra: Path, environment: str, *extra: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, BC_SKIP_MAPPING="TRUE", LOG_LEVEL="WARNING")
        command = [
            checkov,
            "-d",
            str(infra),
            "--framework",
            "terraform",
            "--skip-download",
            "--var-file",
            str(infra / "environments" / f"{environment}.tfvars.json"),
            *extra,
        ]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)

    return scan


@pytest.fixture(scope="session")
def checkov_gate(checkov_scan):
    """The gate of `make infra-scan`: the scan with the environment's accepted checks."""

    def gate(infra: Path, environment: str) -> subprocess.CompletedProcess[str]:
        config = infra / "checkov" / f"{environment}.yaml"
        return checkov_scan(infra, environment, "--quiet", "--compact", "--config-file", str(config))

    return gate
