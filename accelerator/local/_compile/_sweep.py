"""A sweep job compiled into the record the runner reads (``_execution._spec.SweepJobRecord``).

Only what the sweep runner does is accepted: random or grid sampling, the distributions it draws
from (``SUPPORTED_DISTRIBUTIONS``) and a bandit policy or none.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from azure.ai.ml.entities._job.sweep.sweep_job import SweepJob
from azure.ai.ml.entities._job.to_rest_functions import to_rest_job_object
from azure.ai.ml.exceptions import ErrorTarget

from accelerator.local._compile._common import base_record, check_bindings, check_timeout, compile_inputs
from accelerator.local._exceptions import LocalBackendUnsupportedError, validation_error
from accelerator.local._execution._spec import SUPPORTED_DISTRIBUTIONS, OutputSpec, SweepJobRecord

if TYPE_CHECKING:
    from accelerator.local.operations._operation_orchestrator import LocalOrchestrator


def compile_sweep(orchestrator: LocalOrchestrator, job: SweepJob) -> SweepJobRecord:
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
    record = base_record(orchestrator, job, rest)
    trial = job.trial
    # A trial made from a component resolves its code from the component's folder.
    base_path = getattr(trial, "_base_path", None) or getattr(job, "_base_path", None) or Path.cwd()
    code, _, code_id = orchestrator.code(trial.code, base_path)
    environment = orchestrator.environment(trial.environment)
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
    inputs, rest_inputs = compile_inputs(orchestrator, body["properties"].get("inputs") or {}, base_path)
    outputs: dict[str, OutputSpec] = {
        name: {"type": (value or {}).get("jobOutputType") or "uri_folder", "uri": None}
        for name, value in (body["properties"].get("outputs") or {}).items()
    }
    command = body["properties"]["trial"]["command"]
    declared = {**inputs, **dict.fromkeys(space)}
    check_bindings(command, declared, outputs, "The trial command")
    body["properties"]["trial"].update({"codeId": code_id, "environmentId": environment})
    body["properties"]["inputs"] = rest_inputs
    limits = job.limits
    check_timeout(limits.timeout)
    check_timeout(limits.trial_timeout)
    return {
        **record,
        "type": "sweep",
        "output_prefix": orchestrator.output_prefix(),
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
