"""Jobs compiled for the local runner: an SDK job entity becomes the record ``job.yaml`` holds.

``JobCompiler.compile`` validates what the local backend cannot run, resolves everything the job
refers to (code, environment, compute, inputs, outputs, a pipeline's components) with the
collaborators it is given, and returns the record (``_execution._spec``) the runner executes. One
module per job type: ``_command``, ``_pipeline``, ``_sweep``; ``_common`` has what they share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from azure.ai.ml.entities import Command, CommandJob, PipelineJob
from azure.ai.ml.entities._job.sweep.sweep_job import SweepJob

from accelerator.local._compile._command import compile_command
from accelerator.local._compile._common import ComponentSpec
from accelerator.local._compile._pipeline import ResolveComponent, compile_pipeline
from accelerator.local._compile._sweep import compile_sweep
from accelerator.local._execution._spec import JobRecord

if TYPE_CHECKING:
    from accelerator.local.operations._operation_orchestrator import LocalOrchestrator


class JobCompiler:
    """Compiles command, pipeline and sweep jobs.

    ``orchestrator`` resolves a job's code, environment, compute, inputs and outputs;
    ``resolve_component`` gives what a pipeline step needs of its component.
    """

    def __init__(self, orchestrator: LocalOrchestrator, resolve_component: ResolveComponent) -> None:
        self._orchestrator = orchestrator
        self._resolve_component = resolve_component

    def compile(self, job: Command | CommandJob | PipelineJob | SweepJob) -> JobRecord:
        """The job's record, status Queued; the SDK's or the local backend's error if it cannot run."""
        if isinstance(job, PipelineJob):
            return compile_pipeline(self._orchestrator, self._resolve_component, job)
        if isinstance(job, SweepJob):
            return compile_sweep(self._orchestrator, job)
        return compile_command(self._orchestrator, job)


__all__ = ["ComponentSpec", "JobCompiler", "ResolveComponent"]
