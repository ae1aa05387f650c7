"""What public Azure ML SDK v2 samples do that the local backend must do as Azure does (issue 13):
compute defaults, anonymous environments, declared packages, ARM-id inputs, output path
expressions, pipeline-level output paths, creation_context, a job's MLflow artifacts as a model,
and batch endpoint defaults."""

# No `from __future__ import annotations`: dsl.pipeline reads the parameter annotations as types.

import datetime as dt
import re
import warnings
from pathlib import Path

import pytest
from azure.ai.ml import Input, Output, command, dsl
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import AmlCompute, BatchEndpoint, CommandComponent, Data, Environment, Model
from azure.ai.ml.exceptions import ValidationException
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from accelerator.local import LocalBackendUnsupportedError, LocalMLClient
from accelerator.local import _environment_packages as packages
from accelerator.local._system_data import identity

pytestmark = pytest.mark.usefixtures("no_stray_processes")

ENVIRONMENT = "azureml:taxi-train:1"  # registered by the jobs_client fixture
COMPUTE = "cpu-cluster"
IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250601.v1"


def _code(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _run(client: LocalMLClient, job: object) -> str:
    submitted = client.jobs.create_or_update(job)
    client.jobs.stream(submitted.name)
    assert client.jobs.get(submitted.name).status == "Completed"
    return submitted.name


def _local(client: LocalMLClient, uri: str) -> Path:
    """The file or folder behind an azureml:// datastore path of the workspace."""
    from accelerator.local._execution._paths import local_output

    _, path = local_output(client._scope.require_workspace(), {"uri": uri})
    return Path(path)


def test_a_cluster_without_a_size_gets_the_sdk_default(ml_client: LocalMLClient) -> None:
    created = ml_client.compute.begin_create_or_update(AmlCompute(name="cpu-default", max_instances=1))
    assert created.result().size.lower() == "standard_ds3_v2"
    ml_client.compute.begin_create_or_update(
        AmlCompute(name="cpu-big", size="Standard_E4s_v3", max_instances=1)
    ).result()
    # An update that leaves the size out keeps the cluster's own, as before.
    updated = ml_client.compute.begin_create_or_update(AmlCompute(name="cpu-big", max_instances=3)).result()
    assert (updated.size, updated.max_instances) == ("Standard_E4s_v3", 3)
    with pytest.raises(HttpResponseError, match="not a valid Azure VM size"):
        ml_client.compute.begin_create_or_update(AmlCompute(name="cpu-bad", size="huge")).result()
    with pytest.raises(ResourceNotFoundError):
        ml_client.compute.get("cpu-bad")


def test_an_inline_environment_runs_as_an_anonymous_version(
    jobs_client: LocalMLClient, tmp_path: Path
) -> None:
    environment = Environment(
        image=IMAGE,
        conda_file={"dependencies": ["python=3.11", "pip", {"pip": ["pandas", "azureml-mlflow"]}]},
    )
    job = command(
        command="python -c \"import pandas; print('pandas here')\"",
        environment=environment,
        compute=COMPUTE,
    )
    name = _run(jobs_client, job)
    assert (
        "pandas here"
        in jobs_client._scope.require_workspace().joinpath(f"jobs/{name}/user_logs/std_log.txt").read_text()
    )
    # Registered under the SDK's own name and 64-character hash version, as Azure ML does.
    assert len(environment.version) == 64
    registered = jobs_client.environments.get("CliV2AnonymousEnvironment", version=environment.version)
    assert registered.image == IMAGE
    again = Environment(image=IMAGE, conda_file=environment.conda_file)
    assert jobs_client.environments.create_or_update(again).version == environment.version
    # Only the SDK's anonymous name takes such a version; a named environment keeps the 30-character rule.
    with pytest.raises(ValidationException, match="up to 30 characters"):
        jobs_client.environments.create_or_update(Environment(name="mine", version="a" * 64, image=IMAGE))


def test_a_missing_declared_package_is_refused_at_submission(
    jobs_client: LocalMLClient, tmp_path: Path
) -> None:
    environment = Environment(
        image=IMAGE,
        conda_file={"dependencies": ["python=3.8", {"pip": ["pandas", "surely-not-installed-pkg==1.0"]}]},
    )
    job = command(command="python -c 'print(1)'", environment=environment, compute=COMPUTE)
    with pytest.raises(LocalBackendUnsupportedError, match=re.escape("surely-not-installed-pkg==1.0")):
        jobs_client.jobs.create_or_update(job)
    # Refused before anything was written: no job, no environment.
    assert list(jobs_client.jobs.list()) == []
    assert [e.name for e in jobs_client.environments.list()] == ["taxi-train"]
    # A registered environment declaring it is refused the same way when a job names it.
    jobs_client.environments.create_or_update(
        Environment(name="needs-it", version="1", image=IMAGE, conda_file=environment.conda_file)
    )
    with pytest.raises(LocalBackendUnsupportedError, match="needs-it:1 declares"):
        jobs_client.jobs.create_or_update(
            command(command="python -c 'print(1)'", environment="azureml:needs-it:1", compute=COMPUTE)
        )
    assert list(jobs_client.jobs.list()) == []


def test_declared_packages_are_read_as_conda_and_pip_write_them() -> None:
    spec = {
        "dependencies": [
            "python=3.10",
            "pip",
            "numpy=1.21",
            "conda-forge::pandas>=1.0",
            "pytorch",
            {"pip": ["scikit-learn==1.0.2", "--extra-index-url https://example.org", "mlflow  # tracking"]},
        ]
    }
    assert [str(r) for r in packages.declared(spec)] == [
        "numpy==1.21.*",
        "pandas>=1.0",
        "torch",
        "scikit-learn==1.0.2",
        "mlflow",
    ]
    assert packages.declared("dependencies:\n  - numpy\n") and packages.declared(None) == []
    with pytest.raises(LocalBackendUnsupportedError, match="GPU"):
        packages.declared({"dependencies": ["cudatoolkit=11.8"]})
    with pytest.raises(LocalBackendUnsupportedError, match=re.escape("-r requirements.txt")):
        packages.declared({"dependencies": [{"pip": ["-r requirements.txt"]}]})
    with pytest.raises(LocalBackendUnsupportedError, match="conda environment specification"):
        packages.declared("just text")
    # Installed at another version: accepted with a warning naming both versions.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        packages.check({"dependencies": [{"pip": ["pandas==0.1"]}]}, "environment x")
    assert any("pandas==0.1 (installed: " in str(w.message) for w in caught)


def test_arm_id_inputs_and_output_path_expressions(jobs_client: LocalMLClient, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "trips.csv").write_text("fare\n3\n")
    data = jobs_client.data.create_or_update(Data(name="trips", path=str(folder), type=AssetTypes.URI_FOLDER))
    assert data.id.startswith("/subscriptions/")
    job = command(
        command="cat ${{inputs.trips}}/trips.csv > ${{outputs.copy}}/copy.csv",
        inputs={"trips": Input(type=AssetTypes.URI_FOLDER, path=data.id)},
        outputs={
            "copy": Output(
                type=AssetTypes.URI_FOLDER,
                path="azureml://datastores/${{default_datastore}}/paths/copies/${{name}}/${{output_name}}",
            )
        },
        environment=ENVIRONMENT,
        compute=COMPUTE,
    )
    name = _run(jobs_client, job)
    uri = jobs_client.jobs.get(name).outputs["copy"].path
    assert uri.endswith(f"/datastores/workspaceblobstore/paths/copies/{name}/copy")
    assert (_local(jobs_client, uri) / "copy.csv").read_text() == "fare\n3\n"
    with pytest.raises(ResourceNotFoundError, match="trips:9"):
        jobs_client.jobs.create_or_update(
            command(
                command="ls ${{inputs.trips}}",
                inputs={"trips": Input(type=AssetTypes.URI_FOLDER, path=data.id.replace("/1", "/9"))},
                environment=ENVIRONMENT,
                compute=COMPUTE,
            )
        )


def test_a_pipeline_output_path_is_where_its_step_writes(jobs_client: LocalMLClient, tmp_path: Path) -> None:
    write = command(
        name="write",
        command="echo done > ${{outputs.result}}/done.txt",
        outputs={"result": Output(type=AssetTypes.URI_FOLDER)},
        environment=ENVIRONMENT,
    )

    @dsl.pipeline(compute=COMPUTE)
    def one_step():
        step = write()
        return {"result": step.outputs.result}

    pipeline_job = one_step()
    pipeline_job.outputs.result = Output(
        type=AssetTypes.URI_FOLDER, path="azureml://datastores/workspaceblobstore/paths/pipeline/${{name}}"
    )
    name = _run(jobs_client, pipeline_job)
    (step,) = jobs_client.jobs.list(parent_job_name=name)
    uri = jobs_client.jobs.get(name).outputs["result"].path
    # ${{name}} is the step's own job name, as the service expands it for pipeline steps.
    assert uri.endswith(f"/paths/pipeline/{step.name}")
    assert (_local(jobs_client, uri) / "done.txt").read_text() == "done\n"


def test_jobs_models_and_data_say_who_created_them_and_when(
    jobs_client: LocalMLClient, tmp_path: Path
) -> None:
    before = dt.datetime.now(dt.timezone.utc)
    (tmp_path / "w.txt").write_text("w")
    data = jobs_client.data.create_or_update(
        Data(name="w", path=str(tmp_path / "w.txt"), type=AssetTypes.URI_FILE)
    )
    model = jobs_client.models.create_or_update(Model(name="w", path=str(tmp_path / "w.txt")))
    job = _run(jobs_client, command(command="echo hi", environment=ENVIRONMENT, compute=COMPUTE))
    entities = [
        data,
        model,
        jobs_client.data.get("w", "1"),
        jobs_client.models.get("w", "1"),
        jobs_client.jobs.get(job),
    ]
    entities.append(jobs_client.environments.get("taxi-train", "1"))
    after = dt.datetime.now(dt.timezone.utc)
    for entity in entities:
        context = entity.creation_context
        assert context is not None, type(entity).__name__
        assert (context.created_by, context.created_by_type) == (identity(), "User")
        assert before - dt.timedelta(seconds=5) <= context.created_at <= after
        assert context.last_modified_at >= context.created_at


MLFLOW_JOB = """\
import mlflow, mlflow.pyfunc

class Twice(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input * 2

mlflow.pyfunc.save_model("saved", python_model=Twice())
mlflow.log_artifacts("saved", "model")
"""


def test_a_model_from_the_artifacts_a_job_logged(jobs_client: LocalMLClient, tmp_path: Path) -> None:
    code = _code(tmp_path, {"log_model.py": MLFLOW_JOB})
    job = _run(
        jobs_client,
        command(code=str(code), command="python log_model.py", environment=ENVIRONMENT, compute=COMPUTE),
    )
    # The documented way to register the MLflow model a job logged.
    model = jobs_client.models.create_or_update(
        Model(
            name="twice",
            path=f"azureml://jobs/{job}/outputs/artifacts/paths/model/",
            type=AssetTypes.MLFLOW_MODEL,
        )
    )
    assert (model.version, model.type, model.job_name) == (
        "1",
        AssetTypes.MLFLOW_MODEL,
        jobs_client.jobs.get(job).name,
    )
    local = Path(jobs_client.models._local_path("twice", "1"))
    assert (local / "MLmodel").is_file()
    for path, message in (("nothing-here", "has no files"), ("../../../../..", "'..' is not allowed")):
        with pytest.raises(ValidationException, match=message):
            jobs_client.models.create_or_update(
                Model(name="twice", path=f"azureml://jobs/{job}/outputs/artifacts/paths/{path}")
            )
    assert [m.version for m in jobs_client.models.list("twice")] == ["1"]


def test_a_batch_endpoint_answers_with_its_defaults(ml_client: LocalMLClient) -> None:
    ml_client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="fares-batch")).result()
    endpoint = ml_client.batch_endpoints.get("fares-batch")
    # As the service answers: a defaults object, its deployment unset until one is chosen.
    assert endpoint.defaults is not None and endpoint.defaults.deployment_name is None
    endpoint.defaults.deployment_name = "no-such-deployment"
    with pytest.raises(ValidationException, match="not a deployment of batch endpoint"):
        ml_client.batch_endpoints.begin_create_or_update(endpoint)
    assert ml_client.batch_endpoints.get("fares-batch").defaults.deployment_name is None


