"""Scoring script of the taxi fare model on an Azure ML online deployment.

Azure ML runs it in ``azureml-inference-server-http``: ``init()`` once per
worker, ``run()`` per request. The model is the registered MLflow model under
``AZUREML_MODEL_DIR``.

A request is JSON, in the shape Azure ML's MLflow deployments take:

    {"input_data": {"columns": ["vendor", ...], "data": [[1, ...], ...]}}

or ``{"input_data": [{"vendor": 1, ...}, ...]}``; the answer is
``{"predictions": [...]}``. A request that is not JSON, lacks a feature, has a
value that is not a finite number (NaN, Infinity, 1e400), is nested too deeply
or has no rows gets HTTP 400 with a message saying what is wrong; the server
stays up for the next request.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
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


def _reject_constant(name: str) -> float:
    raise RequestError(
        f"The request has {name}, which is not a number JSON allows."
    )


def _load(raw: str | bytes) -> Any:
    """The request's JSON, refusing what Python's json reads but JSON does not
    allow (NaN, Infinity) and nesting too deep to read: each a 400 for the
    caller, not an error of the server. A number out of float range (1e400)
    reads as infinity and is refused with its feature's name (``parse``); a
    ``parse_float`` hook would cost a Python call per number."""
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise RequestError("The request body is nested too deeply.") from None
    except (TypeError, ValueError) as error:
        if isinstance(error, RequestError):
            raise
        raise RequestError("The request body is not valid JSON.") from None


def _number(value: Any) -> float | None:
    """A JSON value as a finite float (numbers, numeric strings, booleans as
    pandas reads them), or None when it is not one."""
    if isinstance(value, bool | int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond float range
            return None
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _table(data: Any, columns: list[str]) -> tuple[list[str], list[list[Any]]]:
    """The request's column names and rows, in either of Azure ML's shapes."""
    if isinstance(data, dict) and "data" in data:
        rows = data["data"]
        if not isinstance(rows, list) or not all(
            isinstance(r, list) for r in rows
        ):
            raise RequestError('"input_data.data" must be a list of rows.')
        names = data.get("columns") or columns
        if not isinstance(names, list) or not all(
            isinstance(n, str) for n in names
        ):
            raise RequestError('"input_data.columns" must be a list of names.')
        if any(len(row) != len(names) for row in rows):
            raise RequestError(
                f"Every row must have {len(names)} values, one per column."
            )
        return names, rows
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        names = list(dict.fromkeys(key for record in data for key in record))
        return names, [[record.get(n) for n in names] for record in data]
    raise RequestError(
        '"input_data" must be {"columns": [...], "data": [[...], ...]} '
        "or a list of records."
    )


def parse(raw: str | bytes, columns: list[str]) -> pd.DataFrame:
    """The rows of a request as a numeric frame, or a RequestError.

    One NumPy conversion of the whole batch, and a value-by-value look only
    when it fails: several times faster than pandas' per-column conversion,
    which was most of a 1-row request's time in the server."""
    body = _load(raw)
    if not isinstance(body, dict) or "input_data" not in body:
        raise RequestError('The request must be an object with "input_data".')
    names, rows = _table(body["input_data"], columns)
    if not rows:
        raise RequestError("The request has no rows to score.")
    if len(rows) > MAX_ROWS:
        raise RequestError(
            f"The request has {len(rows)} rows; at most {MAX_ROWS} at once."
        )
    missing = [c for c in columns if c not in names]
    if missing:
        raise RequestError(f"Missing feature(s): {', '.join(missing)}.")
    wanted = columns or names
    positions = {name: index for index, name in enumerate(names)}
    order = [positions[column] for column in wanted]
    if order != list(range(len(names))):
        rows = [[row[at] for at in order] for row in rows]
    try:  # the common case, all numbers: one conversion for the whole batch
        values = np.array(rows, dtype="float64")
        if (
            values.shape == (len(rows), len(wanted))
            and np.isfinite(values).all()
        ):
            return pd.DataFrame(values, columns=wanted)
    except (TypeError, ValueError, OverflowError):
        pass
    values = np.empty((len(rows), len(wanted)), dtype="float64")
    for j, column in enumerate(wanted):  # which value is wrong, in words
        for i, row in enumerate(rows):
            number = _number(row[j])
            if number is None:
                kind = "finite " if isinstance(row[j], int | float) else ""
                raise RequestError(
                    f"Feature '{column}' of row {i} is not a {kind}number: "
                    f"{row[j]!r}."
                )
            values[i, j] = number
    return pd.DataFrame(values, columns=wanted)


def run(raw_data: str) -> Any:
    try:
        frame = parse(raw_data, features)
    except RequestError as error:
        return AMLResponse({"error": str(error)}, 400, json_str=True)
    predictions = model.predict(frame)
    return {"predictions": [round(float(p), 4) for p in predictions]}
