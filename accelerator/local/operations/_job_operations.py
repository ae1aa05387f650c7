"""``ml_client.jobs`` on the local backend: command, pipeline and sweep jobs run on this machine.

``create_or_update`` validates the job with the SDK, resolves everything it refers to (code,
environment, compute, inputs), records it and starts a detached runner; it returns at once with
the job Queued or Running, as on Azure. ``stream`` follows the job's log to the end.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from azure.ai.ml import operations as sdk_operations
from azure.ai.ml.entities import Command, CommandJob, Job, PipelineJob
from azure.ai.ml.entities._builders import BaseNode
from azure.ai.ml.entities._job.sweep.sweep_job import SweepJob
from azure.ai.ml.entities._job.to_rest_functions import to_rest_job_object
from azure.ai.ml.entities._validation import PathAwareSchemaValidatableMixin
from azure.ai.ml.exceptions import ErrorCategory, ErrorTarget, JobException
from azure.core.polling import LROPoller

from accelerator.local import _mlflow, _names
from accelerator.local._exceptions import LocalBackendUnsupportedError, not_found, validation_error
from accelerator.local._execution import _process
from accelerator.local._execution._binding import placeholders
from accelerator.local._execution._paths import local_output
from accelerator.local._execution._records import IN_PROGRESS, LOG_NAME, TERMINAL, JobRecords, now
from accelerator.local._execution._runner import open_run
from accelerator.local._execution._tracking import InProcessTracking
from accelerator.local._paging import paged
from accelerator.local._poller import completed
from accelerator.local._scope import LocalScope
from accelerator.local._system_data import identity, system_data
from accelerator.local._validation import check_name
from accelerator.local.operations._base import LocalOperations
from accelerator.local.operations._component_operations import ComponentOperations
from accelerator.local.operations._operation_orchestrator import LocalOrchestrator

_POLL_SECONDS = 0.2


class JobOperations(LocalOperations):
    _sdk_class = sdk_operations.JobOperations
    _group = "jobs"

    def __init__(self, scope: LocalScope, client: Any) -> None:
        super().__init__(scope)
        self._orchestrator = LocalOrchestrator(scope, client)
        self._components: ComponentOperations = client.components

    @property
    def _records(self) -> JobRecords:
        return JobRecords(self._scope.require_workspace())

    # -- submit ----------------------------------------------------------------------------------

    def create_or_update(
        self,
        job: Job,
        *,
        description: str | None = None,
        compute: str | None = None,
        tags: dict | None = None,
        experiment_name: str | None = None,
        skip_validation: bool = False,
        **kwargs: Any,
    ) -> Job:
        if isinstance(job, BaseNode) and not isinstance(job, Command):
            job = job._to_job()  # a sweep or pipeline node becomes its job, as the SDK does
        if not isinstance(job, (Command, CommandJob, PipelineJob, SweepJob)):
            raise LocalBackendUnsupportedError(
                f"{type(job).__name__} jobs", "The local backend runs command, pipeline and sweep jobs."
            )
        if description is not None:
            job.description = description
        if compute is not None:
            job.compute = compute
        if tags is not None:
            job.tags = tags
        if experiment_name is not None:
            job.experiment_name = experiment_name
        if not job.name:  # None unless ACCELERATOR_JOB_NAME_SEED asks for reproducible names
            job.name = _names.job_name(self._records.exists)
        if job.name is not None:
            check_name("job", job.name, ErrorTarget.JOB)  # before its name becomes a folder
        if job.name and self._records.exists(job.name):
            raise validation_error(
                f"(UserError) A job named '{job.name}' already exists in this workspace; names are unique.",
                ErrorTarget.JOB,
            )
        if not skip_validation and isinstance(job, PathAwareSchemaValidatableMixin):
            job._validate(raise_error=True)
        if isinstance(job, PipelineJob):
            record = self._pipeline_record(job)
        elif isinstance(job, SweepJob):
            record = self._sweep_record(job)
        else:
            record = self._command_record(job)
        # The job's MLflow run exists from submission, as on Azure: mlflow.get_run(job.name) works at once.
        workspace_dir = self._scope.require_workspace()
        experiment, run_id = open_run(InProcessTracking(workspace_dir), workspace_dir, record)
        record.update(mlflow_run_id=run_id, mlflow_experiment_id=experiment, created_by=identity())
        self._records.create(record)
        submitted = self._entity(record)  # as submitted: Queued, whatever the runner does next
        try:
            pid, started = _process.spawn_runner(
                self._scope.require_workspace(),
                record["name"],
                self._records.folder(record["name"]) / "runner.log",
            )
        except BaseException as error:  # no runner: the job fails now rather than stays Queued
            self._records.update(
                record["name"],
                status="Failed",
                ended=now(),
                error=f"The local runner could not start: {error}",
            )
            _mlflow.end_run(_mlflow.client(workspace_dir), run_id, "FAILED")
            raise
        self._records.update(record["name"], runner={"pid": pid, "started": started})
        return submitted

    def _base(self, job: Job, rest: Any) -> dict[str, Any]:
        """What every job record holds, from the job's REST form (which carries the SDK's defaults)."""
        properties = rest.properties
        return {
            "name": rest.name,
            "status": "Queued",
            "parent": None,
            "display_name": properties.display_name or rest.name,
            "experiment_name": properties.experiment_name,
            "description": job.description,
            "tags": dict(job.tags or {}),
            "compute": self._orchestrator.compute(getattr(job, "compute", None)),
            "rest_class": f"{type(rest).__module__}:{type(rest).__qualname__}",
        }

    def _command_record(self, job: Command | CommandJob) -> dict[str, Any]:
        command_job = job._to_job() if isinstance(job, Command) else job
        if command_job.distribution is not None or (
            command_job.resources is not None and (command_job.resources.instance_count or 1) > 1
        ):
            raise LocalBackendUnsupportedError("distributed (multi-node) command jobs")
        rest = to_rest_job_object(job)
        record = self._base(job, rest)
        # The job's own base path: its YAML file's folder. ``_to_job()`` gives the working folder.
        base_path = getattr(job, "_base_path", None) or Path.cwd()
        code, _, code_id = self._orchestrator.code(command_job.code, base_path)
        environment = self._orchestrator.environment(command_job.environment)
        body = rest.as_dict()
        inputs, rest_inputs = self._inputs(body["properties"].get("inputs") or {}, base_path)
        outputs, rest_outputs = self._outputs(body["properties"].get("outputs") or {}, rest.name)
        _check_bindings(command_job.command, inputs, outputs, "The command")
        body["properties"].update(
            {"codeId": code_id, "environmentId": environment, "inputs": rest_inputs, "outputs": rest_outputs}
        )
        timeout = command_job.limits.timeout if command_job.limits is not None else None
        _check_timeout(timeout)
        return {
            **record,
            "type": "command",
            "command": command_job.command,
            "code": code,
            "environment": environment,
            "environment_variables": dict(command_job.environment_variables or {}),
            "inputs": inputs,
            "outputs": outputs,
            "timeout": timeout,
            "rest": body,
        }

    def _inputs(self, rest_inputs: dict[str, Any], base_path: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        specs, resolved = {}, {}
        for name, value in rest_inputs.items():
            specs[name], resolved[name] = self._orchestrator.input(value, base_path, name)
        return specs, resolved

    def _outputs(self, rest_outputs: dict[str, Any], job: str) -> tuple[dict[str, Any], dict[str, Any]]:
        specs, resolved = {}, {}
        for name, value in rest_outputs.items():
            specs[name], resolved[name] = self._orchestrator.output(value or {}, job, name)
        return specs, resolved

    def _sweep_record(self, job: SweepJob) -> dict[str, Any]:
        from accelerator.local._execution._spec import SUPPORTED_DISTRIBUTIONS

        sampling = job.sampling_algorithm
        sampling_type = (sampling if isinstance(sampling, str) else sampling.type).lower()
        if sampling_type not in ("random", "grid"):
            raise LocalBackendUnsupportedError(
                f"'{sampling_type}' sampling in sweep jobs", "Use random or grid sampling."
            )
        policy = job.early_termination
        if policy is not None and policy.type.lower() != "bandit":
            raise LocalBackendUnsupportedError(
                f"the {policy.type} early termination policy", "Use a BanditPolicy, or none."
            )
        if job.limits is None or not (job.limits.max_total_trials or sampling_type == "grid"):
            raise validation_error("A random sweep needs limits.max_total_trials.", ErrorTarget.SWEEP_JOB)
        rest = to_rest_job_object(job)
        body = rest.as_dict()
        record = self._base(job, rest)
        trial = job.trial
        # A trial made from a component resolves its code from the component's folder.
        base_path = getattr(trial, "_base_path", None) or getattr(job, "_base_path", None) or Path.cwd()
        code, _, code_id = self._orchestrator.code(trial.code, base_path)
        environment = self._orchestrator.environment(trial.environment)
        space = body["properties"]["searchSpace"]
        for parameter, (distribution, _) in space.items():
            if distribution not in SUPPORTED_DISTRIBUTIONS:
                raise LocalBackendUnsupportedError(
                    f"the '{distribution}' search space distribution ({parameter})"
                )
            if sampling_type == "grid" and distribution != "choice":
                raise validation_error(
                    f"Grid sampling supports only Choice; '{parameter}' is {distribution}.",
                    ErrorTarget.SWEEP_JOB,
                )
        inputs, rest_inputs = self._inputs(body["properties"].get("inputs") or {}, base_path)
        outputs = {
            name: {"type": (value or {}).get("jobOutputType") or "uri_folder", "uri": None}
            for name, value in (body["properties"].get("outputs") or {}).items()
        }
        command = body["properties"]["trial"]["command"]
        declared = {**inputs, **dict.fromkeys(space)}
        _check_bindings(command, declared, outputs, "The trial command")
        body["properties"]["trial"].update({"codeId": code_id, "environmentId": environment})
        body["properties"]["inputs"] = rest_inputs
        limits = job.limits
        _check_timeout(limits.timeout)
        _check_timeout(limits.trial_timeout)
        return {
            **record,
            "type": "sweep",
            "output_prefix": self._orchestrator.output_prefix(),
            "trial": {
                "command": command.replace("${{search_space.", "${{inputs."),
                "code": code,
                "environment": environment,
                "environment_variables": dict(trial.environment_variables or {}),
                "inputs": inputs,
                "outputs": outputs,
            },
            "outputs": outputs,
            "search_space": space,
            "sampling": {"type": sampling_type, "seed": getattr(sampling, "seed", None)},
            "objective": {"goal": job.objective.goal.lower(), "primary_metric": job.objective.primary_metric},
            "limits": {
                "max_total_trials": limits.max_total_trials,
                "max_concurrent_trials": limits.max_concurrent_trials,
                "timeout": limits.timeout,
                "trial_timeout": limits.trial_timeout,
            },
            "early_termination": None
            if policy is None
            else {
                "slack_factor": getattr(policy, "slack_factor", None),
                "slack_amount": getattr(policy, "slack_amount", None),
                "evaluation_interval": policy.evaluation_interval,
                "delay_evaluation": policy.delay_evaluation,
            },
            "rest": body,
        }

    def _pipeline_record(self, job: PipelineJob) -> dict[str, Any]:
        settings = job.settings
        compute = job.compute or (settings.default_compute if settings else None)
        nodes: dict[str, Any] = {}
        # Components are resolved to ids for the REST form, then put back: the caller's job keeps its
        # own. (Not on a deep copy: a dsl-built pipeline's inputs cannot be deep-copied.)
        originals: dict[str, Any] = {}
        try:
            for step, node in job.jobs.items():
                if not isinstance(node, Command):
                    raise LocalBackendUnsupportedError(
                        f"{type(node).__name__} steps in pipelines",
                        f"Step '{step}': the local backend runs command steps.",
                    )
                component = self._components._resolve(node.component)
                originals[step] = node._component
                node._component = component["id"]
                self._orchestrator.compute(node.compute or compute)
                nodes[step] = {
                    "display_name": node.display_name or step,
                    "component_id": component["id"],
                    "component_fingerprint": component["fingerprint"],
                    "command": component["command"],
                    "code": component["code"],
                    "environment": component["environment"],
                    "is_deterministic": component["is_deterministic"],
                    "environment_variables": dict(node.environment_variables or {}),
                    "timeout": _checked_timeout(node),
                    "declared_inputs": component["inputs"],
                }
            rest = to_rest_job_object(job)
        finally:
            for step, component in originals.items():
                job.jobs[step]._component = component
        body = rest.as_dict()
        record = self._base(job, rest)
        record["compute"] = self._orchestrator.compute(compute)
        base_path = getattr(job, "_base_path", None) or Path.cwd()
        pipeline_inputs, rest_inputs = self._inputs(body["properties"].get("inputs") or {}, base_path)
        body["properties"]["inputs"] = rest_inputs
        pipeline_outputs: dict[str, Any] = {
            name: {
                "type": (value or {}).get("jobOutputType") or "uri_folder",
                "uri": None,
                "from": None,
                "path": (value or {}).get("uri"),
            }
            for name, value in (body["properties"].get("outputs") or {}).items()
        }
        default_datastore = str(getattr(settings, "default_datastore", None) or "").removeprefix("azureml:")
        default_datastore = default_datastore.rsplit("/", 1)[-1] or None
        for step, rest_node in body["properties"]["jobs"].items():
            node = nodes[step]
            declared = node.pop("declared_inputs")
            node["inputs"], node["after"] = _bind_node_inputs(
                step,
                rest_node.get("inputs") or {},
                declared,
                pipeline_inputs,
                nodes,
                self._orchestrator,
                base_path,
            )
            node["outputs"] = {}
            component_outputs = self._components._resolve(node["component_id"])["outputs"]
            for output, kind in component_outputs.items():
                bound = (rest_node.get("outputs") or {}).get(output) or {}
                value = bound.get("value") if isinstance(bound, dict) else None
                uri = bound.get("uri") if isinstance(bound, dict) else None
                node["outputs"][output] = {"type": kind, "uri": None}
                if value and value.startswith("${{parent.outputs."):
                    name = value.removeprefix("${{parent.outputs.").rstrip("}")
                    pipeline_outputs[name]["from"] = [step, output]
                    # A path set on the pipeline's output is where the step bound to it writes, as
                    # on Azure (pipeline_job.outputs.<name> = Output(path=...)); the step's own wins.
                    uri = uri or pipeline_outputs[name].pop("path", None)
                    bound = bound if bound.get("uri") else {**bound, "uri": uri}
                if uri:
                    node["outputs"][output]["uri"] = self._orchestrator.output(
                        bound, "", output, default_datastore
                    )[0]["uri"]
            _check_bindings(node["command"], node["inputs"], node["outputs"], f"Step '{step}'")
        for name, spec in pipeline_outputs.items():
            spec.pop("path", None)
            if spec["from"] is None:
                raise validation_error(
                    f"Pipeline output '{name}' is not bound to any step's output.", ErrorTarget.PIPELINE
                )
        return {
            **record,
            "type": "pipeline",
            "output_prefix": self._orchestrator.output_prefix(),
            "inputs": pipeline_inputs,
            "outputs": pipeline_outputs,
            "nodes": nodes,
            "order": _order(nodes),
            "settings": {
                "force_rerun": bool(settings and settings.force_rerun),
                "continue_on_step_failure": bool(settings and settings.continue_on_step_failure),
            },
            "rest": body,
        }

    # -- read ------------------------------------------------------------------------------------

    def get(self, name: str) -> Job:
        records = self._records
        if not records.exists(name):
            raise not_found("Job", name, f"workspace '{self._scope.workspace_name}'")
        return self._entity(self._refresh(records.get(name)))

    def list(self, *, parent_job_name: str | None = None, list_view_type: Any = None, **kwargs: Any) -> Any:
        """Top-level jobs, newest first; with ``parent_job_name``, that job's children in order."""
        view = str(list_view_type or "ActiveOnly").split(".")[-1].lower().replace("_", "")
        found = []
        for record in self._records.all():
            if record.get("parent") != parent_job_name:
                continue
            archived = bool(record.get("archived"))
            if (view == "activeonly" and archived) or (view == "archivedonly" and not archived):
                continue
            found.append(record)
        if parent_job_name is None:
            found.reverse()
        return paged(self._entity(self._refresh(r)) for r in found)

    def _refresh(self, record: dict[str, Any]) -> dict[str, Any]:
        """A job whose runner has gone without finishing it is Failed, not Running for ever."""
        if record["status"] in TERMINAL:
            return record
        root = record
        while root.get("parent"):
            root = self._records.get(root["parent"])
        runner = root.get("runner") or {}
        if not runner:
            # Created a moment ago, its runner being started; one never recorded after a minute
            # (the submitting process died in between) is gone, and the job must not stay Queued.
            if _age_seconds(root.get("created")) < _RUNNER_START_SECONDS:
                return record
        elif _process.is_alive(runner.get("pid"), runner.get("started")):
            return record
        record = self._records.get(record["name"])  # it may have finished while we looked
        if record["status"] in TERMINAL:
            return record
        status = "Canceled" if record["status"] == "CancelRequested" else "Failed"
        error = None if status == "Canceled" else "The local runner stopped before the job ended."
        record = self._records.update(record["name"], status=status, ended=now(), error=error)
        if record.get("mlflow_run_id"):  # the runner would have closed the job's run: close it here
            mlflow_status = "KILLED" if status == "Canceled" else "FAILED"
            _mlflow.end_run(
                _mlflow.client(self._scope.require_workspace()), record["mlflow_run_id"], mlflow_status
            )
        return record

    def _entity(self, record: dict[str, Any]) -> Job:
        module, _, cls = record["rest_class"].partition(":") if record.get("rest_class") else ("", "", "")
        rest_type: Any = getattr(importlib.import_module(module), cls) if module else _default_rest_class()
        body = copy.deepcopy(record["rest"])
        body["properties"]["status"] = record["status"]
        body["properties"].setdefault("properties", {})
        body["properties"]["tags"] = record.get("tags") or body["properties"].get("tags") or {}
        if record.get("description") is not None:
            body["properties"]["description"] = record["description"]
        body["properties"]["isArchived"] = bool(record.get("archived"))
        body["id"] = self._scope.arm_id(
            "workspaces", self._scope.workspace_name or "", "jobs", record["name"]
        )
        entity = Job._from_rest_object(rest_type(body))
        entity._creation_context = system_data(
            record.get("created"), record.get("created_by"), record.get("ended") or record.get("started")
        )
        return entity

    # -- follow and control ----------------------------------------------------------------------

    def stream(self, name: str) -> None:
        """Print the job's log as it runs and a summary at the end; a failed job raises JobException."""
        self.get(name)
        records = self._records
        out = sys.stdout
        out.write(f"RunId: {name}\nWeb View: {self._web_view(name)}\n")
        shown = 0
        header = False
        while True:
            record = self._refresh(records.get(name))
            lines = _read_lines(records.log(name))
            if len(lines) > shown:
                if not header:
                    out.write(f"\nStreaming {LOG_NAME}\n{'=' * (len(LOG_NAME) + 10)}\n\n")
                    header = True
                out.write("".join(line + "\n" for line in lines[shown:]))
                shown = len(lines)
            if record["status"] in TERMINAL:
                lines = _read_lines(records.log(name))
                if len(lines) > shown:
                    out.write("".join(line + "\n" for line in lines[shown:]))
                break
            out.flush()
            time.sleep(_POLL_SECONDS)
        out.write(
            f"\nExecution Summary\n=================\nRunId: {name}\nWeb View: {self._web_view(name)}\n"
        )
        if record["status"] == "Failed":
            message = record.get("error") or "The job failed."
            # The runner ends the log with the error itself: show the lines before it.
            tail = records.tail(name, 30 + message.count("\n") + 1).removesuffix(message).rstrip()
            raise JobException(
                message=f"Exception : \n {message}\n\nThe end of the job's log:\n{tail}",
                target=ErrorTarget.JOB,
                no_personal_data_message="Exception raised on failed job.",
                error_category=ErrorCategory.SYSTEM_ERROR,
            )
        out.write(f"Status: {record['status']}\n\n")
        out.flush()

    def _web_view(self, name: str) -> str:
        return f"local backend, job folder jobs/{name}"

    def begin_cancel(self, name: str, **kwargs: Any) -> LROPoller[None]:
        """Stop the job's process tree; the job (and a pipeline's or sweep's running child) ends Canceled."""
        records = self._records
        if not records.exists(name):
            raise not_found("Job", name, f"workspace '{self._scope.workspace_name}'")
        record = self._refresh(records.get(name))
        if record["status"] in TERMINAL:
            return completed(None)
        records.update(name, status="CancelRequested")
        if record.get("parent"):
            _stop_child(record)
        else:
            runner = record.get("runner") or {}
            if runner:
                _process.stop_group(runner["pid"], runner.get("started"))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self._refresh(records.get(name))["status"] not in TERMINAL:
            time.sleep(_POLL_SECONDS)
        for child in [record, *(r for r in records.all() if r.get("parent") == name)]:
            if records.get(child["name"])["status"] not in TERMINAL:
                records.update(child["name"], status="Canceled", ended=now())
        return completed(None)

    def download(
        self, name: str, *, download_path: str | Path = ".", output_name: str | None = None, all: bool = False
    ) -> None:
        """As the SDK: ``named-outputs/<output>`` for outputs, ``artifacts/user_logs`` for the log."""
        record = self._records.get(self.get(name).name)
        target = Path(download_path)
        if record["type"] == "sweep" and record.get("best_child_run_id"):
            self.download(record["best_child_run_id"], download_path=target, output_name=output_name, all=all)
            if output_name:
                return
        outputs = record.get("outputs") or {}
        if output_name is not None and output_name not in outputs:
            raise validation_error(
                f"Job {name} has no output '{output_name}'; its outputs are: {', '.join(outputs) or 'none'}.",
                ErrorTarget.JOB,
            )
        wanted = [output_name] if output_name else (list(outputs) if all else [])
        for output in wanted:
            spec = outputs[output]
            if not spec.get("uri"):
                raise validation_error(f"Output '{output}' of job {name} has no files yet.", ErrorTarget.JOB)
            fs, path = local_output(self._scope.require_workspace(), spec)
            if not fs.exists(path):
                raise validation_error(f"Output '{output}' of job {name} has no files.", ErrorTarget.JOB)
            destination = target / "named-outputs" / output
            destination.mkdir(parents=True, exist_ok=True)
            if fs.isdir(path):
                fs.get(path.rstrip("/") + "/", str(destination), recursive=True)
            else:
                fs.get(path, str(destination / Path(path).name))
        if not output_name:
            log = self._records.log(name)
            logs = target / "artifacts" / "user_logs"
            logs.mkdir(parents=True, exist_ok=True)
            (logs / log.name).write_bytes(log.read_bytes() if log.is_file() else b"")

    def archive(self, name: str) -> None:
        self.get(name)
        self._records.update(name, archived=True)

    def restore(self, name: str) -> None:
        self.get(name)
        self._records.update(name, archived=False)


