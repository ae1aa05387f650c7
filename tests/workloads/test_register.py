"""register.py: registers only on promotion, moves the champion tag, never rewrites the decision."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pytest
import register
from features import read_prepared

from .conftest import MlflowStore, Prepared

MODEL_NAME = "taxi-fare"


def write_decision(folder: Path, promote: Any, model_name: str = MODEL_NAME, **extra: Any) -> Path:
    decision = {
        "promote": promote,
        "reason": "test decision",
        "margin": 0.01,
        "primary_metric": "rmse",
        "model_name": model_name,
        "challenger": {"rmse": 2.5, "mae": 1.5, "r2": 0.9},
        "champion": None,
        **extra,
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "decision.json").write_text(json.dumps(decision))
    return folder


def _argv(model: Path, evaluation: Path, output: Path) -> list[str]:
    return [
        "--model_input",
        str(model),
        "--evaluation_output",
        str(evaluation),
        "--model_name",
        MODEL_NAME,
        "--registration_output",
        str(output),
    ]


def _versions(store: MlflowStore) -> dict[str, dict[str, str]]:
    """Tags of each registered version of MODEL_NAME, by version."""
    return {str(v.version): dict(v.tags) for v in store.client.search_model_versions(f"name='{MODEL_NAME}'")}


def test_promotion_registers_a_champion_that_loads(
    tmp_path: Path, mlflow_store: MlflowStore, good_model: Path, prepared: Prepared
) -> None:
    evaluation = write_decision(tmp_path / "evaluation", promote=True)

    result = register.main(_argv(good_model, evaluation, tmp_path / "out"))

    assert result == {
        "registered": True,
        "model_name": MODEL_NAME,
        "version": "1",
        "demoted_versions": [],
        "reason": "test decision",
    }
    assert json.loads((tmp_path / "out" / "registration.json").read_text()) == result
    tags = _versions(mlflow_store)["1"]
    assert tags["champion"] == "true"
    assert (tags["test_rmse"], tags["test_mae"], tags["test_r2"]) == ("2.5", "1.5", "0.9")

    features, _ = read_prepared(prepared.test)
    registered = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/1")
    local = mlflow.pyfunc.load_model(str(good_model))
    assert (registered.predict(features) == local.predict(features)).all()

    (run,) = mlflow_store.client.search_runs([mlflow_store.experiment_id])
    assert run.data.metrics["registered"] == 1
    assert run.data.params["registered_version"] == "1"
    # The registered files are the evaluated folder, logged to the run as they were.
    logged = {Path(a.path).name for a in mlflow_store.client.list_artifacts(run.info.run_id, "model")}
    assert logged >= {p.name for p in good_model.iterdir()}


def test_second_promotion_demotes_the_previous_champion(
    tmp_path: Path, mlflow_store: MlflowStore, good_model: Path, bad_model: Path
) -> None:
    evaluation = write_decision(tmp_path / "evaluation", promote=True)

    first = register.main(_argv(bad_model, evaluation, tmp_path / "first"))
    second = register.main(_argv(good_model, evaluation, tmp_path / "second"))

    assert (first["version"], second["version"]) == ("1", "2")
    assert second["demoted_versions"] == ["1"]
    versions = _versions(mlflow_store)
    assert versions["1"]["champion"] == "false"
    assert versions["2"]["champion"] == "true"


def test_no_promotion_registers_nothing(tmp_path: Path, mlflow_store: MlflowStore, good_model: Path) -> None:
    evaluation = write_decision(tmp_path / "evaluation", promote=False)

    for attempt in ("first", "second"):  # a re-run does not register either
        result = register.main(_argv(good_model, evaluation, tmp_path / attempt))
        assert result["registered"] is False
        assert result["version"] is None

    assert mlflow_store.client.search_registered_models() == []
    written = json.loads((tmp_path / "second" / "registration.json").read_text())
    assert written == {
        "registered": False,
        "model_name": MODEL_NAME,
        "version": None,
        "demoted_versions": [],
        "reason": "test decision",
    }


def test_no_promotion_keeps_the_champion(
    tmp_path: Path, mlflow_store: MlflowStore, good_model: Path, bad_model: Path
) -> None:
    register.main(_argv(good_model, write_decision(tmp_path / "yes", promote=True), tmp_path / "a"))
    register.main(_argv(bad_model, write_decision(tmp_path / "no", promote=False), tmp_path / "b"))

    versions = _versions(mlflow_store)
    assert list(versions) == ["1"]
    assert versions["1"]["champion"] == "true"


def test_every_promoting_run_registers_a_new_version(
    tmp_path: Path, mlflow_store: MlflowStore, good_model: Path
) -> None:
    """Re-running a promoting step registers again: a new version each time, one champion."""
    evaluation = write_decision(tmp_path / "evaluation", promote=True)

    register.main(_argv(good_model, evaluation, tmp_path / "a"))
    register.main(_argv(good_model, evaluation, tmp_path / "b"))

    versions = _versions(mlflow_store)
    assert sorted(versions) == ["1", "2"]
    assert [v for v, tags in versions.items() if tags["champion"] == "true"] == ["2"]


def test_the_decision_file_is_left_as_it_was(tmp_path: Path, good_model: Path) -> None:
    for promote in (True, False):
        evaluation = write_decision(tmp_path / f"evaluation-{promote}", promote=promote)
        before = (evaluation / "decision.json").read_bytes()
        result = register.main(_argv(good_model, evaluation, tmp_path / f"out-{promote}"))
        assert result["registered"] is promote
        assert (evaluation / "decision.json").read_bytes() == before


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (None, FileNotFoundError, "no decision.json in"),
        ("{not json", ValueError, "is not valid JSON"),
        ("[true]", ValueError, "must hold a JSON object"),
        ('{"reason": "r"}', ValueError, "'promote' must be true or false, got None"),
        ('{"promote": "true", "reason": "r"}', ValueError, "'promote' must be true or false, got 'true'"),
        ('{"promote": 1, "reason": "r"}', ValueError, "'promote' must be true or false, got 1"),
        ('{"promote": true}', ValueError, "'reason' must be a string"),
        (
            '{"promote": true, "reason": "r", "model_name": "other"}',
            ValueError,
            "decides about model 'other', not --model_name 'taxi-fare'",
        ),
    ],
)
def test_a_missing_or_malformed_decision_is_an_error(
    tmp_path: Path,
    mlflow_store: MlflowStore,
    good_model: Path,
    content: str | None,
    error: type[Exception],
    message: str,
) -> None:
    evaluation = tmp_path / "evaluation"
    evaluation.mkdir()
    if content is not None:
        (evaluation / "decision.json").write_text(content)

    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        register.main(_argv(good_model, evaluation, tmp_path / "out"))

    assert mlflow_store.client.search_registered_models() == []
    assert not (tmp_path / "out").exists()


def test_promotion_needs_an_mlflow_model_folder(tmp_path: Path, mlflow_store: MlflowStore) -> None:
    (tmp_path / "not-a-model").mkdir()
    evaluation = write_decision(tmp_path / "evaluation", promote=True)
    with pytest.raises(FileNotFoundError, match="is not an MLflow model folder"):
        register.main(_argv(tmp_path / "not-a-model", evaluation, tmp_path / "out"))
    assert mlflow_store.client.search_registered_models() == []
