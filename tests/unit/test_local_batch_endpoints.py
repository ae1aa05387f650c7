"""Local batch endpoints: deployments, batch scoring jobs over files, mini-batches, workers,
retries, timeouts, the error threshold, cancellation and bad input."""

from __future__ import annotations

import contextlib
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from azure.ai.ml import Input
from azure.ai.ml.entities import (
    BatchEndpoint,
    BatchRetrySettings,
    CodeConfiguration,
    Model,
    ModelBatchDeployment,
    ModelBatchDeploymentSettings,
    PipelineComponentBatchDeployment,
    PipelineJob,
)
from azure.ai.ml.exceptions import JobException, ValidationException
from azure.core.exceptions import ResourceNotFoundError
from workload_models import save_linear_taxi_model

from accelerator.local import LocalBackendUnsupportedError, LocalMLClient

pytestmark = pytest.mark.usefixtures("no_stray_processes")

REPO = Path(__file__).resolve().parents[2]
SCORE = REPO / "notebooks" / "workloads" / "taxi_fare" / "score"
ENDPOINT = "taxi-batch"


@pytest.fixture(scope="module")
def taxi_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("batch-model") / "model"
    fitted, x = save_linear_taxi_model(folder, rows=1_000, seed=5)
    return folder, fitted, x


@pytest.fixture
def client(jobs_client: LocalMLClient, taxi_model) -> LocalMLClient:
    """A workspace with the taxi model registered and an empty batch endpoint."""
    jobs_client.models.create_or_update(Model(name="taxi-fare", path=str(taxi_model[0]), type="mlflow_model"))
    jobs_client.batch_endpoints.begin_create_or_update(BatchEndpoint(name=ENDPOINT)).result()
    return jobs_client


def _trips(folder: Path, x: pd.DataFrame, files: int, rows: int = 50) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(files):
        x.iloc[index * rows : (index + 1) * rows].to_csv(folder / f"day-{index:02d}.csv", index=False)
    return folder


def _script(tmp_path: Path, body: str) -> Path:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "batch.py").write_text(textwrap.dedent(body))
    return code


def _deploy(client: LocalMLClient, name: str, code: Path | None = None, **settings) -> None:
    retry = BatchRetrySettings(
        max_retries=settings.pop("max_retries", 0), timeout=settings.pop("timeout", 60)
    )
    client.batch_deployments.begin_create_or_update(
        ModelBatchDeployment(
            name=name,
            endpoint_name=ENDPOINT,
            model="azureml:taxi-fare:1",
            compute="cpu-cluster",
            code_configuration=CodeConfiguration(code=str(code), scoring_script="batch.py") if code else None,
            environment="azureml:taxi-train:1" if code else None,
            settings=ModelBatchDeploymentSettings(
                mini_batch_size=settings.pop("mini_batch_size", None), retry_settings=retry, **settings
            ),
        )
    ).result()


def _run(client: LocalMLClient, deployment: str, data: Path) -> tuple[str, str]:
    """Invoke, wait; (the batch job's status, its scoring step's name)."""
    job = client.batch_endpoints.invoke(
        ENDPOINT, deployment_name=deployment, input=Input(type="uri_folder", path=str(data))
    )
    with contextlib.suppress(JobException):  # a failed job: the tests read its status and log
        client.jobs.stream(job.name)
    step = next(iter(client.jobs.list(parent_job_name=job.name)))
    return client.jobs.get(job.name).status, step.name


def _log(client: LocalMLClient, job: str) -> str:
    return (client._scope.require_workspace() / "jobs" / job / "user_logs" / "std_log.txt").read_text()


def _predictions(client: LocalMLClient, step: str, tmp_path: Path) -> list[str]:
    target = tmp_path / "download"
    client.jobs.download(step, download_path=target, output_name="score")
    return (target / "named-outputs" / "score" / "predictions.csv").read_text().splitlines()


