"""Reproducible job names (ACCELERATOR_JOB_NAME_SEED): off by default, Azure's form when on."""

from __future__ import annotations

import re
import time

import pytest
from azure.ai.ml import command

from accelerator.local import LocalMLClient, _names

pytestmark = pytest.mark.usefixtures("no_stray_processes")

AZURE_FORM = re.compile(r"^[a-z]+_[a-z]+_[a-z0-9]{10}$")  # job_name_generator.generate_job_name


def test_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_names.SEED_VARIABLE, raising=False)
    assert _names.job_name(lambda name: False) is None


def test_same_seed_same_names_in_the_sdk_form_skipping_taken_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_names.SEED_VARIABLE, "book")
    first = _names.job_name(lambda name: False)
    assert first is not None and AZURE_FORM.match(first)
    assert _names.job_name(lambda name: False) == first
    second = _names.job_name(lambda name: name == first)
    assert second != first and AZURE_FORM.match(second)
    batch = _names.job_name(lambda name: False, prefix="batchjob")
    assert re.match(r"^batchjob-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", batch)
    monkeypatch.setenv(_names.SEED_VARIABLE, "other")
    assert _names.job_name(lambda name: False) != first


def _wait(client: LocalMLClient, name: str) -> None:
    deadline = time.monotonic() + 60
    while client.jobs.get(name).status not in ("Completed", "Failed", "Canceled"):
        assert time.monotonic() < deadline, f"job {name} did not end"
        time.sleep(0.2)


def test_unnamed_jobs_get_distinct_reproducible_names(
    jobs_client: LocalMLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_names.SEED_VARIABLE, "book")
    names = []
    for _ in range(2):
        job = command(command="echo hello", environment="azureml:taxi-train:1", compute="cpu-cluster")
        names.append(jobs_client.jobs.create_or_update(job).name)
        _wait(jobs_client, names[-1])
    expected = _names.job_name(lambda name: False)
    assert names[0] == expected
    assert names[1] == _names.job_name(lambda name: name == expected)
