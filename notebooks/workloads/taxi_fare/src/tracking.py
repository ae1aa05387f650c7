"""MLflow and file helpers shared by the taxi fare steps."""

from __future__ import annotations

import argparse
import json
import math
import numbers
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from sklearn.metrics import (
    mean_absolute_error,
    r2_score,
    root_mean_squared_error,
)

#: Tag of the registered model version that is the current champion.
CHAMPION_TAG = "champion"

_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")


@contextmanager
def mlflow_run() -> Iterator[mlflow.ActiveRun]:
    """The active MLflow run, or a new one for the duration of the block.

    Inside an Azure ML job ``MLFLOW_RUN_ID`` is set, so ``start_run()``
    attaches to the job's own run. A caller that already started a run (a
    notebook, a test) gets its metrics logged there.
    """
    active = mlflow.active_run()
    if active is not None:
        yield active
        return
    with mlflow.start_run() as run:
        yield run


def regression_metrics(actual: Any, predicted: Any) -> dict[str, float]:
    """RMSE, MAE and R² of predictions."""
    return {
        "rmse": float(root_mean_squared_error(actual, predicted)),
        "mae": float(mean_absolute_error(actual, predicted)),
        "r2": float(r2_score(actual, predicted)),
    }


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def is_finite_number(value: Any) -> bool:
    """A real number (numpy's too, not bool), neither NaN nor infinite."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, (bool, np.bool_))
        and math.isfinite(value)
    )


def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not _MODEL_NAME.match(name):
        raise ValueError(
            f"model name {name!r} is not valid: use letters, digits, '-', "
            "'_' and '.', starting with a letter or digit"
        )
    return name


def argparse_type(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type``: ``check``'s ValueError becomes a usage error."""

    def parse(text: str) -> Any:
        try:
            return check(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse
