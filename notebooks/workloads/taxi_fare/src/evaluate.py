"""Score a challenger against the current champion; decide on promotion.

Usage::

    python evaluate.py --model_input <mlflow model folder> \\
        --test_data <folder> --model_name taxi-fare \\
        --evaluation_output <folder> [--margin 0.01]

The champion is the version of the registered model ``--model_name`` tagged
``champion=true``. Both models score the same test rows; the challenger is
promoted if there is no champion, or if its RMSE is at least ``--margin``
(a fraction) lower than the champion's. Writes ``metrics.json``,
``decision.json`` and ``predictions.png`` to ``--evaluation_output``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: no display on a compute cluster

import matplotlib.pyplot as plt
import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
from features import read_prepared
from mlflow.entities.model_registry import ModelVersion
from tracking import (
    CHAMPION_TAG,
    argparse_type,
    check_model_name,
    is_finite_number,
    mlflow_run,
    regression_metrics,
    write_json,
)

PRIMARY_METRIC = "rmse"
_PLOT_POINTS = 5000


def check_margin(margin: Any) -> float:
    """``margin`` as a float in [0, 1); ValueError otherwise."""
    if not is_finite_number(margin) or not 0.0 <= margin < 1.0:
        raise ValueError(
            f"margin must be a number in [0, 1) (a fraction: 0.01 = 1%), "
            f"got {margin!r}"
        )
    return float(margin)


def decide(
    challenger_rmse: float,
    champion_rmse: float | None,
    margin: float,
) -> tuple[bool, str]:
    """Whether to promote the challenger, and why.

    Promote if there is no champion (``champion_rmse`` is None), or if
    ``challenger_rmse <= champion_rmse * (1 - margin)`` (up to rounding).

    Raises:
        ValueError: if ``margin`` is not in [0, 1) or an RMSE is not a
            finite number >= 0.
    """
    margin = check_margin(margin)
    for name, value in (
        ("challenger_rmse", challenger_rmse),
        ("champion_rmse", champion_rmse),
    ):
        if value is None and name == "champion_rmse":
            continue
        if not is_finite_number(value) or value < 0:
            raise ValueError(
                f"{name} must be a finite number >= 0, got {value!r}"
            )
    if champion_rmse is None:
        return True, (
            f"No current champion: the challenger (test RMSE "
            f"{challenger_rmse:.4f}) becomes the first champion."
        )
    threshold = champion_rmse * (1.0 - margin)
    # Exactly at the threshold counts as "at least margin lower", whatever
    # the floating point rounding of the threshold (3.0 * 0.99 < 2.97).
    promote = challenger_rmse <= threshold or math.isclose(
        challenger_rmse, threshold, rel_tol=1e-9
    )
    change = ""
    if champion_rmse > 0:
        relative = (challenger_rmse - champion_rmse) / champion_rmse
        direction = "lower" if relative <= 0 else "higher"
        change = f", {abs(relative):.1%} {direction}"
    verdict = "promote the challenger" if promote else "keep the champion"
    return promote, (
        f"Challenger test RMSE {challenger_rmse:.4f} against the champion's "
        f"{champion_rmse:.4f}{change}; promotion needs at least {margin:.1%} "
        f"lower (<= {threshold:.4f}): {verdict}."
    )


def find_champion(
    model_name: str, client: mlflow.MlflowClient | None = None
) -> ModelVersion | None:
    """The version of ``model_name`` tagged ``champion=true``, if any.

    Should several versions carry the tag (for example after an interrupted
    registration), the highest version wins.
    """
    client = client or mlflow.MlflowClient()
    versions = client.search_model_versions(f"name='{model_name}'")
    champions = [
        v
        for v in versions
        if str((v.tags or {}).get(CHAMPION_TAG, "")).lower() == "true"
    ]
    if not champions:
        return None
    return max(champions, key=lambda v: int(v.version))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Compare a challenger with the champion on test data."
    )
    parser.add_argument(
        "--model_input",
        required=True,
        help="MLflow model folder of the challenger",
    )
    parser.add_argument(
        "--test_data", required=True, help="folder written by prep.py"
    )
    parser.add_argument(
        "--model_name",
        required=True,
        type=argparse_type(check_model_name),
        help="registered model name, e.g. taxi-fare",
    )
    parser.add_argument(
        "--margin",
        type=argparse_type(lambda text: check_margin(float(text))),
        default=0.01,
        help="required relative RMSE improvement over the champion, "
        "in [0, 1) (default 0.01 = 1%%)",
    )
    parser.add_argument(
        "--evaluation_output", required=True, help="output folder"
    )
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def _score(model: Any, features: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict(features), dtype="float64").ravel()


def plot_predictions(
    actual: pd.Series, predictions: dict[str, np.ndarray]
) -> plt.Figure:
    """Predicted against actual fares, one panel per model."""
    count = len(actual)
    shown = np.arange(count)
    if count > _PLOT_POINTS:
        rng = np.random.default_rng(0)
        shown = np.sort(rng.choice(count, _PLOT_POINTS, replace=False))
    y = actual.to_numpy()[shown]
    figure, axes = plt.subplots(
        1,
        len(predictions),
        figsize=(5 * len(predictions), 4.5),
        squeeze=False,
        sharex=True,
        sharey=True,
    )
    low = float(min(y.min(), *(p[shown].min() for p in predictions.values())))
    high = float(max(y.max(), *(p[shown].max() for p in predictions.values())))
    for axis, (label, predicted) in zip(
        axes[0], predictions.items(), strict=True
    ):
        rmse = math.sqrt(float(np.mean((predicted - actual.to_numpy()) ** 2)))
        axis.scatter(y, predicted[shown], s=4, alpha=0.3)
        axis.plot([low, high], [low, high], color="black", linewidth=1)
        axis.set_title(f"{label} (test RMSE {rmse:.3f})")
        axis.set_xlabel("actual fare")
        axis.set_ylabel("predicted fare")
    figure.tight_layout()
    return figure


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the step; returns the decision written to decision.json."""
    args = parse_args(argv)
    output = Path(args.evaluation_output)
    features, actual = read_prepared(args.test_data)

    challenger = mlflow.pyfunc.load_model(str(args.model_input))
    predictions = {"challenger": _score(challenger, features)}
    challenger_metrics = regression_metrics(actual, predictions["challenger"])

    champion_version = find_champion(args.model_name)
    champion: dict[str, Any] | None = None
    if champion_version is not None:
        uri = f"models:/{args.model_name}/{champion_version.version}"
        try:
            predicted = _score(mlflow.pyfunc.load_model(uri), features)
        except Exception as error:
            raise RuntimeError(
                f"the champion {uri} cannot score the test data ({error}); "
                f"fix it or set its tag {CHAMPION_TAG}=false to retire it"
            ) from error
        label = f"champion (version {champion_version.version})"
        predictions[label] = predicted
        champion = {
            "version": str(champion_version.version),
            **regression_metrics(actual, predicted),
        }

    promote, reason = decide(
        challenger_metrics[PRIMARY_METRIC],
        None if champion is None else champion[PRIMARY_METRIC],
        args.margin,
    )
    decision = {
        "promote": promote,
        "reason": reason,
        "margin": args.margin,
        "primary_metric": PRIMARY_METRIC,
        "model_name": args.model_name,
        "challenger": challenger_metrics,
        "champion": champion,
        "test_rows": len(actual),
    }
    metrics = {
        "challenger": challenger_metrics,
        "champion": champion,
        "test_rows": len(actual),
    }
    write_json(output / "metrics.json", metrics)
    write_json(output / "decision.json", decision)
    figure = plot_predictions(actual, predictions)
    figure.savefig(output / "predictions.png", dpi=100)

    with mlflow_run():
        logged = {f"test_{k}": v for k, v in challenger_metrics.items()}
        if champion is not None:
            logged.update(
                {
                    f"champion_test_{k}": champion[k]
                    for k in ("rmse", "mae", "r2")
                }
            )
        logged["promote"] = int(promote)
        mlflow.log_metrics(logged)
        mlflow.log_params(
            {
                "model_name": args.model_name,
                "margin": args.margin,
                "champion_version": None
                if champion is None
                else champion["version"],
            }
        )
        mlflow.log_figure(figure, "predictions.png")
        mlflow.log_dict(decision, "decision.json")
    plt.close(figure)
    print(reason)
    return decision


if __name__ == "__main__":
    main()
