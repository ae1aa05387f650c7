"""Every name, version and path is checked before it touches the disk: traversal in each operation
group is refused the way the service refuses a bad name, and nothing is read, written or deleted
outside the store (or outside the folder a name belongs in)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fsspec
import pytest
from azure.ai.ml import Input, Output, command
from azure.ai.ml.entities import (
    AzureBlobDatastore,
    BatchDeployment,
    BatchEndpoint,
    CodeConfiguration,
    Data,
    Model,
)
from azure.ai.ml.exceptions import ValidationException
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from accelerator.local import LocalMLClient
from accelerator.local._store import file_name, inside, join, relative, segment

DS = "azureml://datastores/workspaceblobstore/paths"


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with a digest of its content (lock files and MLflow's database
    aside: reads may touch them)."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.endswith((".lock", ".db", ".db-journal")):
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture
def client(jobs_client: LocalMLClient, tmp_path: Path) -> LocalMLClient:
    """The dev workspace, a victim folder outside the store, and records that traversal would hit."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me\n")
    workspace = jobs_client._scope.require_workspace()
    # An online endpoint's folder, as `batch_endpoints.begin_delete("../online_endpoints/<ep>")` targets.
    victim = workspace / "online_endpoints" / "victim"
    victim.mkdir(parents=True)
    (victim / "keep.txt").write_text("an endpoint's files\n")
    jobs_client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="batch-ep")).result()
    return jobs_client


def _command_job(**kwargs: Any) -> Any:
    kwargs.setdefault("command", "echo hi")
    return command(environment="azureml:taxi-train:1", compute="cpu-cluster", **kwargs)


def _batch_deployment(**kwargs: Any) -> BatchDeployment:
    return BatchDeployment(
        name="bd",
        endpoint_name="batch-ep",
        model="azureml:taxi-fare:1",
        compute="cpu-cluster",
        code_configuration=CodeConfiguration(code=".", scoring_script="score.py"),
        environment="azureml:taxi-train:1",
        **kwargs,
    )


# (what is tried, the call). Each is refused, and the store and the folder beside it are unchanged.
TRAVERSALS: list[tuple[str, Callable[[LocalMLClient, Path], Any]]] = [
    ("datastores.delete('../workspace')", lambda c, t: c.datastores.delete("../workspace")),
    ("datastores.get('../workspace')", lambda c, t: c.datastores.get("../workspace")),
    (
        "datastores.create_or_update(name='../x')",
        lambda c, t: c.datastores.create_or_update(
            AzureBlobDatastore(name="../x", account_name="a", container_name="c")
        ),
    ),
    ("data.get('..', 'workspace')", lambda c, t: c.data.get("..", "workspace")),
    ("data.get(name, '../../workspace')", lambda c, t: c.data.get("taxi", version="../../workspace")),
    ("data.list('../environments')", lambda c, t: list(c.data.list("../environments"))),
    (
        "data on a datastore path with '..'",
        lambda c, t: c.data.create_or_update(
            Data(name="etc", path=f"{DS}/../../../../../../etc", type="uri_folder")
        ),
    ),
    (
        "data on a datastore named '..'",
        lambda c, t: c.data.create_or_update(
            Data(name="etc", path="azureml://datastores/../paths/x", type="uri_folder")
        ),
    ),
    ("environments.get('../data', '1')", lambda c, t: c.environments.get("../data", version="1")),
    ("environments.get(name, '../1')", lambda c, t: c.environments.get("taxi-train", version="../1")),
    ("components.get('..', '1')", lambda c, t: c.components.get("..", version="1")),
    (
        "model on a datastore file with '..'",
        lambda c, t: c.models.create_or_update(
            Model(name="hostname", path=f"{DS}/../../../../../../../etc/hostname", type="custom_model")
        ),
    ),
    (
        "model from a job output path with '..'",
        lambda c, t: c.models.create_or_update(
            Model(name="m", path="azureml://jobs/nojob/outputs/model/paths/../../../../etc")
        ),
    ),
    ("compute.get('../workspace')", lambda c, t: c.compute.get("../workspace")),
    ("compute.begin_delete('../workspace')", lambda c, t: c.compute.begin_delete("../workspace")),
    (
        "jobs.create_or_update(name='../../escape')",
        lambda c, t: c.jobs.create_or_update(_command_job(name="../../escape")),
    ),
    (
        "jobs.create_or_update(name=<absolute>)",
        lambda c, t: c.jobs.create_or_update(_command_job(name=str(t / "outside" / "job"))),
    ),
    ("jobs.get('../../workspace')", lambda c, t: c.jobs.get("../../workspace")),
    ("jobs.begin_cancel('..')", lambda c, t: c.jobs.begin_cancel("..")),
    (
        "job input on a datastore path with '..'",
        lambda c, t: c.jobs.create_or_update(
            _command_job(
                command="ls ${{inputs.x}}",
                inputs={"x": Input(type="uri_folder", path=f"{DS}/../../../../../..")},
            )
        ),
    ),
    (
        "job output to a datastore path with '..'",
        lambda c, t: c.jobs.create_or_update(
            _command_job(
                command="touch ${{outputs.x}}/f",
                outputs={"x": Output(type="uri_folder", path=f"{DS}/../../../../../outside")},
            )
        ),
    ),
    (
        "batch_endpoints.begin_delete('../online_endpoints/victim')",
        lambda c, t: c.batch_endpoints.begin_delete("../online_endpoints/victim"),
    ),
    ("batch_endpoints.get('..')", lambda c, t: c.batch_endpoints.get("..")),
    (
        "online_endpoints.get('../batch_endpoints/batch-ep')",
        lambda c, t: c.online_endpoints.get("../batch_endpoints/batch-ep"),
    ),
    (
        "online_endpoints.begin_delete('../online_endpoints/victim')",
        lambda c, t: c.online_endpoints.begin_delete("../online_endpoints/victim"),
    ),
    ("online_endpoints.get_keys('..')", lambda c, t: c.online_endpoints.get_keys("..")),
    (
        "batch output_file_name '../../predictions.csv'",
        lambda c, t: c.batch_deployments.begin_create_or_update(
            _batch_deployment(output_file_name="../../predictions.csv")
        ),
    ),
    ("batch_deployments.get('../../x', ep)", lambda c, t: c.batch_deployments.get("../../x", "batch-ep")),
    ("workspaces.get('../../registries')", lambda c, t: c.workspaces.get("../../registries")),
    ("registries.get('../workspaces')", lambda c, t: c.registries.get("../workspaces")),
]