_RUNNER_START_SECONDS = 60.0


def _age_seconds(created: Any) -> float:
    try:
        return (dt.datetime.now(dt.timezone.utc) - dt.datetime.fromisoformat(str(created))).total_seconds()
    except ValueError:
        return float("inf")


def _check_timeout(timeout: Any) -> None:
    """Azure ML's job limits: a timeout is a whole number of seconds, above 0."""
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise validation_error(
            f"(UserError) The job's timeout must be a positive whole number of seconds, not {timeout!r}.",
            ErrorTarget.JOB,
        )


def _checked_timeout(node: Any) -> Any:
    timeout = node.limits.timeout if getattr(node, "limits", None) is not None else None
    _check_timeout(timeout)
    return timeout


def _default_rest_class() -> Any:
    from azure.ai.ml._restclient.arm_ml_service.models import JobBase

    return JobBase


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def _stop_child(record: dict[str, Any]) -> None:
    from accelerator.local._execution._sweep import _stop

    process = record.get("process") or {}
    # Only the process that was started: a pid recycled since then is never signalled.
    if process.get("pid") and _process.is_alive(process["pid"], process.get("started")):
        _stop(type("P", (), {"pid": process["pid"]})())


def _check_bindings(command: str, inputs: dict[str, Any], outputs: dict[str, Any], what: str) -> None:
    for kind, name in sorted(placeholders(command)):
        declared = outputs if kind == "outputs" else inputs
        if name not in declared:
            raise validation_error(
                f"{what} refers to ${{{{{kind}.{name}}}}}, but there is no {kind[:-1]} named '{name}'. "
                f"Declared {kind}: {', '.join(sorted(declared)) or 'none'}.",
                ErrorTarget.JOB,
            )


