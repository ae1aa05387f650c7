"""Bad values get the service's kind of error (a client-side ValidationException or a 400), with a
clear message, and leave nothing written; valid long names work."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure.ai.ml import command
from azure.ai.ml.entities import (
    AmlCompute,
    BatchDeployment,
    BatchEndpoint,
    CodeConfiguration,
    Data,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
)
from azure.ai.ml.exceptions import ValidationException
from azure.core.exceptions import HttpResponseError

from accelerator.local import LocalMLClient
from accelerator.local._store import write_record


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith((".lock", ".db", ".db-journal"))
    }


@pytest.fixture
def client(jobs_client: LocalMLClient) -> LocalMLClient:
    jobs_client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="batch-ep")).result()
    return jobs_client


def _conda(tmp_path: Path, text: str) -> str:
    path = tmp_path / "conda.yml"
    path.write_text(text)
    return str(path)


def _timeout_job() -> Any:
    job = command(command="echo hi", environment="azureml:taxi-train:1", compute="cpu-cluster")
    job.set_limits(timeout=-5)
    return job


def _batch(**kwargs: Any) -> BatchDeployment:
    return BatchDeployment(
        name="batch-dep",
        endpoint_name="batch-ep",
        model="azureml:taxi-fare:1",
        compute="cpu-cluster",
        code_configuration=CodeConfiguration(code=".", scoring_script="score.py"),
        environment="azureml:taxi-train:1",
        **kwargs,
    )


# (what, call, the error class, words the message must have)
BAD_VALUES: list[tuple[str, Callable[[LocalMLClient, Path], Any], type[Exception], str]] = [
    (
        "traffic 'abc'",
        lambda c, t: c.online_endpoints.begin_create_or_update(
            ManagedOnlineEndpoint(name="ep-bad", traffic={"blue": "abc"})
        ),
        ValidationException,
        "whole percentage",
    ),
    (
        "traffic to an unknown deployment",
        lambda c, t: c.online_endpoints.begin_create_or_update(
            ManagedOnlineEndpoint(name="ep-bad", traffic={"blue": 100})
        ),
        ValidationException,
        "does not have",
    ),
    (
        "BatchEndpoint(name=None)",
        lambda c, t: c.batch_endpoints.begin_create_or_update(BatchEndpoint(name=None)),
        ValidationException,
        "name is required",
    ),
    (
        "max_instances='3'",
        lambda c, t: c.compute.begin_create_or_update(
            AmlCompute(name="cpu-two", size="Standard_DS3_v2", max_instances="3")
        ),
        HttpResponseError,
        "must be an integer",
    ),
    (
        "instance_count=0",
        lambda c, t: c.online_deployments.begin_create_or_update(
            ManagedOnlineDeployment(
                name="blue",
                endpoint_name="nowhere",
                model="azureml:m:1",
                instance_type="Standard_DS3_v2",
                instance_count=0,
            )
        ),
        HttpResponseError,
        "instance_count",
    ),
    (
        "an unknown VM size",
        lambda c, t: c.online_deployments.begin_create_or_update(
            ManagedOnlineDeployment(
                name="blue",
                endpoint_name="nowhere",
                model="azureml:m:1",
                instance_type="Standard_Q9",
                instance_count=1,
            )
        ),
        HttpResponseError,
        "Standard_Q9",
    ),
    ("job timeout=-5", lambda c, t: c.jobs.create_or_update(_timeout_job()), ValidationException, "timeout"),
    (
        "max_concurrency_per_instance=10**6",
        lambda c, t: c.batch_deployments.begin_create_or_update(_batch(max_concurrency_per_instance=10**6)),
        HttpResponseError,
        "max_concurrency_per_instance",
    ),
    (
        "batch instance_count=0",
        lambda c, t: c.batch_deployments.begin_create_or_update(_batch(instance_count=0)),
        ValidationException,
        "instance_count",
    ),
    (
        "a conda_file that is not conda YAML",
        lambda c, t: c.environments.create_or_update(
            Environment(name="bad-env", image="img", conda_file=_conda(t, "just a sentence\n"))
        ),
        ValidationException,
        "conda environment specification",
    ),
    (
        "a conda_file with a bad dependency",
        lambda c, t: c.environments.create_or_update(
            Environment(name="bad-env", image="img", conda_file=_conda(t, "dependencies:\n  - {pip: 3}\n"))
        ),
        ValidationException,
        "neither a package spec",
    ),
]


@pytest.mark.parametrize(("label", "call", "kind", "words"), BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_a_bad_value_is_refused_and_nothing_is_written(
    client: LocalMLClient, tmp_path: Path, label: str, call: Callable, kind: type[Exception], words: str
) -> None:
    store = client._scope.home
    before = _tree(store)
    with pytest.raises(kind, match=words) as raised:
        call(client, tmp_path)
    if isinstance(raised.value, HttpResponseError):
        assert raised.value.status_code == 400
    assert _tree(store) == before
    assert not (client._scope.require_workspace() / "online_endpoints" / "ep-bad").exists()


def test_valid_255_character_names_work(client: LocalMLClient, tmp_path: Path) -> None:
    """No 'File name too long': a record, its lock and its temporary file all fit the file system."""
    name = "m" * 255
    file = tmp_path / "weights.txt"
    file.write_text("1.0\n")
    model = client.models.create_or_update(Model(name=name, path=str(file), type="custom_model"))
    assert (model.name, model.version) == (name, "1")
    data = client.data.create_or_update(Data(name=name, path=str(file), type="uri_file"))
    assert client.data.get(name, version=data.version).name == name
    assert [d.name for d in client.data.list() if d.name == name] == [name]


def test_one_bad_environment_record_does_not_break_the_listing(client: LocalMLClient) -> None:
    client.environments.create_or_update(Environment(name="good-env", image="img"))
    # A record written by an older version, whose entity the SDK cannot load.
    folder = client._scope.require_workspace() / "environments" / "broken-env"
    write_record(
        folder / "1.yaml", {"name": "broken-env", "version": "1", "entity": {"conda_file": 7, "x": []}}
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = sorted(e.name for e in client.environments.list())
    assert "good-env" in names and "taxi-train" in names and "broken-env" not in names
    assert any("broken-env:1" in str(w.message) for w in caught)