# Scoring scripts for the tests: no MLflow import, so that workers start quickly.
RECORD_WORKERS = """
    import os
    import time

    import pandas as pd

    def init():
        print("init in", os.getpid(), flush=True)

    def run(mini_batch):
        time.sleep(0.3)  # long enough for the pool to hand mini-batches to several workers
        return pd.DataFrame({"file": [os.path.basename(p) for p in mini_batch], "pid": os.getpid()})
"""

FAIL_ON = """
    import os

    def init():
        pass

    def run(mini_batch):
        for path in mini_batch:
            if "{bad}" in path:
                raise ValueError(os.path.basename(path) + ": not a trip file")
        return [os.path.basename(p) for p in mini_batch]
"""


def test_endpoint_and_deployment_lifecycle(client: LocalMLClient, tmp_path: Path) -> None:
    endpoint = client.batch_endpoints.get(ENDPOINT)
    # Issue 13, gap 7: as the service answers, a defaults object whose deployment is not set yet.
    assert endpoint.defaults.deployment_name is None and endpoint.provisioning_state == "Succeeded"
    assert [e.name for e in client.batch_endpoints.list()] == [ENDPOINT]
    _deploy(client, "mlflow")
    # Unset settings come back with Azure ML's defaults.
    deployment = client.batch_deployments.get("mlflow", ENDPOINT)
    assert (deployment.mini_batch_size, deployment.max_concurrency_per_instance) == (10, 1)
    assert (deployment.error_threshold, deployment.output_file_name) == (-1, "predictions.csv")
    assert deployment.retry_settings.max_retries == 0 and deployment.retry_settings.timeout == 60
    assert deployment.code_configuration is None  # no-code: Azure ML supplies the scoring
    _deploy(client, "script", _script(tmp_path, RECORD_WORKERS), mini_batch_size=3)
    assert client.batch_deployments.get("script", ENDPOINT).mini_batch_size == 3
    assert sorted(d.name for d in client.batch_deployments.list(ENDPOINT)) == ["mlflow", "script"]

    endpoint.defaults = {"deployment_name": "mlflow"}
    client.batch_endpoints.begin_create_or_update(endpoint).result()
    assert client.batch_endpoints.get(ENDPOINT).defaults.deployment_name == "mlflow"
    # An entity built afresh keeps the endpoint's default.
    client.batch_endpoints.begin_create_or_update(
        BatchEndpoint(name=ENDPOINT, description="nightly")
    ).result()
    assert client.batch_endpoints.get(ENDPOINT).defaults.deployment_name == "mlflow"
    with pytest.raises(ValidationException, match="default"):
        client.batch_deployments.begin_delete("mlflow", ENDPOINT)
    client.batch_deployments.begin_delete("script", ENDPOINT).result()
    with pytest.raises(ResourceNotFoundError):
        client.batch_deployments.get("script", ENDPOINT)
    client.batch_endpoints.begin_delete(ENDPOINT).result()
    with pytest.raises(ResourceNotFoundError):
        client.batch_endpoints.get(ENDPOINT)


def test_mlflow_deployment_scores_every_file_in_order(
    client: LocalMLClient, taxi_model, tmp_path: Path
) -> None:
    _, fitted, x = taxi_model
    data = _trips(tmp_path / "trips", x, files=5, rows=40)
    _deploy(client, "mlflow", mini_batch_size=2, max_concurrency_per_instance=2)
    endpoint = client.batch_endpoints.get(ENDPOINT)
    endpoint.defaults = {"deployment_name": "mlflow"}
    client.batch_endpoints.begin_create_or_update(endpoint).result()

    job = client.batch_endpoints.invoke(ENDPOINT, input=Input(type="uri_folder", path=str(data)))
    client.jobs.stream(job.name)
    batch = client.jobs.get(job.name)
    assert isinstance(batch, PipelineJob) and batch.status == "Completed"
    assert batch.experiment_name == ENDPOINT
    assert [j.name for j in client.batch_endpoints.list_jobs(ENDPOINT)] == [job.name]
    step = next(iter(client.jobs.list(parent_job_name=job.name)))
    rows = pd.DataFrame(
        [line.split(",") for line in _predictions(client, step.name, tmp_path)],
        columns=["row", "prediction", "file"],
    )
    # Files in order, each row once, predictions as the model makes them in-process.
    assert list(rows["file"].drop_duplicates()) == [f"day-{i:02d}.csv" for i in range(5)]
    assert rows["row"].astype(int).tolist() == list(range(40)) * 5
    expected = fitted.predict(x.iloc[:200])
    assert rows["prediction"].astype(float).to_numpy() == pytest.approx(expected, rel=1e-9)


