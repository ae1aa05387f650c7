"""A pipeline job compiled into the record the runner reads (``_execution._spec.PipelineJobRecord``).

Each step's component is resolved, its inputs bound (to a literal, a path, a pipeline input or an
upstream step's output) and its outputs placed; the steps are put in dependency order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azure.ai.ml.entities import Command, PipelineJob
from azure.ai.ml.entities._job.to_rest_functions import to_rest_job_object
from azure.ai.ml.exceptions import ErrorTarget

from accelerator.local._compile._common import (
    ComponentSpec,
    DeclaredInput,
    base_record,
    check_bindings,
    checked_timeout,
    compile_inputs,
)
from accelerator.local._exceptions import LocalBackendUnsupportedError, validation_error
from accelerator.local._execution._spec import InputSpec, PipelineJobRecord, PipelineNode, PipelineOutputSpec

if TYPE_CHECKING:
    from accelerator.local.operations._operation_orchestrator import LocalOrchestrator

ResolveComponent = Callable[[Any], ComponentSpec]


def compile_pipeline(
    orchestrator: LocalOrchestrator, resolve_component: ResolveComponent, job: PipelineJob
) -> PipelineJobRecord:
    settings = job.settings
    compute = job.compute or (settings.default_compute if settings else None)
    nodes: dict[str, PipelineNode] = {}
    declared_inputs: dict[str, dict[str, DeclaredInput]] = {}
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
            component = resolve_component(node.component)
            originals[step] = node._component
            node._component = component["id"]
            step_compute = orchestrator.compute(node.compute or compute)
            nodes[step] = {  # inputs, after and outputs are bound below, from the REST form
                "display_name": node.display_name or step,
                "component_id": component["id"],
                "component_fingerprint": component["fingerprint"],
                "command": component["command"],
                "code": component["code"],
                "environment": component["environment"],
                "is_deterministic": component["is_deterministic"],
                "environment_variables": dict(node.environment_variables or {}),
                "timeout": checked_timeout(node),
                "compute": step_compute,
            }
            declared_inputs[step] = component["inputs"]
        rest = to_rest_job_object(job)
    finally:
        for step, original in originals.items():
            job.jobs[step]._component = original
    body = rest.as_dict()
    record = base_record(orchestrator, job, rest)
    record["compute"] = orchestrator.compute(compute)
    base_path = getattr(job, "_base_path", None) or Path.cwd()
    pipeline_inputs, rest_inputs = compile_inputs(
        orchestrator, body["properties"].get("inputs") or {}, base_path
    )
    body["properties"]["inputs"] = rest_inputs
    # "path" is where a step bound to the output writes, until a step takes it (popped below).
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
        node["inputs"], node["after"] = _bind_node_inputs(
            step,
            rest_node.get("inputs") or {},
            declared_inputs[step],
            pipeline_inputs,
            nodes,
            orchestrator,
            base_path,
        )
        node["outputs"] = {}
        component_outputs = resolve_component(node["component_id"])["outputs"]
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
                placed, _ = orchestrator.output(bound, "", output, default_datastore)
                node["outputs"][output]["uri"] = placed["uri"]
        check_bindings(node["command"], node["inputs"], node["outputs"], f"Step '{step}'")
    for name, spec in pipeline_outputs.items():
        spec.pop("path", None)
        if spec["from"] is None:
            raise validation_error(
                f"Pipeline output '{name}' is not bound to any step's output.", ErrorTarget.PIPELINE
            )
    outputs: dict[str, PipelineOutputSpec] = pipeline_outputs
    return {
        **record,
        "type": "pipeline",
        "output_prefix": orchestrator.output_prefix(),
        "inputs": pipeline_inputs,
        "outputs": outputs,
        "nodes": nodes,
        "order": _order(nodes),
        "instances": {
            str(node.get("compute")): orchestrator.instances(node.get("compute")) for node in nodes.values()
        },
        "settings": {
            "force_rerun": bool(settings and settings.force_rerun),
            "continue_on_step_failure": bool(settings and settings.continue_on_step_failure),
        },
        "rest": body,
    }


def _bind_node_inputs(
    step: str,
    rest_inputs: dict[str, Any],
    declared: dict[str, DeclaredInput],
    pipeline_inputs: dict[str, InputSpec | None],
    nodes: dict[str, PipelineNode],
    orchestrator: LocalOrchestrator,
    base_path: Any,
) -> tuple[dict[str, InputSpec | None], list[str]]:
    """A step's inputs as runner specs, and the steps it depends on."""
    bound: dict[str, InputSpec | None] = {}
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


def _order(nodes: dict[str, PipelineNode]) -> list[str]:
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
