"""The local registry as an asset store: registry clients, share(), deployments from a registry."""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure.ai.ml.entities import (
    AmlCompute,
    BatchEndpoint,
    CommandComponent,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    ModelBatchDeployment,
    Registry,
    RegistryRegionDetails,
    Workspace,
)
from azure.ai.ml.exceptions import ValidationException
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from workload_models import save_linear_taxi_model

from accelerator import connect, connect_registry
from accelerator.local import LocalMLClient

IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250601.v1"
REGISTRY = "mlr-taxi"


def _sha256(folder: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(file.relative_to(folder).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def dev(ml_client: LocalMLClient, tmp_path: Path) -> LocalMLClient:
    """dev with a registry in westeurope and two versions of a custom model."""
    ml_client.registries.begin_create(
        Registry(
            name=REGISTRY,
            location="westeurope",
            replication_locations=[RegistryRegionDetails(location="westeurope")],
        )
    ).result()
    for index in (1, 2):
        folder = tmp_path / f"model-{index}"
        folder.mkdir()
        (folder / "weights.bin").write_bytes(bytes(range(index, 200)))
        ml_client.models.create_or_update(
            Model(name="taxi-fare", path=str(folder), tags={"champion": str(index == 2).lower()})
        )
    return ml_client


def test_a_registry_client_is_bound_to_an_existing_registry(home: Path) -> None:
    with pytest.raises(ResourceNotFoundError, match="Registry 'mlr-taxi' was not found"):
        connect_registry(backend="local")
    with pytest.raises(ResourceNotFoundError, match="Registry 'mlr-nope'"):
        LocalMLClient(registry_name="mlr-nope")


def test_share_copies_bytes_tags_and_lineage(dev: LocalMLClient) -> None:
    shared = dev.models.share(
        "taxi-fare", "2", share_with_name="taxi-fare", share_with_version="2", registry_name=REGISTRY
    )
    assert shared.id == f"azureml://registries/{REGISTRY}/models/taxi-fare/versions/2"
    assert shared.tags == {"champion": "true"}
    source = shared.properties["azureml.sourceAssetId"]
    assert source.startswith("azureml://locations/westeurope/workspaces/")
    assert source.endswith("/models/taxi-fare/versions/2")
    original = Path(dev.models._local_path("taxi-fare", "2"))
    assert _sha256(Path(shared.path)) == _sha256(original)
    registry = connect_registry(backend="local")
    assert registry.models.get("taxi-fare", label="latest").version == "2"
    assert [m.version for m in registry.models.list(name="taxi-fare")] == ["2"]
    registry.models.download("taxi-fare", "2", download_path=dev.home.parent / "down")
    assert _sha256(dev.home.parent / "down" / "taxi-fare" / original.name) == _sha256(original)


def test_sharing_a_version_the_registry_has_is_refused_as_the_sdk_refuses_it(dev: LocalMLClient) -> None:
    arguments = {"share_with_name": "taxi-fare", "share_with_version": "2", "registry_name": REGISTRY}
    dev.models.share("taxi-fare", "2", **arguments)
    for version in ("1", "2"):  # other content, and the same content again
        with pytest.raises(ValidationException, match="already exists in registry"):
            dev.models.share("taxi-fare", version, **arguments)
    registry = connect_registry(backend="local")
    assert registry.models.get("taxi-fare", "2").properties["azureml.sourceAssetId"].endswith("versions/2")


def test_unknown_registry_model_or_version(dev: LocalMLClient) -> None:
    arguments = {"share_with_name": "taxi-fare", "share_with_version": "9"}
    with pytest.raises(ResourceNotFoundError, match="Registry 'mlr-other'"):
        dev.models.share("taxi-fare", "1", registry_name="mlr-other", **arguments)
    with pytest.raises(ResourceNotFoundError, match="taxi-fare:7"):
        dev.models.share("taxi-fare", "7", registry_name=REGISTRY, **arguments)
    with pytest.raises(ValidationException, match="Invalid version name"):
        dev.models.share(
            "taxi-fare", "1", registry_name=REGISTRY, share_with_name="x", share_with_version="-1"
        )
    registry = connect_registry(backend="local")
    with pytest.raises(ResourceNotFoundError, match="taxi-fare:9' was not found in registry 'mlr-taxi'"):
        registry.models.get("taxi-fare", "9")
    with pytest.raises(ResourceNotFoundError):
        registry.models.get("nothing", label="latest")
    assert not list((dev.home / "registries" / REGISTRY / "models").glob("*/*.yaml"))  # nothing written


def test_registry_versions_are_immutable(dev: LocalMLClient, tmp_path: Path) -> None:
    registry = connect_registry(backend="local")
    folder = tmp_path / "published"
    folder.mkdir()
    (folder / "a.txt").write_text("one")
    first = registry.models.create_or_update(Model(name="direct", version="5", path=str(folder)))
    assert first.id.endswith("/models/direct/versions/5")
    assert (
        registry.models.create_or_update(Model(name="direct", version="5", path=str(folder))).version == "5"
    )
    (folder / "a.txt").write_text("two")
    with pytest.raises(ResourceExistsError, match="immutable"):
        registry.models.create_or_update(Model(name="direct", version="5", path=str(folder)))
    assert registry.models.create_or_update(Model(name="direct", path=str(folder))).version == "6"
    with pytest.raises(TypeError):
        registry.models.create_or_update(Environment(name="direct", image=IMAGE))  # type: ignore[arg-type]
    with pytest.raises(ValidationException, match="workspace client"):
        registry.models.share(
            "taxi-fare", "1", share_with_name="a", share_with_version="1", registry_name="x"
        )


def test_environments_reach_the_registry_by_share(dev: LocalMLClient) -> None:
    dev.environments.create_or_update(Environment(name="taxi-score", version="1", image=IMAGE))
    shared = dev.environments.share(
        "taxi-score", "1", share_with_name="taxi-score", share_with_version="1", registry_name=REGISTRY
    )
    assert shared.id == f"azureml://registries/{REGISTRY}/environments/taxi-score/versions/1"
    assert shared.image == IMAGE
    record = dev.home / "registries" / REGISTRY / "environments" / "taxi-score" / "1.yaml"
    assert "/workspaces/" in yaml.safe_load(record.read_text())["source_asset_id"]
    with pytest.raises(ValidationException, match="already exists in registry"):
        dev.environments.share(
            "taxi-score", "1", share_with_name="taxi-score", share_with_version="1", registry_name=REGISTRY
        )
    registry = connect_registry(backend="local")
    assert [e.version for e in registry.environments.list(name="taxi-score")] == ["1"]
    with pytest.raises(ResourceExistsError, match="immutable"):
        registry.environments.create_or_update(Environment(name="taxi-score", version="1", image="other:1"))


def _workload_module(name: str) -> Any:
    folder = str(Path(__file__).resolve().parents[2] / "notebooks" / "workloads" / "taxi_fare" / "deploy")
    sys.path.insert(0, folder)
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(folder)


def _request(model_folder: Path) -> str:
    """Three rows in the model's own input columns."""
    import mlflow

    columns = mlflow.models.get_model_info(str(model_folder)).signature.inputs.input_names()
    return json.dumps({"input_data": {"columns": columns, "data": [[1.0] * len(columns)] * 3}})


def _workspace(environment: str, location: str) -> LocalMLClient:
    client = connect(environment, backend="local")
    client.workspaces.begin_create(Workspace(name=client.workspace_name, location=location)).result()
    return client


def test_deploy_from_the_registry_in_another_workspace(dev: LocalMLClient, tmp_path: Path) -> None:
    save_linear_taxi_model(tmp_path / "mlflow-model", rows=300, seed=3)
    mlflow_model = dev.models.create_or_update(
        Model(name="taxi-mlflow", path=str(tmp_path / "mlflow-model"), type="mlflow_model")
    )
    shared = dev.models.share(
        "taxi-mlflow", mlflow_model.version, share_with_name="taxi-mlflow", share_with_version="3",
        registry_name=REGISTRY,
    )  # fmt: skip
    assert shared.flavors and "python_function" in shared.flavors
    prod = _workspace("prod", "westeurope")
    prod.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="taxi-reg", auth_mode="key")
    ).result()
    try:
        # Non-MLflow model with no scoring script: refused, nothing deployed.
        dev.models.share(
            "taxi-fare", "1", share_with_name="taxi-fare", share_with_version="1", registry_name=REGISTRY
        )
        with pytest.raises(ValidationException, match="must deploy an mlflow_model"):
            prod.online_deployments.begin_create_or_update(
                ManagedOnlineDeployment(
                    name="custom",
                    endpoint_name="taxi-reg",
                    model=f"azureml://registries/{REGISTRY}/models/taxi-fare/versions/1",
                )
            )
        with pytest.raises(ValidationException, match="Unsupported azureml type"):
            prod.online_deployments.begin_create_or_update(
                ManagedOnlineDeployment(
                    name="wrong", endpoint_name="taxi-reg", model=Environment(name="e", image=IMAGE)
                )
            )
        with pytest.raises(ResourceNotFoundError, match="taxi-mlflow:4"):
            prod.online_deployments.begin_create_or_update(
                ManagedOnlineDeployment(
                    name="missing",
                    endpoint_name="taxi-reg",
                    model=f"azureml://registries/{REGISTRY}/models/taxi-mlflow/versions/4",
                )
            )
        assert list(prod.online_deployments.list("taxi-reg")) == []
        # The registry's Model object itself, no-code MLflow deployment.
        registry = connect_registry(backend="local")
        prod.online_deployments.begin_create_or_update(
            ManagedOnlineDeployment(
                name="blue", endpoint_name="taxi-reg", model=registry.models.get("taxi-mlflow", "3")
            )
        ).result()
        deployed = prod.online_deployments.get("blue", "taxi-reg")
        assert deployed.model == shared.id
        # A fresh model copy per update: models/<deployment>/<copy>/<name>/<version>.
        (served,) = (prod.online_endpoints._records.folder("taxi-reg") / "models" / "blue").glob(
            "*/taxi-mlflow/3"
        )
        assert _sha256(served / "mlflow-model") == _sha256(Path(shared.path))
        assert not list(prod.models.list())  # prod registers nothing: it serves the registry's files
        # Rollback in one step, with the workload's procedure: the live deployment serves the
        # registry's other version, with the scoring script and the registry's environment.
        save_linear_taxi_model(tmp_path / "previous", rows=300, seed=3, alpha=500.0)
        dev.models.create_or_update(
            Model(name="taxi-mlflow", path=str(tmp_path / "previous"), type="mlflow_model")
        )
        previous = dev.models.share(
            "taxi-mlflow", "2", share_with_name="taxi-mlflow", share_with_version="2", registry_name=REGISTRY
        )
        dev.environments.create_or_update(Environment(name="taxi-score", version="1", image=IMAGE))
        environment = dev.environments.share(
            "taxi-score", "1", share_with_name="taxi-score", share_with_version="1", registry_name=REGISTRY
        )
        rollout = _workload_module("rollout")
        rollout.set_traffic(prod, "taxi-reg", {"blue": 100})
        serving = rollout.Serving("taxi-reg", environment.id, "Standard_DS3_v2")
        request = tmp_path / "request.json"
        request.write_text(_request(tmp_path / "mlflow-model"))
        before = json.loads(prod.online_endpoints.invoke("taxi-reg", request_file=str(request)))
        assert rollout.serve_in_place(prod, serving, previous, request) == "blue"
        assert prod.online_deployments.get("blue", "taxi-reg").model == previous.id
        assert prod.online_endpoints.get("taxi-reg").traffic == {"blue": 100}
        after = json.loads(prod.online_endpoints.invoke("taxi-reg", request_file=str(request)))
        assert after["predictions"] != before["predictions"]  # the other model answers now
    finally:
        prod.online_endpoints.begin_delete("taxi-reg").result()


