"""The scoring script of a no-code MLflow batch deployment, as Azure ML supplies one for MLflow models.

Each file of a mini-batch (CSV, TSV or parquet) is read into a frame, checked by the model's
signature and scored. The rows returned, and so the lines of ``predictions.csv``, are
``row, prediction, file``: the row's position in its file, the prediction and the file's name.
"""

import os
from pathlib import Path

import mlflow
import pandas as pd

model = None

_READERS = {
    ".csv": pd.read_csv,
    ".tsv": lambda path: pd.read_csv(path, sep="\t"),
    ".parquet": pd.read_parquet,
}


def init():
    global model
    found = sorted(Path(os.environ["AZUREML_MODEL_DIR"]).rglob("MLmodel"))
    if not found:
        raise FileNotFoundError("No MLflow model (MLmodel file) under AZUREML_MODEL_DIR.")
    model = mlflow.pyfunc.load_model(str(found[0].parent))


def run(mini_batch):
    results = []
    for path in mini_batch:
        reader = _READERS.get(Path(path).suffix.lower())
        if reader is None:
            raise ValueError(f"{Path(path).name}: only {', '.join(_READERS)} files can be scored.")
        data = reader(path)
        try:
            predictions = model.predict(data)
        except mlflow.exceptions.MlflowException as error:  # the signature's checks
            # MLflow prints the whole frame; the reason is its last sentence.
            reason = str(error).rsplit("Error: ", 1)[-1].strip()
            raise ValueError(f"{Path(path).name}: {reason}") from None
        results.append(
            pd.DataFrame(
                {
                    "row": range(len(data)),
                    "prediction": [float(p) for p in predictions],
                    "file": Path(path).name,
                }
            )
        )
    return pd.concat(results, ignore_index=True)