SCORE = """\
import json, os

def init():
    global weight
    # A single-file model is AZUREML_MODEL_DIR/<file>, as on Azure.
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "weight.txt")) as handle:
        weight = float(handle.read())

def run(raw_data):
    return [x * weight for x in json.loads(raw_data)["data"]]
"""


def test_an_inline_single_file_model_deploys_and_get_round_trips(
    ml_client: LocalMLClient, tmp_path: Path
) -> None:
    from azure.ai.ml.entities import CodeConfiguration, ManagedOnlineDeployment, ManagedOnlineEndpoint
    from azure.ai.ml.exceptions import MultipleLocalDeploymentsFoundError

    (tmp_path / "weight.txt").write_text("3")
    code = _code(tmp_path, {"score.py": SCORE})
    request = tmp_path / "request.json"
    request.write_text('{"data": [1, 2]}')
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="samples-ep")).result()
    try:
        for name in ("blue", "green"):
            ml_client.online_deployments.begin_create_or_update(
                ManagedOnlineDeployment(
                    name=name,
                    endpoint_name="samples-ep",
                    model=Model(path=str(tmp_path / "weight.txt")),  # inline and unnamed
                    code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py"),
                    environment=Environment(image=IMAGE, conda_file={"dependencies": [{"pip": ["numpy"]}]}),
                    instance_type="Standard_DS3_v2",
                    instance_count=1,
                )
            ).result()
        # Registered once, as Azure ML's anonymous model: named by the hash of its file.
        (model,) = ml_client.models.list()
        assert len(model.name) == 64 and model.version == "1"
        got = ml_client.online_deployments.get("blue", "samples-ep")
        assert got.model == f"azureml:{model.name}:1"
        assert got.id.endswith("/onlineEndpoints/samples-ep/deployments/blue")
        assert got.environment.split("/environments/")[1].startswith("CliV2AnonymousEnvironment/versions/")
        assert got.code_configuration.scoring_script == "score.py"
        # get, change, update: the got entity is complete enough to be sent back.
        got.environment_variables = {"CHANGED": "1"}
        updated = ml_client.online_deployments.begin_create_or_update(got).result()
        assert updated.environment_variables == {"CHANGED": "1"}
        assert updated.code_configuration.code == got.code_configuration.code

        # No traffic yet: the endpoint's traffic rules refuse, local=True goes to the deployment itself.
        with pytest.raises(HttpResponseError):
            ml_client.online_endpoints.invoke("samples-ep", request_file=str(request))
        answer = ml_client.online_endpoints.invoke(
            "samples-ep", request_file=str(request), deployment_name="green", local=True
        )
        assert answer == "[3.0, 6.0]"
        with pytest.raises(MultipleLocalDeploymentsFoundError):
            ml_client.online_endpoints.invoke("samples-ep", request_file=str(request), local=True)
    finally:
        ml_client.online_endpoints.begin_delete("samples-ep").result()