def _bind_node_inputs(
    step: str,
    rest_inputs: dict[str, Any],
    declared: dict[str, Any],
    pipeline_inputs: dict[str, Any],
    nodes: dict[str, Any],
    orchestrator: LocalOrchestrator,
    base_path: Any,
) -> tuple[dict[str, Any], list[str]]:
    """A step's inputs as runner specs, and the steps it depends on."""
    bound: dict[str, Any] = {}
    after: list[str] = []
    for name, spec in declared.items():
        value = rest_inputs.get(name)
        if value is None:
            if spec.get("default") is not None:
                bound[name] = {"value": spec["default"]}
            elif spec.get("optional"):
                bound[name] = None
            else:
                raise validation_error(
                    f"Step '{step}' requires input '{name}', which is not bound.", ErrorTarget.PIPELINE
                )
            continue
        text = value.get("value") if isinstance(value, dict) else None
        if isinstance(text, str) and text.startswith("${{parent.inputs."):
            parent_input = text.removeprefix("${{parent.inputs.").rstrip("}")
            bound[name] = pipeline_inputs.get(parent_input)
            if bound[name] is None and not spec.get("optional"):
                raise validation_error(
                    f"Step '{step}' input '{name}' is bound to pipeline input '{parent_input}', "
                    "which has no value.",
                    ErrorTarget.PIPELINE,
                )
        elif isinstance(text, str) and text.startswith("${{parent.jobs."):
            upstream, _, output = text.removeprefix("${{parent.jobs.").rstrip("}").partition(".outputs.")
            if upstream not in nodes:
                raise validation_error(f"Step '{step}' input '{name}' refers to unknown step '{upstream}'.")
            bound[name] = {"node_output": [upstream, output]}
            if upstream not in after:
                after.append(upstream)
        else:
            rest = {k.replace("job_input_type", "jobInputType"): v for k, v in value.items()}
            bound[name] = orchestrator.input(rest, base_path, name)[0]
    unknown = sorted(set(rest_inputs) - set(declared))
    if unknown:
        raise validation_error(
            f"Step '{step}' binds inputs its component does not declare: {', '.join(unknown)}."
        )
    return bound, after


def _order(nodes: dict[str, Any]) -> list[str]:
    """Steps in dependency order, otherwise in the order the pipeline declares them."""
    remaining = {step: set(node["after"]) for step, node in nodes.items()}
    order: list[str] = []
    ready = deque(step for step, deps in remaining.items() if not deps)
    while ready:
        step = ready.popleft()
        order.append(step)
        for other, deps in remaining.items():
            if step in deps:
                deps.discard(step)
                if not deps and other not in order and other not in ready:
                    ready.append(other)
    if len(order) != len(nodes):
        raise validation_error("The pipeline's steps depend on each other in a cycle.", ErrorTarget.PIPELINE)
    return order


__all__ = ["IN_PROGRESS", "JobOperations"]
