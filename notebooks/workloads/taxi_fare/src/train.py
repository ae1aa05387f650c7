"""Train a taxi fare regressor and save it as an MLflow model.

Usage::

    python train.py --train_data <folder> --validation_data <folder> \\
        --model_output <folder> [--model gradient_boosting|linear] \\
        [--learning_rate 0.1] [--max_iter 100] [--max_depth 0] \\
        [--l2_regularization 0.0] [--alpha 1.0] [--random_state 42]

The data folders are outputs of ``prep.py``. ``gradient_boosting`` is
scikit-learn's HistGradientBoostingRegressor (``--max_depth 0`` means no
limit); ``linear`` is a StandardScaler + Ridge(``--alpha``) pipeline. The
model is saved with ``mlflow.sklearn.save_model`` into ``--model_output``;
validation metrics are logged to the MLflow run.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import sklearn
from features import read_prepared
from mlflow.models import infer_signature
from sklearn.base import RegressorMixin
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from tracking import mlflow_run, regression_metrics

MODELS = ("gradient_boosting", "linear")

#: How models are serialized: skops, which loads only allow-listed types
#: (pickle runs whatever code the file holds).
SERIALIZATION_FORMAT = "skops"

#: Types skops may load beyond its defaults: the trees of
#: HistGradientBoostingRegressor. Only trust models this workload wrote.
SKOPS_TRUSTED_TYPES = [
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
]


def pip_requirements() -> list[str]:
    """Pins of the libraries a saved model needs: the versions it was made with.

    skops reads the model file (see :data:`SERIALIZATION_FORMAT`); MLflow adds
    its own pin.
    """
    return [
        f"scikit-learn=={sklearn.__version__}",
        f"pandas=={pd.__version__}",
        f"numpy=={np.__version__}",
        f"skops=={version('skops')}",
    ]


def _checked(kind: type, minimum: float, strict: bool = False):
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a valid {kind.__name__}"
            ) from None
        if value < minimum or (strict and value == minimum):
            sign = ">" if strict else ">="
            raise argparse.ArgumentTypeError(
                f"{value} must be {sign} {minimum}"
            )
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Train a taxi fare model.")
    parser.add_argument(
        "--train_data", required=True, help="folder written by prep.py"
    )
    parser.add_argument(
        "--validation_data", required=True, help="folder written by prep.py"
    )
    parser.add_argument(
        "--model_output",
        required=True,
        help="output folder for the MLflow model (absent or empty)",
    )
    parser.add_argument(
        "--model",
        choices=MODELS,
        default="gradient_boosting",
        help="model family (default gradient_boosting)",
    )
    parser.add_argument(
        "--learning_rate",
        type=_checked(float, 0.0, strict=True),
        default=0.1,
        help="gradient boosting learning rate (default 0.1)",
    )
    parser.add_argument(
        "--max_iter",
        type=_checked(int, 1),
        default=100,
        help="gradient boosting iterations (default 100)",
    )
    parser.add_argument(
        "--max_depth",
        type=_checked(int, 0),
        default=0,
        help="gradient boosting tree depth; 0 (default) means no limit",
    )
    parser.add_argument(
        "--l2_regularization",
        type=_checked(float, 0.0),
        default=0.0,
        help="gradient boosting L2 regularization (default 0.0)",
    )
    parser.add_argument(
        "--alpha",
        type=_checked(float, 0.0),
        default=1.0,
        help="ridge regularization strength of the linear model (default 1)",
    )
    parser.add_argument(
        "--random_state",
        type=int,
        default=42,
        help="seed of the model (default 42)",
    )
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def model_params(args: argparse.Namespace) -> dict[str, Any]:
    """The hyperparameters that apply to the chosen model family."""
    if args.model == "linear":
        return {"model": "linear", "alpha": args.alpha}
    return {
        "model": "gradient_boosting",
        "learning_rate": args.learning_rate,
        "max_iter": args.max_iter,
        "max_depth": args.max_depth or None,
        "l2_regularization": args.l2_regularization,
        "random_state": args.random_state,
    }


def build_model(params: dict[str, Any]) -> RegressorMixin | Pipeline:
    """An unfitted estimator for :func:`model_params` output."""
    if params["model"] == "linear":
        return make_pipeline(StandardScaler(), Ridge(alpha=params["alpha"]))
    if params["model"] == "gradient_boosting":
        return HistGradientBoostingRegressor(
            learning_rate=params["learning_rate"],
            max_iter=params["max_iter"],
            max_depth=params["max_depth"],
            l2_regularization=params["l2_regularization"],
            random_state=params["random_state"],
            early_stopping=False,
        )
    raise ValueError(
        f"unknown model {params['model']!r}; choose one of {MODELS}"
    )


def save_model(model: Any, folder: str | Path, example: pd.DataFrame) -> Path:
    """Save ``model`` as an MLflow model in ``folder``.

    Azure ML hands the step an existing empty output folder, while
    ``save_model`` wants a path it creates itself: the model is saved to a
    temporary folder and copied in.

    Raises:
        FileExistsError: if ``folder`` already holds an MLflow model.
    """
    folder = Path(folder)
    if (folder / "MLmodel").exists():
        raise FileExistsError(
            f"--model_output {folder} already holds an MLflow model; "
            "pass an empty or new folder"
        )
    example = example.head(5)
    signature = infer_signature(example, model.predict(example))
    with tempfile.TemporaryDirectory() as scratch:
        staged = Path(scratch) / "model"
        mlflow.sklearn.save_model(
            model,
            str(staged),
            signature=signature,
            input_example=example,
            pip_requirements=pip_requirements(),
            serialization_format=SERIALIZATION_FORMAT,
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staged, folder, dirs_exist_ok=True)
    return folder


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the step; returns the run id and the logged metrics."""
    args = parse_args(argv)
    x_train, y_train = read_prepared(args.train_data)
    x_validation, y_validation = read_prepared(args.validation_data)
    params = model_params(args)
    model = build_model(params)

    with mlflow_run() as run:
        mlflow.log_params(
            {
                **params,
                "train_rows": len(x_train),
                "validation_rows": len(x_validation),
                "features": ",".join(x_train.columns),
            }
        )
        started = time.perf_counter()
        model.fit(x_train, y_train)
        seconds = time.perf_counter() - started
        scores = regression_metrics(y_validation, model.predict(x_validation))
        metrics = {f"validation_{name}": v for name, v in scores.items()}
        metrics["training_seconds"] = seconds
        mlflow.log_metrics(metrics)
        run_id = run.info.run_id

    save_model(model, args.model_output, x_train)
    print(
        # No time or path: the log should read the same on every run.
        f"Trained {params['model']} on {len(x_train)} rows: validation "
        f"RMSE {scores['rmse']:.3f}, MAE {scores['mae']:.3f}, "
        f"R² {scores['r2']:.3f}"
    )
    return {"run_id": run_id, "metrics": metrics}


if __name__ == "__main__":
    main()
