"""The taxi fare training pipeline: prepare, train, evaluate, register.

One definition for everything that trains the model: notebook 09 runs it,
the weekly retraining ``JobSchedule`` schedules it, and the breach handler
(``retrain/handler.py``) submits it, so the champion/challenger gate is the
same whoever starts a training. Each step is a command component specified
in YAML beside the code it runs (``components/``).
"""

# No `from __future__ import annotations`: dsl.pipeline reads the annotations
# as types.

from pathlib import Path

from azure.ai.ml import Input, dsl, load_component
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import PipelineJob

COMPONENTS = Path(__file__).resolve().parent / "components"
prep_step = load_component(COMPONENTS / "prep.yaml")
train_step = load_component(COMPONENTS / "train.yaml")
evaluate_step = load_component(COMPONENTS / "evaluate.yaml")
register_step = load_component(COMPONENTS / "register.yaml")


@dsl.pipeline(
    description="Prepare, train, evaluate against the champion, register",
)
def taxi_fare_training(
    raw_data: Input,
    model_name: str,
    margin: float,
    seed: int = 42,
    model: str = "gradient_boosting",
    learning_rate: float = 0.1,
    max_iter: int = 100,
    alpha: float = 1.0,
) -> dict:
    prep = prep_step(raw_data=raw_data, seed=seed)
    train = train_step(
        train_data=prep.outputs.train_data,
        validation_data=prep.outputs.validation_data,
        model=model,
        learning_rate=learning_rate,
        max_iter=max_iter,
        alpha=alpha,
    )
    evaluate = evaluate_step(
        model_input=train.outputs.model_output,
        test_data=prep.outputs.test_data,
        model_name=model_name,
        margin=margin,
    )
    register = register_step(
        model_input=train.outputs.model_output,
        evaluation_output=evaluate.outputs.evaluation_output,
        model_name=model_name,
    )
    return {
        "train_data": prep.outputs.train_data,
        "validation_data": prep.outputs.validation_data,
        "evaluation": evaluate.outputs.evaluation_output,
        "registration": register.outputs.registration_output,
    }


def training_job(
    data: str,
    *,
    compute: str,
    model_name: str,
    margin: float,
    seed: int = 42,
    display_name: str | None = None,
    experiment_name: str | None = None,
    **hyperparameters: object,
) -> PipelineJob:
    """The pipeline as a job on ``data``.

    ``data`` is a data asset reference: ``azureml:<name>:<version>`` for a
    fixed version, or ``azureml:<name>@latest`` for whatever version is
    latest when the job is submitted (what a schedule wants; the breach
    handler names the version it retrains on).
    """
    job = taxi_fare_training(
        raw_data=Input(type=AssetTypes.URI_FOLDER, path=data),
        model_name=model_name,
        margin=margin,
        seed=seed,
        **hyperparameters,
    )
    job.compute = compute
    if display_name:
        job.display_name = display_name
    if experiment_name:
        job.experiment_name = experiment_name
    return job
