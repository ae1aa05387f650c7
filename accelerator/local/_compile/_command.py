"""A command job compiled into the record the runner reads (``_execution._spec.CommandJobRecord``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from azure.ai.ml.entities import Command, CommandJob
from azure.ai.ml.entities._job.to_rest_functions import to_rest_job_object

from accelerator.local._compile._common import (
    base_record,
    check_bindings,
    check_timeout,
    compile_inputs,
    compile_outputs,
)
from accelerator.local._exceptions import LocalBackendUnsupportedError
from accelerator.local._execution._spec import CommandJobRecord

if TYPE_CHECKING:
    from accelerator.local.operations._operation_orchestrator import LocalOrchestrator


def compile_command(orchestrator: LocalOrchestrator, job: Command | CommandJob) -> CommandJobRecord:
    command_job = job._to_job() if isinstance(job, Command) else job
    if command_job.distribution is not None or (
        command_job.resources is not None and (command_job.resources.instance_count or 1) > 1
    ):
        raise LocalBackendUnsupportedError("distributed (multi-node) command jobs")
    rest = to_rest_job_object(job)
    record = base_record(orchestrator, job, rest)
    # The job's own base path: its YAML file's folder. ``_to_job()`` gives the working folder.
    base_path = getattr(job, "_base_path", None) or Path.cwd()
    code, _, code_id = orchestrator.code(command_job.code, base_path)
    environment = orchestrator.environment(command_job.environment)
    body = rest.as_dict()
    inputs, rest_inputs = compile_inputs(orchestrator, body["properties"].get("inputs") or {}, base_path)
    outputs, rest_outputs = compile_outputs(orchestrator, body["properties"].get("outputs") or {}, rest.name)
    check_bindings(command_job.command, inputs, outputs, "The command")
    body["properties"].update(
        {"codeId": code_id, "environmentId": environment, "inputs": rest_inputs, "outputs": rest_outputs}
    )
    timeout = command_job.limits.timeout if command_job.limits is not None else None
    check_timeout(timeout)
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
