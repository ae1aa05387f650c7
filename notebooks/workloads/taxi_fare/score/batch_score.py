"""Batch scoring script of the taxi fare model on an Azure ML batch deployment.

Azure ML calls ``init()`` once per worker and ``run(mini_batch)`` with a list of
file paths: CSV or parquet files of trips, with the model's features as
columns (other columns are ignored). The model is the registered MLflow model
under ``AZUREML_MODEL_DIR``.

``run`` returns one row per trip: ``file, row, predicted_fare``, which the
deployment appends to its output file. A file that cannot be read, lacks a
feature or has a value that is not a number raises an error naming the file,
the column and the row: Azure ML then counts the mini-batch's files as failed,
and the job goes on while fewer files have failed than the deployment's
``error_threshold``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

logger = logging.getLogger(__name__)
model: Any = None
features: list[str] = []

READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet}


class InputFileError(ValueError):
    """What is wrong with an input file, in words for the job's log."""


def model_folder(root: str | Path) -> Path:
    """The folder of the MLflow model under the deployment's model directory."""
    found = sorted(Path(root).rglob("MLmodel"))
    if not found:
        raise FileNotFoundError(f"No MLflow model (MLmodel file) under {root}.")
    return found[0].parent


def init() -> None:
    global model, features
    folder = model_folder(os.environ["AZUREML_MODEL_DIR"])
    model = mlflow.pyfunc.load_model(str(folder))
    schema = model.metadata.get_input_schema()
    features = list(schema.input_names()) if schema is not None else []
    logger.info("Loaded the model from %s; features: %s", folder.name, features)


def read(path: str | Path, columns: list[str]) -> pd.DataFrame:
    """A file's trips as the model's numeric features, or an InputFileError."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise InputFileError(
            f"{path.name}: only {' and '.join(READERS)} files can be scored."
        )
    try:
        frame = reader(path)
    except Exception as error:  # pandas raises many types for a damaged file
        raise InputFileError(f"{path.name}: cannot be read: {error}") from None
    if frame.empty:
        raise InputFileError(f"{path.name}: has no rows.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputFileError(
            f"{path.name}: missing feature(s) {', '.join(missing)}."
        )
    frame = frame[columns] if columns else frame
    numeric = frame.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna()
    if bad.any().any():
        column = bad.any()[bad.any()].index[0]
        row = int(bad[column].to_numpy().argmax())
        raise InputFileError(
            f"{path.name}: feature '{column}' of row {row} is not a number: "
            f"{frame[column].iloc[row]!r}."
        )
    return numeric.astype("float64")


def run(mini_batch: list[str]) -> pd.DataFrame:
    results = []
    for path in mini_batch:
        frame = read(path, features)
        results.append(
            pd.DataFrame(
                {
                    "file": Path(path).name,
                    "row": range(len(frame)),
                    "predicted_fare": model.predict(frame).round(4),
                }
            )
        )
        logger.info("%s: %d trips scored", Path(path).name, len(frame))
    return pd.concat(results, ignore_index=True)