def test_the_taxi_scoring_script_scores_and_a_bad_file_fails_within_the_threshold(
    client: LocalMLClient, taxi_model, tmp_path: Path
) -> None:
    _, _, x = taxi_model
    data = _trips(tmp_path / "trips", x, files=4)
    x.head(5).drop(columns=["distance"]).to_csv(data / "day-99-partner.csv", index=False)
    client.batch_deployments.begin_create_or_update(
        ModelBatchDeployment(
            name="taxi",
            endpoint_name=ENDPOINT,
            model="azureml:taxi-fare:1",
            compute="cpu-cluster",
            code_configuration=CodeConfiguration(code=str(SCORE), scoring_script="batch_score.py"),
            environment="azureml:taxi-train:1",
            settings=ModelBatchDeploymentSettings(
                mini_batch_size=1, max_concurrency_per_instance=2, error_threshold=1
            ),
        )
    ).result()
    status, step = _run(client, "taxi", data)
    assert status == "Completed"
    lines = _predictions(client, step, tmp_path)
    assert len(lines) == 4 * 50 and not any("partner" in line for line in lines)
    log = _log(client, step)
    assert "day-99-partner.csv: missing feature(s) distance." in log
    assert "4 of 5 files scored, 1 failed (error threshold 1)" in log


@pytest.mark.parametrize("threshold", [0, 1])
def test_more_failures_than_the_threshold_fail_the_job(
    client: LocalMLClient, tmp_path: Path, threshold: int
) -> None:
    data = tmp_path / "files"
    data.mkdir()
    for name in ("a", "b-bad", "c-bad", "d"):
        (data / f"{name}.txt").write_text(name)
    _deploy(
        client,
        "strict",
        _script(tmp_path, FAIL_ON.replace("{bad}", "bad")),
        error_threshold=threshold,
        mini_batch_size=1,
    )
    status, step = _run(client, "strict", data)
    assert status == "Failed"
    log = _log(client, step)
    assert f"more than the error threshold of {threshold}" in log
    assert "b-bad.txt: not a trip file" in log
    with pytest.raises(FileNotFoundError):  # a failed job writes no predictions
        _predictions(client, step, tmp_path)


def test_workers_are_bounded_and_initialised_once_each(client: LocalMLClient, tmp_path: Path) -> None:
    data = tmp_path / "files"
    data.mkdir()
    for index in range(12):
        (data / f"{index:02d}.txt").write_text(str(index))
    _deploy(
        client,
        "workers",
        _script(tmp_path, RECORD_WORKERS),
        mini_batch_size=2,
        max_concurrency_per_instance=3,
    )
    status, step = _run(client, "workers", data)
    assert status == "Completed"
    rows = [line.split(",") for line in _predictions(client, step, tmp_path)]
    assert [file for file, _ in rows] == [f"{i:02d}.txt" for i in range(12)]
    pids = {pid for _, pid in rows}
    log = _log(client, step)
    initialised = [line.split()[-1] for line in log.splitlines() if line.startswith("init in")]
    assert 2 <= len(pids) <= 3  # several workers, never more than max_concurrency_per_instance
    assert len(initialised) == len(set(initialised)) <= 3 and pids <= set(initialised)
    assert "12 files in 6 mini-batches of up to 2; 3 workers" in log