COMPONENTS = """\
from mldesigner import Output, command_component

ENVIRONMENT = "azureml:taxi-train:1"


@command_component(environment=ENVIRONMENT)
def shout(word: str = "fare") -> str:
    return word.upper()


@command_component(environment=ENVIRONMENT)
def keep(text: str, kept: Output(type="uri_folder")) -> Output(type="integer", is_control=True):
    import pathlib

    pathlib.Path(kept, "text.txt").write_text(text)
    return len(text)
"""


def test_primitive_outputs_of_function_components_reach_the_next_step(
    jobs_client: LocalMLClient, tmp_path: Path
) -> None:
    import importlib.util

    code = _code(tmp_path, {"functions.py": COMPONENTS})
    spec = importlib.util.spec_from_file_location("functions_under_test", code / "functions.py")
    functions = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(functions)

    @dsl.pipeline(compute=COMPUTE)
    def shout_and_keep():
        loud = functions.shout(word="taxi")
        kept = functions.keep(text=loud.outputs.output)
        return {"kept": kept.outputs.kept}

    name = _run(jobs_client, shout_and_keep())
    steps = {step.display_name: step.name for step in jobs_client.jobs.list(parent_job_name=name)}
    # jobs.get parses steps whose outputs are primitive (their values are not job outputs).
    assert all(jobs_client.jobs.get(step).status == "Completed" for step in steps.values())
    kept = jobs_client.jobs.get(name).outputs["kept"].path
    assert (_local(jobs_client, kept) / "text.txt").read_text() == "TAXI"

    # A step that never writes its primitive output fails, naming it.
    silent = CommandComponent(
        name="silent",
        command="echo nothing",
        outputs={"answer": Output(type="string")},
        environment=ENVIRONMENT,
    )

    @dsl.pipeline(compute=COMPUTE)
    def never_answers():
        silent()

    failed = jobs_client.jobs.create_or_update(never_answers())
    with pytest.raises(Exception, match="did not write a value for its output 'answer'"):
        jobs_client.jobs.stream(failed.name)


