"""The local backend's workspaces, registries, compute and environments, and its unsupported parts."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import (
    AmlCompute,
    BuildContext,
    ComputeInstance,
    Data,
    Environment,
    Registry,
    RegistryRegionDetails,
    Workspace,
)
from azure.ai.ml.exceptions import ValidationException
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from accelerator import connect
from accelerator.local import LocalBackendUnsupportedError, LocalMLClient

IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
OTHER_IMAGE = "mcr.microsoft.com/azureml/curated/sklearn-1.5:1"


def _create_workspace(client: LocalMLClient, **kwargs: object) -> Workspace:
    return client.workspaces.begin_create(Workspace(name=client.workspace_name, **kwargs)).result()


def _registry(name: str) -> Registry:
    return Registry(
        name=name, location="westeurope", replication_locations=[RegistryRegionDetails(location="westeurope")]
    )


def _cluster(name: str = "cpu-cluster", size: str = "Standard_DS3_v2", max_instances: int = 2) -> AmlCompute:
    return AmlCompute(name=name, size=size, min_instances=0, max_instances=max_instances)


# Workspaces -------------------------------------------------------------------------------------


def test_create_and_get_workspace(home: Path) -> None:
    client = connect("dev", backend="local")
    created = _create_workspace(client, location="westeurope", tags={"owner": "ml"})
    assert isinstance(created, Workspace)
    got = client.workspaces.get(client.workspace_name)
    for workspace in (created, got):
        assert workspace.name == "mlw-taxi-dev"
        assert workspace.location == "westeurope"
        assert workspace.resource_group == "rg-taxi-dev"
        assert workspace.tags == {"owner": "ml"}
        assert workspace.id.endswith(
            "/resourceGroups/rg-taxi-dev/providers/Microsoft.MachineLearningServices/workspaces/mlw-taxi-dev"
        )
    # get() without a name is the client's own workspace, as with MLClient.
    assert client.workspaces.get().name == "mlw-taxi-dev"
    # The store is under ACCELERATOR_HOME.
    assert (home / "workspaces" / "rg-taxi-dev" / "mlw-taxi-dev" / "workspace.yaml").is_file()


def test_list_workspaces_by_resource_group_and_subscription(home: Path) -> None:
    dev = connect("dev", backend="local")
    test = connect("test", backend="local")
    _create_workspace(dev, location="westeurope")
    _create_workspace(test, location="westeurope")
    assert [w.name for w in dev.workspaces.list()] == ["mlw-taxi-dev"]
    assert [w.name for w in test.workspaces.list(scope="resource_group")] == ["mlw-taxi-test"]
    assert sorted(w.name for w in dev.workspaces.list(scope="subscription")) == [
        "mlw-taxi-dev",
        "mlw-taxi-test",
    ]
    with pytest.raises(ValueError, match="scope"):
        dev.workspaces.list(scope="tenant")


def test_list_workspaces_when_none_exist(home: Path) -> None:
    assert list(connect("dev", backend="local").workspaces.list(scope="subscription")) == []


def test_recreating_a_workspace_updates_tags_and_keeps_data(ml_client: LocalMLClient, tmp_path: Path) -> None:
    source = tmp_path / "note.txt"
    source.write_text("kept\n")
    ml_client.data.create_or_update(
        Data(name="note", version="1", type=AssetTypes.URI_FILE, path=str(source))
    )
    updated = _create_workspace(ml_client, location="northeurope", tags={"stage": "2"}, description="again")
    assert updated.tags == {"stage": "2"}
    assert updated.description == "again"
    # Location is fixed at creation, as on Azure.
    assert updated.location == "westeurope"
    assert ml_client.data.get("note", version="1").version == "1"
    assert ml_client.datastores.get_default().name == "workspaceblobstore"


def test_delete_workspace_removes_it_and_its_contents(ml_client: LocalMLClient, home: Path) -> None:
    ml_client.compute.begin_create_or_update(_cluster()).result()
    result = ml_client.workspaces.begin_delete(ml_client.workspace_name, delete_dependent_resources=True)
    assert result.result() is None
    with pytest.raises(ResourceNotFoundError):
        ml_client.workspaces.get(ml_client.workspace_name)
    assert list(ml_client.workspaces.list()) == []
    assert not (home / "workspaces" / "rg-taxi-dev" / "mlw-taxi-dev").exists()
    # No leftovers from the rename-then-remove either.
    assert [p.name for p in (home / "workspaces").iterdir()] == []
    with pytest.raises(ResourceNotFoundError, match=r"Create it first: ml_client\.workspaces\.begin_create"):
        ml_client.compute.get("cpu-cluster")


def test_delete_unknown_workspace(home: Path) -> None:
    client = connect("dev", backend="local")
    with pytest.raises(ResourceNotFoundError):
        client.workspaces.begin_delete("mlw-nope", delete_dependent_resources=False)


@pytest.mark.parametrize("name", ["ab", "has space", "-lead", "a" * 34, "", "ünïcode"])
def test_bad_workspace_names(home: Path, name: str) -> None:
    client = connect("dev", backend="local")
    with pytest.raises(ValidationException):
        client.workspaces.begin_create(Workspace(name=name, location="westeurope"))
    assert not (home / "workspaces").exists() or list((home / "workspaces").iterdir()) == []


def test_get_unknown_workspace_names_the_notebook(home: Path) -> None:
    client = connect("dev", backend="local")
    with pytest.raises(ResourceNotFoundError, match="mlw-taxi-dev") as caught:
        client.workspaces.get(client.workspace_name)
    assert "Create it first: ml_client.workspaces.begin_create" in str(caught.value)


def test_workspace_must_be_a_workspace(home: Path) -> None:
    client = connect("dev", backend="local")
    with pytest.raises(TypeError):
        client.workspaces.begin_create({"name": "mlw-taxi-dev"})  # type: ignore[arg-type]


def test_begin_create_or_update_dispatches(home: Path) -> None:
    client = connect("dev", backend="local")
    workspace = client.begin_create_or_update(Workspace(name=client.workspace_name)).result()
    assert workspace.name == client.workspace_name
    cluster = client.begin_create_or_update(_cluster()).result()
    assert cluster.provisioning_state == "Succeeded"
    with pytest.raises(LocalBackendUnsupportedError, match="ComputeInstance"):
        client.begin_create_or_update(ComputeInstance(name="ci-one", size="Standard_DS3_v2"))


# Registries -------------------------------------------------------------------------------------


def test_registry_lifecycle(home: Path) -> None:
    client = connect("dev", backend="local")
    created = client.registries.begin_create(_registry("mlr-taxi")).result()
    assert isinstance(created, Registry)
    assert created.name == "mlr-taxi"
    assert created.location == "westeurope"
    assert created.id.endswith("/registries/mlr-taxi")
    # Registries are shared by all workspaces: another environment's client sees it.
    other = connect("prod", backend="local")
    assert other.registries.get("mlr-taxi").name == "mlr-taxi"
    client.registries.begin_create(_registry("mlr-other")).result()
    assert [r.name for r in client.registries.list()] == ["mlr-other", "mlr-taxi"]
    assert client.registries.begin_delete(name="mlr-other").result() is None
    assert [r.name for r in client.registries.list()] == ["mlr-taxi"]
    with pytest.raises(
        ResourceNotFoundError,
        match=r"Create it first: ml_client\.registries\.begin_create\(Registry\(name='mlr-other', location=",
    ):
        client.registries.get("mlr-other")


def test_registry_errors(home: Path) -> None:
    client = connect("dev", backend="local")
    assert list(client.registries.list()) == []
    with pytest.raises(ValidationException):
        client.registries.begin_create(_registry("r!"))
    with pytest.raises(ResourceNotFoundError):
        client.registries.begin_delete(name="mlr-missing")
    with pytest.raises(ValueError, match="registry name"):
        client.registries.get()


# Compute ----------------------------------------------------------------------------------------


def test_compute_lifecycle(ml_client: LocalMLClient) -> None:
    created = ml_client.compute.begin_create_or_update(_cluster()).result()
    assert isinstance(created, AmlCompute)
    got = ml_client.compute.get("cpu-cluster")
    assert isinstance(got, AmlCompute)
    assert (got.name, got.size, got.min_instances, got.max_instances) == (
        "cpu-cluster",
        "Standard_DS3_v2",
        0,
        2,
    )
    assert got.provisioning_state == "Succeeded"
    assert got.id.endswith("/workspaces/mlw-taxi-dev/computes/cpu-cluster")

    # Scaling settings may change; the size may not.
    scaled = ml_client.compute.begin_create_or_update(_cluster(max_instances=4)).result()
    assert scaled.max_instances == 4
    with pytest.raises(HttpResponseError, match="cannot be changed"):
        ml_client.compute.begin_create_or_update(_cluster(size="Standard_NC6s_v3"))
    assert ml_client.compute.get("cpu-cluster").size == "Standard_DS3_v2"

    ml_client.compute.begin_create_or_update(_cluster("gpu-cluster", size="Standard_NC6s_v3")).result()
    assert [c.name for c in ml_client.compute.list()] == ["cpu-cluster", "gpu-cluster"]
    assert [c.name for c in ml_client.compute.list(compute_type="AmlCompute")] == [
        "cpu-cluster",
        "gpu-cluster",
    ]
    assert list(ml_client.compute.list(compute_type="ComputeInstance")) == []

    assert ml_client.compute.begin_delete("gpu-cluster").result() is None
    assert [c.name for c in ml_client.compute.list()] == ["cpu-cluster"]
    with pytest.raises(ResourceNotFoundError, match="gpu-cluster"):
        ml_client.compute.get("gpu-cluster")
    with pytest.raises(ResourceNotFoundError):
        ml_client.compute.begin_delete("gpu-cluster")


def test_compute_instance_is_unsupported(ml_client: LocalMLClient) -> None:
    with pytest.raises(LocalBackendUnsupportedError, match=r"computeinstance|ComputeInstance") as caught:
        ml_client.compute.begin_create_or_update(ComputeInstance(name="ci-one", size="Standard_DS3_v2"))
    assert "AmlCompute" in str(caught.value)
    assert list(ml_client.compute.list()) == []


@pytest.mark.parametrize("name", ["1abc", "a", "way-too-long-cluster-name", "ends-with-", "under_score"])
def test_bad_compute_names(ml_client: LocalMLClient, name: str) -> None:
    with pytest.raises(ValidationException):
        ml_client.compute.begin_create_or_update(_cluster(name))
    assert list(ml_client.compute.list()) == []


def test_compute_before_the_workspace_exists(home: Path) -> None:
    client = connect("dev", backend="local")
    for action in (
        lambda: client.compute.begin_create_or_update(_cluster()),
        lambda: client.compute.get("cpu-cluster"),
        lambda: client.compute.list(),
    ):
        with pytest.raises(
            ResourceNotFoundError, match=r"Create it first: ml_client\.workspaces\.begin_create"
        ):
            action()


def test_missing_compute_names_the_call_that_creates_it(ml_client: LocalMLClient) -> None:
    with pytest.raises(
        ResourceNotFoundError,
        match=r"Create it first: ml_client\.compute\.begin_create_or_update\(AmlCompute\(name='cpu-cluster'",
    ):
        ml_client.compute.get("cpu-cluster")


# Environments -----------------------------------------------------------------------------------


@pytest.fixture
def conda_file(tmp_path: Path) -> Path:
    path = tmp_path / "conda.yml"
    path.write_text("name: taxi-train\ndependencies:\n  - python=3.11\n  - pip:\n    - scikit-learn==1.5.2\n")
    return path


def test_environment_with_explicit_version(ml_client: LocalMLClient, conda_file: Path) -> None:
    environment = ml_client.environments.create_or_update(
        Environment(name="taxi-train", version="3", image=IMAGE, conda_file=str(conda_file), description="d")
    )
    assert isinstance(environment, Environment)
    assert (environment.name, environment.version, environment.image) == ("taxi-train", "3", IMAGE)
    expected_conda = {"name": "taxi-train", "dependencies": ["python=3.11", {"pip": ["scikit-learn==1.5.2"]}]}
    assert environment.conda_file == expected_conda
    got = ml_client.environments.get("taxi-train", version="3")
    assert got.conda_file == expected_conda
    assert got.description == "d"
    assert got.id.endswith("/workspaces/mlw-taxi-dev/environments/taxi-train/versions/3")
    # The conda file is recorded, not referenced: changing it later changes nothing registered.
    conda_file.write_text("name: changed\n")
    assert ml_client.environments.get("taxi-train", version="3").conda_file == expected_conda


def test_environment_reregistration_is_idempotent(ml_client: LocalMLClient, conda_file: Path) -> None:
    first = ml_client.environments.create_or_update(
        Environment(name="taxi-train", version="1", image=IMAGE, conda_file=str(conda_file))
    )
    again = ml_client.environments.create_or_update(
        Environment(name="taxi-train", version="1", image=IMAGE, conda_file=str(conda_file))
    )
    assert (again.name, again.version, again.image, again.conda_file) == (
        first.name,
        first.version,
        first.image,
        first.conda_file,
    )
    assert [e.version for e in ml_client.environments.list(name="taxi-train")] == ["1"]


def test_environment_version_is_immutable(ml_client: LocalMLClient, conda_file: Path) -> None:
    ml_client.environments.create_or_update(Environment(name="taxi-train", version="1", image=IMAGE))
    with pytest.raises(ResourceExistsError, match="taxi-train:1"):
        ml_client.environments.create_or_update(
            Environment(name="taxi-train", version="1", image=OTHER_IMAGE)
        )
    with pytest.raises(ResourceExistsError):
        ml_client.environments.create_or_update(
            Environment(name="taxi-train", version="1", image=IMAGE, conda_file=str(conda_file))
        )
    assert ml_client.environments.get("taxi-train", version="1").image == IMAGE
    assert ml_client.environments.get("taxi-train", version="1").conda_file is None


def test_environment_versions_auto_increment(ml_client: LocalMLClient) -> None:
    versions = [
        ml_client.environments.create_or_update(Environment(name="taxi-train", image=image)).version
        for image in (IMAGE, OTHER_IMAGE)
    ]
    assert versions == ["1", "2"]
    ml_client.environments.create_or_update(Environment(name="taxi-train", version="10", image=IMAGE))
    assert (
        ml_client.environments.create_or_update(Environment(name="taxi-train", image=IMAGE)).version == "11"
    )
    latest = ml_client.environments.get("taxi-train", label="latest")
    assert latest.version == "11"
    assert [e.version for e in ml_client.environments.list(name="taxi-train")] == ["1", "2", "10", "11"]
    ml_client.environments.create_or_update(Environment(name="taxi-score", image=IMAGE))
    assert sorted((e.name, e.version) for e in ml_client.environments.list()) == [
        ("taxi-score", "1"),
        ("taxi-train", "11"),
    ]


def test_environment_get_errors(ml_client: LocalMLClient) -> None:
    ml_client.environments.create_or_update(Environment(name="taxi-train", version="1", image=IMAGE))
    with pytest.raises(ValidationException, match=r"Must provide either version or label\."):
        ml_client.environments.get("taxi-train")
    with pytest.raises(ValidationException, match="both version and label"):
        ml_client.environments.get("taxi-train", version="1", label="latest")
    with pytest.raises(ValidationException, match="latest"):
        ml_client.environments.get("taxi-train", label="production")
    with pytest.raises(ResourceNotFoundError, match="taxi-train:2"):
        ml_client.environments.get("taxi-train", version="2")
    with pytest.raises(ResourceNotFoundError, match="nothing-here"):
        ml_client.environments.get("nothing-here", label="latest")
    assert list(ml_client.environments.list(name="nothing-here")) == []


def test_environment_from_a_build_context_is_unsupported(ml_client: LocalMLClient, tmp_path: Path) -> None:
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile").write_text("FROM python:3.11\n")
    with pytest.raises(LocalBackendUnsupportedError, match="build context"):
        ml_client.environments.create_or_update(
            Environment(name="taxi-docker", build=BuildContext(path=str(tmp_path / "docker")))
        )
    assert list(ml_client.environments.list()) == []


@pytest.mark.parametrize(("name", "version"), [("bad name", "1"), ("-lead", "1"), ("taxi", "v 1")])
def test_environment_bad_name_or_version(ml_client: LocalMLClient, name: str, version: str) -> None:
    with pytest.raises(ValidationException):
        ml_client.environments.create_or_update(Environment(name=name, version=version, image=IMAGE))


def test_environment_before_the_workspace_exists(home: Path) -> None:
    client = connect("dev", backend="local")
    with pytest.raises(ResourceNotFoundError, match=r"Create it first: ml_client\.workspaces\.begin_create"):
        client.environments.create_or_update(Environment(name="taxi-train", version="1", image=IMAGE))


def test_create_or_update_dispatches_environments(ml_client: LocalMLClient) -> None:
    environment = ml_client.create_or_update(Environment(name="taxi-train", version="1", image=IMAGE))
    assert environment.version == "1"
    with pytest.raises(LocalBackendUnsupportedError, match="create_or_update for Workspace"):
        ml_client.create_or_update(Workspace(name="mlw-taxi-dev"))


# What the local backend does not do -------------------------------------------------------------


def test_unsupported_methods_name_themselves(ml_client: LocalMLClient) -> None:
    with pytest.raises(LocalBackendUnsupportedError, match=r"ml_client\.data\.import_data") as caught:
        ml_client.data.import_data(None)
    assert caught.value.feature == "ml_client.data.import_data"
    with pytest.raises(LocalBackendUnsupportedError, match=r"ml_client\.workspaces\.begin_diagnose"):
        ml_client.workspaces.begin_diagnose("mlw-taxi-dev")
    # An unsupported feature is still a NotImplementedError, for code that catches that.
    with pytest.raises(NotImplementedError):
        ml_client.environments.archive("taxi-train", version="1")


def test_operation_groups_of_later_chapters_name_the_call(ml_client: LocalMLClient) -> None:
    with pytest.raises(LocalBackendUnsupportedError, match=r"ml_client\.connections\.get"):
        ml_client.connections.get("my-connection")
    with pytest.raises(LocalBackendUnsupportedError, match=r"ml_client\.indexes\.list"):
        ml_client.indexes.list()


def test_unknown_attributes_are_attribute_errors(ml_client: LocalMLClient) -> None:
    with pytest.raises(AttributeError):
        ml_client.environments.no_such_method  # noqa: B018
    with pytest.raises(AttributeError):
        ml_client.data._private_thing  # noqa: B018
    with pytest.raises(AttributeError):
        ml_client.no_such_group  # noqa: B018
    assert not hasattr(ml_client.compute, "no_such_method")


# What the service checks, and Azure-shaped results ----------------------------------------------


def test_unknown_region_is_refused_as_azure_does(home: Path) -> None:
    client = connect("dev", backend="local")
    with pytest.raises(HttpResponseError, match=r"LocationNotAvailableForResourceType.*mars central!"):
        client.workspaces.begin_create(Workspace(name=client.workspace_name, location="mars central!"))
    with pytest.raises(HttpResponseError, match="LocationNotAvailableForResourceType"):
        client.registries.begin_create(
            Registry(name="mlr-taxi", location="atlantis", replication_locations=[])
        )
    # Display names of regions are accepted and stored in the short form.
    created = client.workspaces.begin_create(
        Workspace(name=client.workspace_name, location="West Europe")
    ).result()
    assert created.location == "westeurope"


def test_cluster_scale_and_size_are_checked(ml_client: LocalMLClient) -> None:
    with pytest.raises(HttpResponseError, match=r"min_instances \(5\).*max_instances \(2\)"):
        ml_client.compute.begin_create_or_update(
            AmlCompute(name="cpu-cluster", size="Standard_DS3_v2", min_instances=5, max_instances=2)
        )
    with pytest.raises(HttpResponseError, match="'Bogus' is not a valid Azure VM size"):
        ml_client.compute.begin_create_or_update(
            AmlCompute(name="cpu-cluster", size="Bogus", max_instances=2)
        )
    assert list(ml_client.compute.list()) == []


def test_workspaces_are_unique_per_resource_group_and_tags_merge(home: Path) -> None:
    client = connect("dev", backend="local")
    first = Workspace(name="mlw-x", location="westeurope", tags={"owner": "a", "cost-centre": "42"})
    client.workspaces.begin_create(first).result()
    other = Workspace(name="mlw-x", location="northeurope", resource_group="rg-other", tags={"owner": "b"})
    client.workspaces.begin_create(other).result()
    assert [(w.resource_group, w.location) for w in client.workspaces.list(scope="subscription")] == [
        ("rg-other", "northeurope"),
        ("rg-taxi-dev", "westeurope"),
    ]
    # Creating an existing workspace again merges its tags, as MLClient does.
    client.workspaces.begin_create(Workspace(name="mlw-x", tags={"owner": "c"})).result()
    assert client.workspaces.get("mlw-x").tags == {"owner": "c", "cost-centre": "42"}


def test_list_results_are_item_paged_like_mlclient(ml_client: LocalMLClient) -> None:
    from azure.core.paging import ItemPaged

    listed = ml_client.datastores.list()
    assert isinstance(listed, ItemPaged)
    assert [d.name for d in listed] == ["workspaceblobstore"]
    assert list(listed) == []  # iterated once, as the SDK's pager


def test_mlclient_features_the_local_client_lacks_are_named(ml_client: LocalMLClient) -> None:
    with pytest.raises(LocalBackendUnsupportedError, match=r"MLClient\.from_config"):
        ml_client.from_config  # noqa: B018
    with pytest.raises(AttributeError):
        ml_client.no_such_thing  # noqa: B018


def test_project_names_are_checked(home: Path) -> None:
    with pytest.raises(ValueError, match="Invalid project name 'my proj'"):
        connect("dev", backend="local", project="my proj")
    assert connect("dev", backend="local", project="fares").workspace_name == "mlw-fares-dev"
