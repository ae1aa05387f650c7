"""Fixtures for the taxi fare workload scripts: their folder on sys.path, a fresh MLflow store
per test, and prepared data and models shared by the whole session.

The scripts are what Azure ML runs (`code: ../src`, so they import each other as sibling
modules); the tests import them the same way.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Before MLflow is imported: it starts its telemetry client at import time.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

REPO = Path(__file__).resolve().parents[2]
WORKLOAD = REPO / "notebooks" / "workloads" / "taxi_fare"
SRC = WORKLOAD / "src"
COMPONENTS = WORKLOAD / "components"

if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

import mlflow  # noqa: E402
import prep  # noqa: E402
import train  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from accelerator.data import generate_trips  # noqa: E402

#: Rows of the shared data set: enough for stable metrics, small enough to train in well under 1 s.
N_ROWS = 3000


@dataclass(frozen=True)
class MlflowStore:
    uri: str
    experiment_id: str
    client: mlflow.MlflowClient


@dataclass(frozen=True)
class Prepared:
    train: Path
    validation: Path
    test: Path


@pytest.fixture(scope="session", autouse=True)
def _one_openmp_thread():
    """Gradient boosting on a few thousand rows is quickest on one thread, and OpenMP threads that
    spin-wait for each other slow it down badly when other processes share the two cores."""
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, fully migrated MLflow SQLite database; copying it is much faster than migrating."""
    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture(autouse=True)
def mlflow_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_template: Path
) -> Iterator[MlflowStore]:
    """A fresh SQLite tracking store and registry in tmp_path, with an experiment whose artifacts
    also live there; cwd is tmp_path. Environment variables carry it to subprocesses."""
    database = tmp_path / "mlflow.db"
    shutil.copyfile(mlflow_template, database)
    uri = f"sqlite:///{database}"
    for variable in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment_id = client.create_experiment(
        "workloads", artifact_location=(tmp_path / "mlartifacts").as_uri()
    )
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", experiment_id)
    yield MlflowStore(uri=uri, experiment_id=experiment_id, client=client)
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


@pytest.fixture(scope="session")
def trips():
    return generate_trips(N_ROWS, seed=7)


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory, trips) -> Prepared:
    """Train/validation/test folders as prep.py writes them (made without MLflow)."""
    root = tmp_path_factory.mktemp("prepared")
    frame, _ = prep.engineer_features(trips)
    parts = prep.split_frame(frame, validation_size=0.15, test_size=0.15, seed=42)
    folders = Prepared(train=root / "train", validation=root / "validation", test=root / "test")
    for part, folder in zip(parts, (folders.train, folders.validation, folders.test), strict=True):
        prep.write_split(part, folder)
    return folders


def _fit_and_save(prepared: Prepared, folder: Path, argv: list[str]) -> Path:
    from features import read_prepared

    args = train.parse_args(["--train_data", "-", "--validation_data", "-", "--model_output", "-", *argv])
    model = train.build_model(train.model_params(args))
    features, target = read_prepared(prepared.train)
    model.fit(features, target)
    return train.save_model(model, folder, features)


@pytest.fixture(scope="session")
def good_model(tmp_path_factory: pytest.TempPathFactory, prepared: Prepared) -> Path:
    """MLflow model folder of a default gradient boosting model."""
    return _fit_and_save(prepared, tmp_path_factory.mktemp("good") / "model", [])


@pytest.fixture(scope="session")
def bad_model(tmp_path_factory: pytest.TempPathFactory, prepared: Prepared) -> Path:
    """MLflow model folder of a ridge regression so regularised it predicts about the mean fare."""
    return _fit_and_save(
        prepared, tmp_path_factory.mktemp("bad") / "model", ["--model", "linear", "--alpha", "1e6"]
    )
