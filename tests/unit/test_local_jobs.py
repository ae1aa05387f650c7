"""Command jobs on the local backend: submission, inputs and outputs, streaming, MLflow runs,
failures, cancellation, a lost runner, listing and archiving."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path

import fsspec
import mlflow
import pytest
from azure.ai.ml import Input, Output, PyTorchDistribution, command, load_job
from azure.ai.ml.constants import AssetTypes, ListViewType
from azure.ai.ml.entities import Data
from azure.ai.ml.exceptions import JobException, ValidationException
from azure.core.exceptions import ResourceNotFoundError
from job_waits import finish

from accelerator.local import LocalBackendUnsupportedError, LocalMLClient
from accelerator.local._execution._records import JobRecords

pytestmark = pytest.mark.usefixtures("no_stray_processes")

ENVIRONMENT = "azureml:taxi-train:1"  # registered by the jobs_client fixture
COMPUTE = "cpu-cluster"
SLEEPER = "import sys, time\nprint('sleeping', sys.argv[1], flush=True)\ntime.sleep(60)\n"


def _code(tmp_path: Path, files: dict[str, str], folder: str = "src") -> Path:
    code = tmp_path / folder
    code.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (code / name).write_text(text)
    return code


def _job(code: Path | None, line: str, **kwargs: object):
    return command(
        code=str(code) if code else None, command=line, environment=ENVIRONMENT, compute=COMPUTE, **kwargs
    )


def _datastore_path(client: LocalMLClient, path: str) -> str:
    return (
        f"azureml://subscriptions/{client.subscription_id}/resourcegroups/{client.resource_group_name}"
        f"/workspaces/{client.workspace_name}/datastores/workspaceblobstore/paths/{path}"
    )


# Inputs, outputs and the job's view of them ------------------------------------------------------

BINDINGS = """\
import json, os, pathlib, sys
args = dict(a.split("=", 1) for a in sys.argv[1:])
report = {
    "literal": args["literal"],
    "local": sorted(p.name for p in pathlib.Path(args["local"]).iterdir()),
    "latest": pathlib.Path(args["latest"]).read_text(),
    "pinned": pathlib.Path(args["pinned"]).read_text(),
    "datastore": pathlib.Path(args["datastore"]).read_text(),
    "greeting": os.environ["GREETING"],
    "run_id": os.environ["MLFLOW_RUN_ID"],
}
print("report:", json.dumps(report, sort_keys=True))
(pathlib.Path(args["folder"]) / "report.json").write_text(json.dumps(report))
(pathlib.Path(args["folder"]) / "nested").mkdir()
(pathlib.Path(args["folder"]) / "nested" / "deep.txt").write_text("deep")
pathlib.Path(args["file"]).write_text("a single file")
"""


def test_command_job_binds_inputs_and_outputs(
    jobs_client: LocalMLClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local = tmp_path / "local-input"
    local.mkdir()
    (local / "a.csv").write_text("a")
    (local / "b.csv").write_text("b")
    for version, text in (("1", "first"), ("2", "second")):
        note = tmp_path / f"note-{version}.txt"
        note.write_text(text)
        jobs_client.data.create_or_update(
            Data(name="notes", version=version, type=AssetTypes.URI_FILE, path=str(note))
        )
    with fsspec.open(_datastore_path(jobs_client, "raw/landed.txt"), "w") as handle:
        handle.write("on the datastore")

    code = _code(tmp_path, {"main.py": BINDINGS})
    job = _job(
        code,
        "python main.py literal=${{inputs.literal}} local=${{inputs.local}} latest=${{inputs.latest}} "
        "pinned=${{inputs.pinned}} datastore=${{inputs.datastore}} "
        "folder=${{outputs.folder}} file=${{outputs.file}}",
        inputs={
            "literal": 42,
            "local": Input(type=AssetTypes.URI_FOLDER, path=str(local)),
            "latest": Input(type=AssetTypes.URI_FILE, path="azureml:notes@latest"),
            "pinned": Input(type=AssetTypes.URI_FILE, path="azureml:notes:1"),
            "datastore": Input(
                type=AssetTypes.URI_FILE, path="azureml://datastores/workspaceblobstore/paths/raw/landed.txt"
            ),
        },
        outputs={"folder": Output(type=AssetTypes.URI_FOLDER), "file": Output(type=AssetTypes.URI_FILE)},
        environment_variables={"GREETING": "hello"},
        experiment_name="bindings",
        display_name="bind everything",
    )
    submitted = jobs_client.jobs.create_or_update(job)
    assert submitted.status in ("Queued", "Starting", "Preparing", "Running")
    assert submitted.name

    capsys.readouterr()
    jobs_client.jobs.stream(submitted.name)
    streamed = capsys.readouterr().out
    expected = {
        "literal": "42",
        "local": ["a.csv", "b.csv"],
        "latest": "second",
        "pinned": "first",
        "datastore": "on the datastore",
        "greeting": "hello",
        "run_id": submitted.name,
    }
    assert "report: " + json.dumps(expected, sort_keys=True) in streamed
    assert streamed.rstrip().endswith("Status: Completed")

    job = jobs_client.jobs.get(submitted.name)
    assert job.status == "Completed"
    assert (job.experiment_name, job.display_name) == ("bindings", "bind everything")
    assert set(job.outputs) == {"folder", "file"}

    # The local folder input was uploaded: changing it now changes nothing the job saw.
    (local / "c.csv").write_text("c")
    target = tmp_path / "downloads"
    jobs_client.jobs.download(submitted.name, output_name="folder", download_path=target)
    folder = target / "named-outputs" / "folder"
    assert json.loads((folder / "report.json").read_text()) == expected
    assert (folder / "nested" / "deep.txt").read_text() == "deep"
    jobs_client.jobs.download(submitted.name, output_name="file", download_path=target)
    files = list((target / "named-outputs" / "file").iterdir())
    assert [f.read_text() for f in files] == ["a single file"]

    # Without an output name: the job's log.
    jobs_client.jobs.download(submitted.name, download_path=tmp_path / "logs")
    assert "report: " in (tmp_path / "logs" / "artifacts" / "user_logs" / "std_log.txt").read_text()
    with pytest.raises(ValidationException, match="no output 'missing'"):
        jobs_client.jobs.download(submitted.name, output_name="missing", download_path=target)


METRICS = """\
import mlflow
mlflow.log_metric("accuracy", 0.875)
mlflow.log_param("depth", 3)
print("logged")
"""


def test_the_job_is_an_mlflow_run(jobs_client: LocalMLClient, tracking, tmp_path: Path) -> None:
    code = _code(tmp_path, {"train.py": METRICS})
    submitted = jobs_client.jobs.create_or_update(
        _job(
            code,
            "python train.py",
            experiment_name="taxi-fare",
            display_name="first training",
            tags={"stage": "dev", "owner": "tests"},
        )
    )
    # The run exists from submission, as on Azure.
    assert mlflow.get_run(submitted.name).info.run_id == submitted.name
    jobs_client.jobs.stream(submitted.name)

    run = mlflow.get_run(submitted.name)
    assert run.info.run_id == submitted.name
    assert run.info.run_name == "first training"
    assert run.info.status == "FINISHED"
    assert tracking.get_experiment(run.info.experiment_id).name == "taxi-fare"
    assert run.data.tags["stage"] == "dev"
    assert run.data.tags["owner"] == "tests"
    assert run.data.metrics == {"accuracy": 0.875}
    assert run.data.params == {"depth": "3"}
    job = jobs_client.jobs.get(submitted.name)
    assert job.tags == {"stage": "dev", "owner": "tests"}
    # The job's log is a run artifact, as on Azure.
    assert "user_logs" in [a.path for a in tracking.list_artifacts(submitted.name)]


def test_a_job_loaded_from_yaml_runs_unchanged(jobs_client: LocalMLClient, tmp_path: Path) -> None:
    _code(
        tmp_path,
        {"echo.py": "import pathlib, sys\npathlib.Path(sys.argv[2], 'echo.txt').write_text(sys.argv[1])\n"},
    )
    spec = tmp_path / "jobs" / "echo.yml"
    spec.parent.mkdir()
    spec.write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n"
        "code: ../src\n"  # relative to the YAML file, not the working folder
        "command: python echo.py ${{inputs.word}} ${{outputs.result}}\n"
        "inputs:\n  word: yaml\n"
        "outputs:\n  result:\n    type: uri_folder\n"
        f"environment: {ENVIRONMENT}\n"
        f"compute: azureml:{COMPUTE}\n"
        "experiment_name: from-yaml\n"
        "display_name: echo from yaml\n"
    )
    submitted = jobs_client.jobs.create_or_update(load_job(spec))
    jobs_client.jobs.stream(submitted.name)
    job = jobs_client.jobs.get(submitted.name)
    assert (job.status, job.experiment_name, job.display_name) == ("Completed", "from-yaml", "echo from yaml")
    jobs_client.jobs.download(submitted.name, output_name="result", download_path=tmp_path / "out")
    assert (tmp_path / "out" / "named-outputs" / "result" / "echo.txt").read_text() == "yaml"


# Failures ---------------------------------------------------------------------------------------

FAILING = """\
import sys
print("loading the data")
print("the-stderr-tail: fare column is missing", file=sys.stderr)
sys.exit(3)
"""


def test_a_failing_script_fails_the_job(
    jobs_client: LocalMLClient, tracking, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _code(tmp_path, {"fail.py": FAILING})
    submitted = jobs_client.jobs.create_or_update(_job(code, "python fail.py"))
    with pytest.raises(JobException) as raised:
        jobs_client.jobs.stream(submitted.name)
    message = str(raised.value)
    assert "the-stderr-tail: fare column is missing" in message
    assert "exited with status code 3" in message
    assert "loading the data" in capsys.readouterr().out
    assert jobs_client.jobs.get(submitted.name).status == "Failed"
    assert tracking.get_run(submitted.name).info.status == "FAILED"
    # Cancelling a job that has ended changes nothing.
    jobs_client.jobs.begin_cancel(submitted.name).result()
    assert jobs_client.jobs.get(submitted.name).status == "Failed"


def test_a_job_past_its_timeout_fails(jobs_client: LocalMLClient, processes, tmp_path: Path) -> None:
    marker = f"timeout-{uuid.uuid4().hex}"
    code = _code(tmp_path, {"sleeper.py": SLEEPER})
    job = _job(code, f"python sleeper.py {marker}")
    job.set_limits(timeout=1)
    submitted = jobs_client.jobs.create_or_update(job)
    with pytest.raises(JobException, match="timeout of 1 seconds"):
        jobs_client.jobs.stream(submitted.name)
    assert jobs_client.jobs.get(submitted.name).status == "Failed"
    assert processes.with_marker(marker) == []


def _submission_cases(tmp_path: Path) -> dict[str, tuple[dict[str, object], type[Exception], str]]:
    return {
        "unregistered environment": (
            {"environment": "azureml:no-such-env:1"},
            ResourceNotFoundError,
            "no-such-env",
        ),
        "unknown compute": ({"compute": "gpu-cluster"}, ResourceNotFoundError, "gpu-cluster"),
        "undeclared input": (
            {"command": "python main.py ${{inputs.epochs}}"},
            ValidationException,
            "epochs",
        ),
        "missing local input": (
            {"inputs": {"data": Input(type=AssetTypes.URI_FOLDER, path=str(tmp_path / "nowhere"))}},
            ValidationException,
            "nowhere",
        ),
        "unknown data asset": (
            {"inputs": {"data": Input(type=AssetTypes.URI_FILE, path="azureml:ghost-data:1")}},
            ResourceNotFoundError,
            "ghost-data",
        ),
        "distributed": (
            {"distribution": PyTorchDistribution(process_count_per_instance=2), "instance_count": 2},
            LocalBackendUnsupportedError,
            "distributed",
        ),
        "multi-node": ({"instance_count": 3}, LocalBackendUnsupportedError, "multi-node"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "unregistered environment",
        "unknown compute",
        "undeclared input",
        "missing local input",
        "unknown data asset",
        "distributed",
        "multi-node",
    ],
)
def test_submission_errors(jobs_client: LocalMLClient, tmp_path: Path, case: str) -> None:
    code = _code(tmp_path, {"main.py": "print('never runs')\n"})
    changes, error, needle = _submission_cases(tmp_path)[case]
    arguments: dict[str, object] = {
        "code": str(code),
        "command": "python main.py",
        "environment": ENVIRONMENT,
        "compute": COMPUTE,
        **changes,
    }
    with pytest.raises(error, match=needle):
        jobs_client.jobs.create_or_update(command(**arguments))
    assert list(jobs_client.jobs.list()) == []


def test_job_names_are_unique(jobs_client: LocalMLClient, tmp_path: Path) -> None:
    code = _code(tmp_path, {"main.py": "print('ran')\n"})
    jobs_client.jobs.create_or_update(_job(code, "python main.py", name="nightly-train-1"))
    with pytest.raises(ValidationException, match="nightly-train-1"):
        jobs_client.jobs.create_or_update(_job(code, "python main.py", name="nightly-train-1"))
    assert finish(jobs_client, "nightly-train-1") == "Completed"
    assert [j.name for j in jobs_client.jobs.list()] == ["nightly-train-1"]


def test_the_job_runs_the_code_as_submitted(
    jobs_client: LocalMLClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _code(tmp_path, {"main.py": "print('version one')\n"})
    submitted = jobs_client.jobs.create_or_update(_job(code, "python main.py"))
    (code / "main.py").write_text("print('version two')\n")
    capsys.readouterr()
    jobs_client.jobs.stream(submitted.name)
    streamed = capsys.readouterr().out
    assert "version one" in streamed
    assert "version two" not in streamed


# Cancellation and a lost runner -----------------------------------------------------------------


def test_cancel_stops_the_script(jobs_client: LocalMLClient, tracking, processes, tmp_path: Path) -> None:
    marker = f"cancel-{uuid.uuid4().hex}"
    code = _code(tmp_path, {"sleeper.py": SLEEPER})
    submitted = jobs_client.jobs.create_or_update(_job(code, f"python sleeper.py {marker}"))
    scripts = processes.wait_for(marker)
    assert jobs_client.jobs.get(submitted.name).status == "Running"

    started = time.monotonic()
    jobs_client.jobs.begin_cancel(submitted.name).result()
    assert time.monotonic() - started < 15
    assert jobs_client.jobs.get(submitted.name).status == "Canceled"
    assert processes.ended(scripts)
    assert processes.with_marker(marker) == []
    assert tracking.get_run(submitted.name).info.status == "KILLED"


def test_a_lost_runner_fails_the_job(jobs_client: LocalMLClient, tracking, processes, tmp_path: Path) -> None:
    marker = f"lost-{uuid.uuid4().hex}"
    code = _code(tmp_path, {"sleeper.py": SLEEPER})
    submitted = jobs_client.jobs.create_or_update(_job(code, f"python sleeper.py {marker}"))
    scripts = processes.wait_for(marker)
    workspace_dir = jobs_client._scope.require_workspace()
    runner = JobRecords(workspace_dir).get(submitted.name)["runner"]["pid"]

    os.killpg(runner, signal.SIGKILL)  # the runner's process group: the runner and the script
    assert processes.ended(scripts)
    job = jobs_client.jobs.get(submitted.name)
    assert job.status == "Failed"
    with pytest.raises(JobException, match="runner stopped"):
        jobs_client.jobs.stream(submitted.name)
    # The job's MLflow run is not left running either.
    assert tracking.get_run(submitted.name).info.status == "FAILED"


# Listing and archiving --------------------------------------------------------------------------


def test_list_archive_and_restore(jobs_client: LocalMLClient, tmp_path: Path) -> None:
    code = _code(tmp_path, {"main.py": "print('ran')\n"})
    first = jobs_client.jobs.create_or_update(_job(code, "python main.py", display_name="first"))
    second = jobs_client.jobs.create_or_update(_job(code, "python main.py", display_name="second"))
    for name in (first.name, second.name):
        assert finish(jobs_client, name) == "Completed"

    listed = list(jobs_client.jobs.list())
    assert [j.name for j in listed] == [second.name, first.name]  # newest first
    assert [j.display_name for j in listed] == ["second", "first"]
    assert all(j.status == "Completed" for j in listed)
    assert list(jobs_client.jobs.list(parent_job_name=first.name)) == []

    jobs_client.jobs.archive(first.name)
    assert [j.name for j in jobs_client.jobs.list()] == [second.name]
    assert [j.name for j in jobs_client.jobs.list(list_view_type=ListViewType.ARCHIVED_ONLY)] == [first.name]
    assert [j.name for j in jobs_client.jobs.list(list_view_type=ListViewType.ALL)] == [
        second.name,
        first.name,
    ]
    assert jobs_client.jobs.get(first.name).status == "Completed"  # archived jobs can still be read

    jobs_client.jobs.restore(first.name)
    assert [j.name for j in jobs_client.jobs.list()] == [second.name, first.name]


def test_unknown_jobs_are_not_found(jobs_client: LocalMLClient, tmp_path: Path) -> None:
    for operation in (
        jobs_client.jobs.get,
        jobs_client.jobs.stream,
        jobs_client.jobs.begin_cancel,
        jobs_client.jobs.archive,
        lambda name: jobs_client.jobs.download(name, download_path=tmp_path),
    ):
        with pytest.raises(ResourceNotFoundError, match="no-such-job"):
            operation("no-such-job")
