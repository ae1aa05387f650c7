"""The scoring script of a no-code MLflow deployment, as Azure ML supplies one for MLflow models.

Run by the inference server in the inference environment. Requests take Azure ML's MLflow shape,
``{"input_data": {"columns": [...], "data": [[...]]}}`` or a list of records; a request the model's
signature rejects, or that is not JSON, gets HTTP 400 with the reason.
"""

import json
import os
from pathlib import Path

import mlflow
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


def run(raw_data):
    try:
        data = json.loads(raw_data)["input_data"]
        if isinstance(data, dict):
            frame = pd.DataFrame(data["data"], columns=data.get("columns"))
        else:
            frame = pd.DataFrame(data)
    except (ValueError, KeyError, TypeError) as error:
        return _bad(f"The request is not {{'input_data': ...}} JSON: {error}")
    if frame.empty:
        return _bad("The request has no rows to score.")
    try:
        predictions = model.predict(frame)
    except mlflow.exceptions.MlflowException as error:  # the signature's checks
        return _bad(str(error).splitlines()[0])
    return {"predictions": [float(p) for p in predictions]}