def test_a_failed_mini_batch_is_retried(client: LocalMLClient, tmp_path: Path) -> None:
    flag = tmp_path / "failed-once"
    flaky = f"""
        from pathlib import Path

        def init():
            pass

        def run(mini_batch):
            flag = Path({str(flag)!r})
            if not flag.exists():
                flag.touch()
                raise RuntimeError("storage hiccup")
            return mini_batch
    """
    data = tmp_path / "files"
    data.mkdir()
    (data / "one.txt").write_text("1")
    _deploy(client, "flaky", _script(tmp_path, flaky), max_retries=2, error_threshold=0)
    status, step = _run(client, "flaky", data)
    assert status == "Completed"
    assert "attempt 1 failed: RuntimeError: storage hiccup; retrying" in _log(client, step)
    assert len(_predictions(client, step, tmp_path)) == 1


def test_a_mini_batch_past_its_timeout_fails(client: LocalMLClient, tmp_path: Path) -> None:
    slow = """
        import time

        def init():
            pass

        def run(mini_batch):
            if any("slow" in p for p in mini_batch):
                time.sleep(60)
            return mini_batch
    """
    data = tmp_path / "files"
    data.mkdir()
    for name in ("fast", "slow"):
        (data / f"{name}.txt").write_text(name)
    _deploy(client, "slow", _script(tmp_path, slow), mini_batch_size=1, timeout=1, error_threshold=-1)
    started = time.monotonic()
    status, step = _run(client, "slow", data)
    assert time.monotonic() - started < 45
    assert status == "Completed"
    assert "run() took longer than the timeout of 1 seconds." in _log(client, step)
    lines = _predictions(client, step, tmp_path)
    assert len(lines) == 1 and lines[0].endswith("fast.txt")


def test_init_failure_and_empty_input_fail_the_job(client: LocalMLClient, tmp_path: Path) -> None:
    broken = """
        def init():
            raise FileNotFoundError("no model here")

        def run(mini_batch):
            return mini_batch
    """
    data = tmp_path / "files"
    data.mkdir()
    (data / "one.txt").write_text("1")
    _deploy(client, "broken", _script(tmp_path, broken))
    status, step = _run(client, "broken", data)
    assert status == "Failed"
    log = _log(client, step)
    assert "no model here" in log and "init() failed" in log

    empty = tmp_path / "empty"
    (empty / ".hidden").mkdir(parents=True)
    (empty / ".hidden" / "ignored.txt").write_text("hidden files are not scored")
    status, step = _run(client, "broken", empty)
    assert status == "Failed"
    assert "has no files to score" in _log(client, step)


def test_cancel_stops_the_workers(client: LocalMLClient, processes, tmp_path: Path) -> None:
    marker = f"batch-cancel-{tmp_path.name}"
    sleeper = f"""
        import time

        def init():
            pass

        def run(mini_batch):
            time.sleep(120)  # {marker}
            return mini_batch
    """
    data = tmp_path / "files"
    data.mkdir()
    (data / "one.txt").write_text("1")
    _deploy(client, "sleepy", _script(tmp_path, sleeper), timeout=300)
    job = client.batch_endpoints.invoke(
        ENDPOINT, deployment_name="sleepy", input=Input(type="uri_folder", path=str(data))
    )
    deadline = time.monotonic() + 60
    step = None
    while time.monotonic() < deadline:
        steps = list(client.jobs.list(parent_job_name=job.name))
        if steps and "1 files in 1 mini-batches" in _log(client, steps[0].name):
            step = steps[0].name
            break
        time.sleep(0.2)
    assert step is not None, "the scoring step did not start"
    drivers = processes.wait_for(
        "accelerator.local._local_endpoints.batch_driver", count=2
    )  # driver + worker
    client.jobs.begin_cancel(job.name).result()
    assert client.jobs.get(job.name).status == "Canceled"
    assert processes.ended(drivers)