def test_a_workspace_outside_the_registrys_regions_is_refused(dev: LocalMLClient) -> None:
    dev.models.share(
        "taxi-fare", "2", share_with_name="taxi-fare", share_with_version="2", registry_name=REGISTRY
    )
    test = _workspace("test", "eastus")
    test.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="taxi-far", auth_mode="key")
    ).result()
    try:
        with pytest.raises(HttpResponseError, match="not available in region eastus"):
            test.online_deployments.begin_create_or_update(
                ManagedOnlineDeployment(
                    name="blue",
                    endpoint_name="taxi-far",
                    model=f"azureml://registries/{REGISTRY}/models/taxi-fare/versions/2",
                )
            )
        assert list(test.online_deployments.list("taxi-far")) == []
    finally:
        test.online_endpoints.begin_delete("taxi-far").result()


def test_components_in_the_registry_name_registry_environments(dev: LocalMLClient, tmp_path: Path) -> None:
    dev.environments.create_or_update(Environment(name="taxi-train", version="1", image=IMAGE))
    environment = dev.environments.share(
        "taxi-train", "1", share_with_name="taxi-train", share_with_version="1", registry_name=REGISTRY
    )
    code = tmp_path / "src"
    code.mkdir()
    (code / "hello.py").write_text("print('hello')\n")
    registry = connect_registry(backend="local")

    def component(env: str) -> CommandComponent:
        return CommandComponent(
            name="hello", version="1", command="python hello.py", code=str(code), environment=env
        )

    with pytest.raises(ValidationException, match="Use fully qualified name"):
        registry.components.create_or_update(component("azureml:taxi-train:1"))
    created = registry.components.create_or_update(component(environment.id))
    assert created.id == f"azureml://registries/{REGISTRY}/components/hello/versions/1"
    assert registry.components.get("hello", label="latest").version == "1"
    assert [c.name for c in registry.components.list()] == ["hello"]
    snapshot = dev.home / "registries" / REGISTRY
    assert any(p.name == "hello.py" for p in snapshot.rglob("hello.py"))  # the code lives in the registry
    with pytest.raises(ResourceNotFoundError, match="registry 'mlr-taxi'"):
        registry.components.get("hello", "2")