def test_what_cannot_run_here_is_refused_by_name(jobs_client: LocalMLClient, tmp_path: Path) -> None:
    from azure.ai.ml import spark

    jobs_client.compute.begin_create_or_update(
        AmlCompute(name="gpu-cluster", size="Standard_NC6s_v3", max_instances=1)
    ).result()
    with pytest.raises(LocalBackendUnsupportedError, match="GPU compute"):
        jobs_client.jobs.create_or_update(
            command(command="nvidia-smi", environment=ENVIRONMENT, compute="gpu-cluster")
        )
    with pytest.raises(LocalBackendUnsupportedError, match="https://"):
        jobs_client.jobs.create_or_update(
            command(
                command="ls ${{inputs.web}}",
                inputs={"web": Input(type=AssetTypes.URI_FILE, path="https://example.org/trips.csv")},
                environment=ENVIRONMENT,
                compute=COMPUTE,
            )
        )
    code = _code(tmp_path, {"job.py": "print(1)"})
    with pytest.raises(LocalBackendUnsupportedError, match="Spark"):
        jobs_client.jobs.create_or_update(
            spark(
                code=str(code),
                entry={"file": "job.py"},
                driver_cores=1,
                driver_memory="1g",
                executor_cores=1,
                executor_memory="1g",
                executor_instances=1,
            )
        )
    with pytest.raises(LocalBackendUnsupportedError, match="Docker build"):
        from azure.ai.ml.entities import BuildContext

        jobs_client.environments.create_or_update(
            Environment(name="built", build=BuildContext(path=str(code)))
        )
    assert list(jobs_client.jobs.list()) == []
