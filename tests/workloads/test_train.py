"""train.py: both model families train from prep's output, save a loadable MLflow model and log metrics."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import mlflow
import mlflow.pyfunc
import numpy as np
import pytest
import train
import yaml
from features import FEATURE_COLUMNS, read_prepared

from .conftest import MlflowStore, Prepared

METRICS = {"validation_rmse", "validation_mae", "validation_r2", "training_seconds"}


def _argv(prepared: Prepared, model_output: Path, *flags: str) -> list[str]:
    return [
        "--train_data",
        str(prepared.train),
        "--validation_data",
        str(prepared.validation),
        "--model_output",
        str(model_output),
        *flags,
    ]


@pytest.mark.parametrize(
    ("flags", "expected_params", "min_r2"),
    [
        (
            [],
            {"model": "gradient_boosting", "learning_rate": "0.1", "max_iter": "100", "max_depth": "None"},
            0.85,
        ),
        (["--model", "linear", "--alpha", "2.5"], {"model": "linear", "alpha": "2.5"}, 0.6),
    ],
    ids=["gradient_boosting", "linear"],
)
def test_trains_saves_a_loadable_model_and_logs_metrics(
    tmp_path: Path,
    mlflow_store: MlflowStore,
    prepared: Prepared,
    flags: list[str],
    expected_params: dict[str, str],
    min_r2: float,
) -> None:
    result = train.main(_argv(prepared, tmp_path / "model", *flags))

    model = mlflow.pyfunc.load_model(str(tmp_path / "model"))
    features, target = read_prepared(prepared.test)
    predictions = np.asarray(model.predict(features))
    assert predictions.shape == (len(target),)
    assert np.isfinite(predictions).all()

    run = mlflow_store.client.get_run(result["run_id"])
    assert set(run.data.metrics) >= METRICS
    assert run.data.metrics == result["metrics"]
    assert run.data.metrics["validation_r2"] > min_r2
    assert run.data.metrics["validation_rmse"] > 0
    assert expected_params.items() <= run.data.params.items()
    assert run.data.params["train_rows"] == str(len(read_prepared(prepared.train)[1]))


def test_model_has_the_feature_signature_and_pinned_requirements(tmp_path: Path, prepared: Prepared) -> None:
    train.main(_argv(prepared, tmp_path / "model", "--max_iter", "10"))

    mlmodel = yaml.safe_load((tmp_path / "model" / "MLmodel").read_text())
    assert "sklearn" in mlmodel["flavors"]
    signature = mlflow.models.Model.load(str(tmp_path / "model")).signature
    assert signature.inputs.input_names() == list(FEATURE_COLUMNS)
    requirements = (tmp_path / "model" / "requirements.txt").read_text().splitlines()
    import numpy
    import pandas
    import sklearn

    for pin in (
        f"scikit-learn=={sklearn.__version__}",
        f"pandas=={pandas.__version__}",
        f"numpy=={numpy.__version__}",
        f"skops=={version('skops')}",
    ):
        assert pin in requirements
    assert any(line.startswith("mlflow==") for line in requirements)


def test_saves_into_an_existing_empty_folder(tmp_path: Path, prepared: Prepared) -> None:
    """Azure ML creates the output folder before the script runs."""
    (tmp_path / "model").mkdir()
    train.main(_argv(prepared, tmp_path / "model", "--max_iter", "10"))
    assert (tmp_path / "model" / "MLmodel").is_file()


def test_refuses_a_folder_that_already_holds_a_model(tmp_path: Path, prepared: Prepared) -> None:
    train.main(_argv(prepared, tmp_path / "model", "--max_iter", "10"))
    with pytest.raises(FileExistsError, match="already holds an MLflow model"):
        train.main(_argv(prepared, tmp_path / "model", "--max_iter", "10"))


def test_logs_into_the_callers_active_run(
    tmp_path: Path, mlflow_store: MlflowStore, prepared: Prepared
) -> None:
    with mlflow.start_run() as outer:
        result = train.main(_argv(prepared, tmp_path / "model", "--max_iter", "10"))
    assert result["run_id"] == outer.info.run_id
    assert len(mlflow_store.client.search_runs([mlflow_store.experiment_id])) == 1


def test_hyperparameters_reach_the_estimator() -> None:
    required = ["--train_data", "t", "--validation_data", "v", "--model_output", "m"]
    tuned = ["--max_depth", "4", "--learning_rate", "0.05", "--max_iter", "7", "--l2_regularization", "0.5"]
    args = train.parse_args([*required, *tuned])
    model = train.build_model(train.model_params(args))
    assert (model.max_depth, model.learning_rate, model.max_iter, model.l2_regularization) == (
        4,
        0.05,
        7,
        0.5,
    )

    unlimited = train.parse_args(required)
    assert train.build_model(train.model_params(unlimited)).max_depth is None

    linear = train.parse_args([*required, "--model", "linear"])
    pipeline = train.build_model(train.model_params(linear))
    assert [name for name, _ in pipeline.steps] == ["standardscaler", "ridge"]
    assert pipeline.named_steps["ridge"].alpha == 1.0


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--model", "forest"], "invalid choice: 'forest'"),
        (["--learning_rate", "0"], "0.0 must be > 0.0"),
        (["--max_iter", "0"], "0 must be >= 1"),
        (["--max_depth", "-1"], "-1 must be >= 0"),
        (["--alpha", "-2"], "-2.0 must be >= 0.0"),
        (["--max_iter", "ten"], "'ten' is not a valid int"),
    ],
)
def test_bad_hyperparameters_are_usage_errors(
    capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        train.parse_args(["--train_data", "t", "--validation_data", "v", "--model_output", "m", *flags])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_training_data_is_an_error(tmp_path: Path, prepared: Prepared) -> None:
    argv = _argv(prepared, tmp_path / "model")
    argv[1] = str(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no prepared data"):
        train.main(argv)
    assert not (tmp_path / "model").exists()
