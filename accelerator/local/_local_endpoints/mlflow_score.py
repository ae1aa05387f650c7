"""The scoring script of a no-code MLflow deployment, as Azure ML supplies one for MLflow models.

Run by the inference server in the inference environment. Requests take Azure ML's MLflow shape,
``{"input_data": {"columns": [...], "data": [[...]]}}`` or a list of records; a request the model's
signature rejects, that is not JSON, or that has a number JSON does not allow or a float cannot
hold (NaN, Infinity, 1e400), or is nested too deeply to read, gets HTTP 400 with the reason.
"""

import json
import os
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from azureml_inference_server_http.api.aml_response import AMLResponse

model = None


def init():
    global model
    found = sorted(Path(os.environ["AZUREML_MODEL_DIR"]).rglob("MLmodel"))
    if not found:
        raise FileNotFoundError("No MLflow model (MLmodel file) under AZUREML_MODEL_DIR.")
    model = mlflow.pyfunc.load_model(str(found[0].parent))


def _bad(message):
    return AMLResponse({"error": message}, 400, json_str=True)


class _NotFinite(ValueError):
    pass


def _reject_constant(name):
    raise _NotFinite(f"The request has {name}, which is not a number JSON allows.")


def _not_finite(frame):
    """The first numeric column holding a value that is not finite (an integer beyond float range
    or a numeric string such as "inf" after conversion), or None."""
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object:
            values = pd.to_numeric(values, errors="coerce").where(lambda v: v.notna(), 0.0)
        if np.issubdtype(values.dtype, np.number) and not np.isfinite(values.astype("float64")).all():
            return column
    return None


def run(raw_data):
    try:
        body = json.loads(raw_data, parse_constant=_reject_constant)  # 1e400 is inf: see _not_finite
    except RecursionError:
        return _bad("The request body is nested too deeply.")
    except _NotFinite as error:
        return _bad(str(error))
    except (ValueError, TypeError) as error:
        return _bad(f"The request is not {{'input_data': ...}} JSON: {error}")
    try:
        data = body["input_data"]
        if isinstance(data, dict):
            frame = pd.DataFrame(data["data"], columns=data.get("columns"))
        else:
            frame = pd.DataFrame(data)
    except (ValueError, KeyError, TypeError) as error:
        return _bad(f"The request is not {{'input_data': ...}} JSON: {error}")
    if frame.empty:
        return _bad("The request has no rows to score.")
    try:
        column = _not_finite(frame)
    except (OverflowError, TypeError, ValueError):
        column = "?"
    if column is not None:
        return _bad(f"Column '{column}' has a value that is not a finite number.")
    try:
        predictions = model.predict(frame)
    except mlflow.exceptions.MlflowException as error:  # the signature's checks
        return _bad(str(error).splitlines()[0])
    return {"predictions": [float(p) for p in predictions]}