@pytest.mark.parametrize(
    "case",
    ["no default", "unknown deployment", "two inputs", "literal input", "unsupported argument"],
)
def test_invoke_refuses_bad_requests(client: LocalMLClient, tmp_path: Path, case: str) -> None:
    _deploy(client, "mlflow")
    folder = Input(type="uri_folder", path=str(tmp_path))
    calls = {
        "no default": (ValidationException, "no default deployment", {"input": folder}),
        "unknown deployment": (ResourceNotFoundError, "nope", {"deployment_name": "nope", "input": folder}),
        "two inputs": (
            ValidationException,
            "one input",
            {"deployment_name": "mlflow", "inputs": {"a": folder, "b": folder}},
        ),
        "literal input": (
            ValidationException,
            "uri_folder",
            {"deployment_name": "mlflow", "inputs": {"a": Input(type="integer", default=1)}},
        ),
        "unsupported argument": (
            LocalBackendUnsupportedError,
            "params_override",
            {"deployment_name": "mlflow", "input": folder, "params_override": [{"x": 1}]},
        ),
    }
    error, match, arguments = calls[case]
    with pytest.raises(error, match=match):
        client.batch_endpoints.invoke(ENDPOINT, **arguments)
    assert list(client.jobs.list()) == []  # nothing was started


@pytest.mark.parametrize(
    "case", ["mini batch size", "no compute", "missing script", "custom model", "pipeline"]
)
def test_bad_deployments_are_refused(client: LocalMLClient, taxi_model, tmp_path: Path, case: str) -> None:
    code = _script(tmp_path, RECORD_WORKERS)
    if case == "mini batch size":
        with pytest.raises(ValidationException, match="mini_batch_size"):
            _deploy(client, "bad", code, mini_batch_size=0)
    elif case == "no compute":
        with pytest.raises(ValidationException, match="compute cluster"):
            client.batch_deployments.begin_create_or_update(
                ModelBatchDeployment(name="bad", endpoint_name=ENDPOINT, model="azureml:taxi-fare:1")
            )
    elif case == "missing script":
        with pytest.raises(ValidationException, match="not in the code folder"):
            client.batch_deployments.begin_create_or_update(
                ModelBatchDeployment(
                    name="bad",
                    endpoint_name=ENDPOINT,
                    model="azureml:taxi-fare:1",
                    compute="cpu-cluster",
                    code_configuration=CodeConfiguration(code=str(code), scoring_script="nope.py"),
                    environment="azureml:taxi-train:1",
                )
            )
    elif case == "custom model":
        client.models.create_or_update(Model(name="raw", path=str(taxi_model[0]), type="custom_model"))
        with pytest.raises(ValidationException, match="mlflow_model"):
            client.batch_deployments.begin_create_or_update(
                ModelBatchDeployment(
                    name="bad", endpoint_name=ENDPOINT, model="azureml:raw:1", compute="cpu-cluster"
                )
            )
    else:
        with pytest.raises(LocalBackendUnsupportedError, match="PipelineComponentBatchDeployment"):
            client.batch_deployments.begin_create_or_update(
                PipelineComponentBatchDeployment(name="bad", endpoint_name=ENDPOINT, component="azureml:x:1")
            )
    assert [d.name for d in client.batch_deployments.list(ENDPOINT)] == []


def test_endpoint_errors(client: LocalMLClient) -> None:
    with pytest.raises(ResourceNotFoundError):
        client.batch_endpoints.get("missing")
    with pytest.raises(ValidationException, match="Entra"):
        client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="keyed", auth_mode="key"))
    endpoint = client.batch_endpoints.get(ENDPOINT)
    endpoint.defaults = {"deployment_name": "ghost"}
    with pytest.raises(ValidationException, match="ghost"):
        client.batch_endpoints.begin_create_or_update(endpoint)
    with pytest.raises(ResourceNotFoundError):
        client.batch_deployments.begin_create_or_update(
            ModelBatchDeployment(
                name="orphan", endpoint_name="missing", model="azureml:taxi-fare:1", compute="cpu-cluster"
            )
        )