@pytest.mark.parametrize(("label", "call"), TRAVERSALS, ids=[label for label, _ in TRAVERSALS])
def test_traversal_is_refused_and_nothing_changes(
    client: LocalMLClient, tmp_path: Path, label: str, call: Callable[[LocalMLClient, Path], Any]
) -> None:
    before = _tree(tmp_path)
    with pytest.raises((ValidationException, HttpResponseError)) as raised:
        call(client, tmp_path)
    # The service's kind of refusal: a user error, never a not-found of a path outside the store.
    assert not isinstance(raised.value, ResourceNotFoundError), raised.value
    message = str(getattr(raised.value, "message", raised.value))
    assert "UserError" in message or "InvalidPropertyValue" in message, message
    assert _tree(tmp_path) == before
    assert (tmp_path / "outside" / "precious.txt").read_text() == "keep me\n"
    assert not (tmp_path / "outside" / "job").exists()
    assert client.workspaces.get(client.workspace_name).name == client.workspace_name


def test_azureml_fsspec_refuses_dotdot_in_names_and_paths(client: LocalMLClient) -> None:
    base = f"azureml://subscriptions/{client.subscription_id}/resourcegroups/{client.resource_group_name}"
    for path in (
        f"{base}/workspaces/{client.workspace_name}/datastores/workspaceblobstore/paths/../../workspace.yaml",
        f"{base}/workspaces/../datastores/workspaceblobstore/paths/x",
    ):
        with pytest.raises(ValidationException, match="UserError"):
            fsspec.open(path).open()


def test_the_helpers_keep_every_name_a_single_entry(tmp_path: Path) -> None:
    for bad in ("..", ".", "../x", "a/b", "a\\b", "/etc", ".hidden", "a\x00b", "", None, 3, " x", "x" * 256):
        with pytest.raises(ValidationException):
            segment(bad)
    assert segment("taxi-fare.v2_1") == "taxi-fare.v2_1"
    assert relative("/a/./b//c/") == "a/b/c"
    for bad in ("../x", "a/../../b", "a/..\\..\\b", "a\x00"):
        with pytest.raises(ValidationException, match="UserError"):
            relative(bad)
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path)  # a symbolic link out of the folder
    with pytest.raises(ValidationException, match="leaves its folder"):
        join(tmp_path / "root", "link")
    assert inside(tmp_path, tmp_path / "a") == tmp_path / "a"
    # A valid 255-character name plus a suffix still gets a file name the file system takes.
    long = "m" * 255
    assert len(file_name(long, ".yaml").encode()) <= 255
    assert file_name(long, ".yaml") != file_name("m" * 254 + "n", ".yaml")
    assert file_name("short") == "short.yaml"
