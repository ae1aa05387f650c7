"""Scoring script of the taxi fare model on an Azure ML online deployment.

Azure ML runs it in ``azureml-inference-server-http``: ``init()`` once per
worker, ``run()`` per request. The model is the registered MLflow model under
``AZUREML_MODEL_DIR``.

A request is JSON, in the shape Azure ML's MLflow deployments take:

    {"input_data": {"columns": ["vendor", ...], "data": [[1, ...], ...]}}

or ``{"input_data": [{"vendor": 1, ...}, ...]}``; the answer is
``{"predictions": [...]}``. A request that is not JSON, lacks a feature, has a
value that is not a number or has no rows gets HTTP 400 with a message saying
what is wrong; the server stays up for the next request.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from azureml_inference_server_http.api.aml_response import AMLResponse

#: The most rows scored in one request: larger batches go to a batch endpoint.
MAX_ROWS = 10_000

logger = logging.getLogger(__name__)
model: Any = None
features: list[str] = []


class RequestError(ValueError):
    """What is wrong with a request, in words for the caller."""


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


def parse(raw: str | bytes, columns: list[str]) -> pd.DataFrame:
    """The rows of a request as a numeric frame, or a RequestError."""
    try:
        body = json.loads(raw)
    except (TypeError, ValueError):
        raise RequestError("The request body is not valid JSON.") from None
    if not isinstance(body, dict) or "input_data" not in body:
        raise RequestError('The request must be an object with "input_data".')
    data = body["input_data"]
    if isinstance(data, dict) and "data" in data:
        rows = data["data"]
        if not isinstance(rows, list) or not all(
            isinstance(r, list) for r in rows
        ):
            raise RequestError('"input_data.data" must be a list of rows.')
        names = data.get("columns") or columns
        if any(len(row) != len(names) for row in rows):
            raise RequestError(
                f"Every row must have {len(names)} values, one per column."
            )
        frame = pd.DataFrame(rows, columns=names)
    elif isinstance(data, list) and all(isinstance(r, dict) for r in data):
        frame = pd.DataFrame(data)
    else:
        raise RequestError(
            '"input_data" must be {"columns": [...], "data": [[...], ...]} '
            "or a list of records."
        )
    if frame.empty:
        raise RequestError("The request has no rows to score.")
    if len(frame) > MAX_ROWS:
        raise RequestError(
            f"The request has {len(frame)} rows; at most {MAX_ROWS} at once."
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RequestError(f"Missing feature(s): {', '.join(missing)}.")
    frame = frame[columns] if columns else frame
    numeric = frame.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna() & frame.notna() | frame.isna()
    if bad.any().any():
        column = bad.any()[bad.any()].index[0]
        row = int(bad[column].to_numpy().argmax())
        value = frame[column].iloc[row]
        raise RequestError(
            f"Feature '{column}' of row {row} is not a number: {value!r}."
        )
    return numeric.astype("float64")


def run(raw_data: str) -> Any:
    try:
        frame = parse(raw_data, features)
    except RequestError as error:
        return AMLResponse({"error": str(error)}, 400, json_str=True)
    predictions = model.predict(frame)
    return {"predictions": [round(float(p), 4) for p in predictions]}
