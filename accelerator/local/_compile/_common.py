"""What every job type's compilation shares: the record's common fields, inputs, outputs, checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict, cast

from azure.ai.ml.entities import Job
from azure.ai.ml.exceptions import ErrorTarget

from accelerator.local._exceptions import user_error, validation_error
from accelerator.local._execution._binding import placeholders
from accelerator.local._execution._spec import InputSpec, OutputSpec

if TYPE_CHECKING:
    from accelerator.local.operations._operation_orchestrator import LocalOrchestrator


class DeclaredInput(TypedDict):
    type: str | None
    default: Any
    optional: bool


class ComponentSpec(TypedDict):
    """What a pipeline step needs of its component (``ComponentResolver.resolve``)."""

    id: str
    fingerprint: str
    command: str
    code: str | None
    environment: str | None
    is_deterministic: bool
    inputs: dict[str, DeclaredInput]
    outputs: dict[str, str]  # output -> its type


def base_record(orchestrator: LocalOrchestrator, job: Job, rest: Any) -> dict[str, Any]:
    """The fields of ``JobRecord`` every job has from the start, from the job's REST form (which
    carries the SDK's defaults); each job type's compiler adds ``type``, ``rest`` and its own."""
    properties = rest.properties
    return {
        "name": rest.name,
        "status": "Queued",
        "parent": None,
        "display_name": properties.display_name or rest.name,
        "experiment_name": properties.experiment_name,
        "description": job.description,
        "tags": dict(job.tags or {}),
        "compute": orchestrator.compute(getattr(job, "compute", None)),
        "rest_class": f"{type(rest).__module__}:{type(rest).__qualname__}",
    }


def compile_inputs(
    orchestrator: LocalOrchestrator, rest_inputs: dict[str, Any], base_path: Any
) -> tuple[dict[str, InputSpec | None], dict[str, Any]]:
    """(the runner's spec, the resolved REST input) of each input."""
    specs: dict[str, InputSpec | None] = {}
    resolved: dict[str, Any] = {}
    for name, value in rest_inputs.items():
        spec, resolved[name] = orchestrator.input(value, base_path, name)
        specs[name] = cast("InputSpec | None", spec)
    return specs, resolved


def compile_outputs(
    orchestrator: LocalOrchestrator, rest_outputs: dict[str, Any], job: str
) -> tuple[dict[str, OutputSpec], dict[str, Any]]:
    """(the runner's spec, the resolved REST output) of each output."""
    specs: dict[str, OutputSpec] = {}
    resolved: dict[str, Any] = {}
    for name, value in rest_outputs.items():
        spec, resolved[name] = orchestrator.output(value or {}, job, name)
        specs[name] = cast(OutputSpec, spec)
    return specs, resolved


def check_timeout(timeout: Any) -> None:
    """Azure ML's job limits: a timeout is a whole number of seconds, above 0."""
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise user_error(
            f"The job's timeout must be a positive whole number of seconds, not {timeout!r}.",
            ErrorTarget.JOB,
        )


def checked_timeout(node: Any) -> Any:
    timeout = node.limits.timeout if getattr(node, "limits", None) is not None else None
    check_timeout(timeout)
    return timeout


def check_bindings(command: str, inputs: dict[str, Any], outputs: dict[str, Any], what: str) -> None:
    """Every ``${{inputs.x}}`` and ``${{outputs.y}}`` the command names is declared."""
    for kind, name in sorted(placeholders(command)):
        declared = outputs if kind == "outputs" else inputs
        if name not in declared:
            raise validation_error(
                f"{what} refers to ${{{{{kind}.{name}}}}}, but there is no {kind[:-1]} named '{name}'. "
                f"Declared {kind}: {', '.join(sorted(declared)) or 'none'}.",
                ErrorTarget.JOB,
            )
