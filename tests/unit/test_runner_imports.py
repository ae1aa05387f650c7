"""The job runner starts once per job: it must not pay for the Azure ML SDK's import (about 1.5 s
of every job's CPU), while the errors it raises are still the SDK's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from azure.ai.ml.exceptions import ValidationException

from accelerator.local import _store


def test_the_runner_imports_without_the_sdk() -> None:
    probe = (
        "import sys, accelerator.local._execution._runner\n"
        "print(sorted(m for m in sys.modules if m == 'azure.ai.ml' or m.startswith('azure.ai.ml.')))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_a_status_change_imports_without_the_sdk(tmp_path: Path) -> None:
    # Every status change looks for event subscriptions (Azure ML's RunStatusChanged): with none
    # declared, that costs no SDK import either (it cost every runner 3 s).
    workspace = tmp_path / "workspaces" / "rg-taxi-dev" / "mlw-taxi-dev"
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from accelerator.local._execution._records import JobRecords\n"
        f"records = JobRecords(Path({str(workspace)!r}))\n"
        "records.create({'name': 'job-1', 'type': 'command', 'status': 'Queued'})\n"
        "records.update('job-1', status='Running')\n"
        "print(records.get('job-1')['status'])\n"
        "print(sorted(m for m in sys.modules if m == 'azure.ai.ml' or m.startswith('azure.ai.ml.')))"
    )
    env = {**os.environ, "ACCELERATOR_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path, env=env
    )
    assert result.stdout.split("\n")[:2] == ["Running", "[]"]


def test_containment_errors_are_still_the_sdks(tmp_path: Path) -> None:
    with pytest.raises(ValidationException, match=r"Invalid job name '\.\.'") as caught:
        _store.join(tmp_path, "..", kind="job name", target="Job")
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, _store.ContainmentError)
    assert caught.value.target == "Job"
    with pytest.raises(ValidationException, match="is required"):
        _store.segment("", kind="model name")
