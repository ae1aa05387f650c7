"""``ml_client.models`` on the local backend: versions, labels, archiving, and MLflow's registry."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
from azure.ai.ml import Input, Output, command
from azure.ai.ml.constants import AssetTypes, ListViewType
from azure.ai.ml.entities import Model
from azure.ai.ml.exceptions import ValidationException
from azure.core.exceptions import ResourceNotFoundError

from accelerator.local import LocalMLClient

pytestmark = pytest.mark.usefixtures("no_stray_processes")

ENVIRONMENT = "azureml:taxi-train:1"  # registered by the jobs_client fixture
COMPUTE = "cpu-cluster"


class Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return model_input * 2


def _folder(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def _downloaded(client: LocalMLClient, name: str, version: str, target: Path) -> dict[str, bytes]:
    """The files of a downloaded model version, by their path relative to ``<target>/<name>``."""
    client.models.download(name, version, download_path=target)
    root = target / name
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _run(client: LocalMLClient, job: object) -> str:
    submitted = client.jobs.create_or_update(job)
    client.jobs.stream(submitted.name)
    assert client.jobs.get(submitted.name).status == "Completed"
    return submitted.name


def test_a_model_from_a_job_output(jobs_client: LocalMLClient, tmp_path: Path) -> None:
    code = _folder(
        tmp_path / "src",
        {
            "train.py": "import pathlib, sys\npathlib.Path(sys.argv[1], 'weights.txt').write_text('w=2')\n",
            "use.py": "import pathlib, sys\n"
            "print('weights:', pathlib.Path(sys.argv[1], 'weights.txt').read_text())\n",
        },
    )
    train = _run(
        jobs_client,
        command(
            code=str(code),
            command="python train.py ${{outputs.model}}",
            outputs={"model": Output(type=AssetTypes.URI_FOLDER)},
            environment=ENVIRONMENT,
            compute=COMPUTE,
        ),
    )
    model = jobs_client.models.create_or_update(
        Model(name="taxi-model", path=f"azureml://jobs/{train}/outputs/model", type=AssetTypes.CUSTOM_MODEL)
    )
    assert (model.name, model.version, model.type) == ("taxi-model", "1", AssetTypes.CUSTOM_MODEL)
    assert model.path == f"azureml://jobs/{train}/outputs/model"
    assert model.job_name == train
    assert model.id.endswith("/workspaces/mlw-taxi-dev/models/taxi-model/versions/1")
    assert list(_downloaded(jobs_client, "taxi-model", "1", tmp_path / "download").values()) == [b"w=2"]

    # A job takes the registered model as an input.
    use = jobs_client.jobs.create_or_update(
        command(
            code=str(code),
            command="python use.py ${{inputs.model}}",
            inputs={"model": Input(type=AssetTypes.CUSTOM_MODEL, path="azureml:taxi-model:1")},
            environment=ENVIRONMENT,
            compute=COMPUTE,
        )
    )
    jobs_client.jobs.stream(use.name)
    jobs_client.jobs.download(use.name, download_path=tmp_path / "logs")
    assert "weights: w=2" in (tmp_path / "logs" / "artifacts" / "user_logs" / "std_log.txt").read_text()

    with pytest.raises(ValidationException, match="no output 'weights'"):
        jobs_client.models.create_or_update(
            Model(name="taxi-model", path=f"azureml://jobs/{train}/outputs/weights")
        )
    with pytest.raises(ResourceNotFoundError, match="no-such-job"):
        jobs_client.models.create_or_update(
            Model(name="taxi-model", path="azureml://jobs/no-such-job/outputs/model")
        )
    assert [m.version for m in jobs_client.models.list("taxi-model")] == ["1"]


def test_versions_labels_and_tags(jobs_client: LocalMLClient, tmp_path: Path) -> None:
    folders = [_folder(tmp_path / f"v{i}", {"weights.txt": f"version {i}"}) for i in (1, 2, 3)]
    versions = [
        jobs_client.models.create_or_update(Model(name="fare", path=str(folder), tags={"n": str(i)})).version
        for i, folder in enumerate(folders, start=1)
    ]
    assert versions == ["1", "2", "3"]
    assert jobs_client.models.get("fare", "2").tags == {"n": "2"}
    assert jobs_client.models.get("fare", label="latest").version == "3"
    assert list(_downloaded(jobs_client, "fare", "2", tmp_path / "download").values()) == [b"version 2"]
    # The version's files were copied: changing the folder changes nothing registered.
    (folders[1] / "weights.txt").write_text("changed")
    assert list(_downloaded(jobs_client, "fare", "2", tmp_path / "again").values()) == [b"version 2"]
    (folders[1] / "weights.txt").write_text("version 2")

    # An explicit version: any new one the caller chooses (issue 13, gap 12: Azure ML accepts it), or
    # an existing one with the same files (tags change).
    chosen = jobs_client.models.create_or_update(Model(name="fare", version="7", path=str(folders[0])))
    assert chosen.version == "7"
    assert list(_downloaded(jobs_client, "fare", "7", tmp_path / "chosen").values()) == [b"version 1"]
    updated = jobs_client.models.create_or_update(
        Model(name="fare", version="2", path=str(folders[1]), tags={"n": "2", "stage": "candidate"})
    )
    assert updated.version == "2"
    assert jobs_client.models.get("fare", "2").tags == {"n": "2", "stage": "candidate"}
    with pytest.raises(ValidationException, match="another path"):
        jobs_client.models.create_or_update(Model(name="fare", version="2", path=str(folders[0])))
    explicit = jobs_client.models.create_or_update(Model(name="fare", version="4", path=str(folders[0])))
    assert explicit.version == "4"
    # Azure ML's next version is one more than the largest integer version, not MLflow's count.
    assert jobs_client.models.create_or_update(Model(name="fare", path=str(folders[2]))).version == "8"
    assert [m.version for m in jobs_client.models.list("fare")] == ["1", "2", "3", "7", "4", "8"]
    assert jobs_client.models.get("fare", label="latest").version == "8"
    with pytest.raises(ValidationException, match="Invalid version"):
        jobs_client.models.create_or_update(Model(name="fare", version="../1", path=str(folders[0])))

    with pytest.raises(ValidationException, match="both version and label"):
        jobs_client.models.get("fare", version="1", label="latest")
    with pytest.raises(ValidationException, match="either version or label"):
        jobs_client.models.get("fare")
    with pytest.raises(ResourceNotFoundError, match="fare:9"):
        jobs_client.models.get("fare", "9")
    with pytest.raises(ResourceNotFoundError, match="no-such-model"):
        jobs_client.models.get("no-such-model", label="latest")
    with pytest.raises(ResourceNotFoundError):
        jobs_client.models.get("no-such-model", "1")
    with pytest.raises(ValidationException, match="No such file or directory"):
        jobs_client.models.create_or_update(Model(name="fare", path=str(tmp_path / "missing")))


def test_list_archive_and_restore(jobs_client: LocalMLClient, tmp_path: Path) -> None:
    folder = _folder(tmp_path / "model", {"weights.txt": "w"})
    for _ in range(3):
        jobs_client.models.create_or_update(Model(name="fare", path=str(folder)))
    jobs_client.models.create_or_update(Model(name="tip", path=str(folder)))

    assert [m.version for m in jobs_client.models.list("fare")] == ["1", "2", "3"]
    assert sorted((m.name, m.version) for m in jobs_client.models.list()) == [("fare", "3"), ("tip", "1")]

    jobs_client.models.archive("fare", "3")
    assert [m.version for m in jobs_client.models.list("fare")] == ["1", "2"]
    assert jobs_client.models.get("fare", label="latest").version == "2"
    assert sorted((m.name, m.version) for m in jobs_client.models.list()) == [("fare", "2"), ("tip", "1")]
    assert [
        m.version for m in jobs_client.models.list("fare", list_view_type=ListViewType.ARCHIVED_ONLY)
    ] == ["3"]
    assert [m.version for m in jobs_client.models.list("fare", list_view_type=ListViewType.ALL)] == [
        "1",
        "2",
        "3",
    ]
    assert jobs_client.models.get("fare", "3").version == "3"  # archived versions can still be read

    jobs_client.models.restore("fare", "3")
    assert jobs_client.models.get("fare", label="latest").version == "3"

    jobs_client.models.archive("tip")  # every version
    assert [m.name for m in jobs_client.models.list()] == ["fare"]
    with pytest.raises(ResourceNotFoundError):  # no version left for 'latest' to name
        jobs_client.models.get("tip", label="latest")
    jobs_client.models.restore("tip")
    assert sorted(m.name for m in jobs_client.models.list()) == ["fare", "tip"]


def test_an_mlflow_model_needs_an_mlmodel_file(jobs_client: LocalMLClient, tracking, tmp_path: Path) -> None:
    plain = _folder(tmp_path / "plain", {"weights.txt": "w"})
    with pytest.raises(ValidationException, match="MLmodel"):
        jobs_client.models.create_or_update(
            Model(name="doubler", path=str(plain), type=AssetTypes.MLFLOW_MODEL)
        )
    with pytest.raises(ResourceNotFoundError):
        jobs_client.models.get("doubler", label="latest")

    saved = tmp_path / "doubler"
    mlflow.pyfunc.save_model(saved, python_model=Doubler(), pip_requirements=[])
    model = jobs_client.models.create_or_update(
        Model(name="doubler", path=str(saved), type=AssetTypes.MLFLOW_MODEL, description="twice the input")
    )
    assert (model.version, model.type, model.description) == ("1", AssetTypes.MLFLOW_MODEL, "twice the input")
    # MLflow loads it from the same registry.
    loaded = mlflow.pyfunc.load_model("models:/doubler/1")
    pd.testing.assert_frame_equal(loaded.predict(pd.DataFrame({"x": [1, 2]})), pd.DataFrame({"x": [2, 4]}))
    assert any(p.endswith("MLmodel") for p in _downloaded(jobs_client, "doubler", "1", tmp_path / "download"))


def test_a_model_from_a_run_artifact(jobs_client: LocalMLClient, tracking, tmp_path: Path) -> None:
    weights = tmp_path / "weights.txt"
    weights.write_text("from a run")
    mlflow.set_experiment("notebook")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(weights), "model")
    model = jobs_client.models.create_or_update(Model(name="from-run", path=f"runs:/{run.info.run_id}/model"))
    assert (model.version, model.type) == ("1", AssetTypes.CUSTOM_MODEL)
    assert model.path == f"runs:/{run.info.run_id}/model"
    assert model.job_name == run.info.run_id
    assert _downloaded(jobs_client, "from-run", "1", tmp_path / "download") == {
        "model/weights.txt": b"from a run"
    }
    with pytest.raises(ValidationException, match="no artifact 'nothing-here'"):
        jobs_client.models.create_or_update(
            Model(name="from-run", path=f"runs:/{run.info.run_id}/nothing-here")
        )


def test_ml_client_and_mlflow_share_one_registry(
    jobs_client: LocalMLClient, tracking, tmp_path: Path
) -> None:
    # Registered with MLflow: listed by ml_client.models, as an MLflow model.
    saved = tmp_path / "doubler"
    mlflow.pyfunc.save_model(saved, python_model=Doubler(), pip_requirements=[])
    mlflow.set_experiment("notebook")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(saved), "model")
    registered = mlflow.register_model(f"runs:/{run.info.run_id}/model", "via-mlflow")
    assert str(registered.version) == "1"
    tracking.create_model_version("via-mlflow", source=str(saved), tags={"origin": "client"})

    assert [m.version for m in jobs_client.models.list("via-mlflow")] == ["1", "2"]
    model = jobs_client.models.get("via-mlflow", label="latest")
    assert (model.version, model.type, model.tags) == ("2", AssetTypes.MLFLOW_MODEL, {"origin": "client"})
    assert "via-mlflow" in [m.name for m in jobs_client.models.list()]
    assert any(
        p.endswith("MLmodel") for p in _downloaded(jobs_client, "via-mlflow", "1", tmp_path / "download")
    )

    # Registered with ml_client.models: MLflow sees the version, and the next one follows it.
    folder = _folder(tmp_path / "custom", {"weights.txt": "w"})
    created = jobs_client.models.create_or_update(Model(name="via-mlflow", path=str(folder), tags={"k": "v"}))
    assert created.version == "3"
    found = {str(v.version): v for v in tracking.search_model_versions("name='via-mlflow'")}
    assert sorted(found) == ["1", "2", "3"]
    assert found["3"].tags["k"] == "v"
    assert tracking.get_registered_model("via-mlflow").name == "via-mlflow"
    # mlflow_model versions registered here load with MLflow.
    mlflow_model = jobs_client.models.create_or_update(
        Model(name="via-mlflow", path=str(saved), type=AssetTypes.MLFLOW_MODEL)
    )
    before = _downloaded(jobs_client, "via-mlflow", mlflow_model.version, tmp_path / "before")
    loaded = mlflow.pyfunc.load_model(f"models:/via-mlflow/{mlflow_model.version}")
    assert loaded.predict(pd.DataFrame({"x": [5]}))["x"].tolist() == [10]
    # Loading reads a copy, as from Azure's storage: the registered files are never written to
    # (MLflow writes a registered_model_meta file into what it loads from).
    after = _downloaded(jobs_client, "via-mlflow", mlflow_model.version, tmp_path / "after")
    assert sorted(Path(p).name for p in after) == sorted(Path(p).name for p in before)
    assert not any(p.endswith("registered_model_meta") for p in after)