def test_a_batch_deployment_takes_a_registry_model(dev: LocalMLClient, tmp_path: Path) -> None:
    save_linear_taxi_model(tmp_path / "mlflow-model", rows=200, seed=4)
    dev.models.create_or_update(
        Model(name="taxi-batch", path=str(tmp_path / "mlflow-model"), type="mlflow_model")
    )
    shared = dev.models.share(
        "taxi-batch", "1", share_with_name="taxi-batch", share_with_version="1", registry_name=REGISTRY
    )
    for environment, location in (("prod", "westeurope"), ("test", "eastus")):
        client = _workspace(environment, location)
        client.compute.begin_create_or_update(
            AmlCompute(name="cpu-cluster", size="Standard_DS3_v2", max_instances=1)
        ).result()
        client.batch_endpoints.begin_create_or_update(
            BatchEndpoint(name=f"taxi-batch-{environment}")
        ).result()
        deployment = ModelBatchDeployment(
            name="nightly", endpoint_name=f"taxi-batch-{environment}", model=shared.id, compute="cpu-cluster"
        )
        if location == "eastus":  # the registry does not replicate there
            with pytest.raises(HttpResponseError, match="not available in region eastus"):
                client.batch_deployments.begin_create_or_update(deployment)
            assert not list(client.batch_deployments.list(f"taxi-batch-{environment}"))
        else:
            client.batch_deployments.begin_create_or_update(deployment).result()
            assert client.batch_deployments.get("nightly", "taxi-batch-prod").model == shared.id
