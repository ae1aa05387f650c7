"""The records that cross from the client to the runner, and what the runner's modules hand each other.

A job is compiled (``accelerator.local._compile``) into a record the runner reads from
``jobs/<name>/job.yaml``. The records written to disk are TypedDicts: plain dicts and lists, as
YAML holds them (a pair such as ``[step, output]`` is a two-item list, not a tuple). What stays in
one process (a launched command, an output being published) is a NamedTuple or a dataclass.

Nothing here imports the Azure ML SDK: the runner imports this module and must not pay for it.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Literal, NamedTuple, TypedDict

if TYPE_CHECKING:  # annotations only: Python 3.10 has no typing.NotRequired
    from typing_extensions import NotRequired

JobType = Literal["command", "pipeline", "sweep"]

# The search space distributions the sweep runner samples (_sweep._draw); the compiler refuses others.
SUPPORTED_DISTRIBUTIONS = (
    "choice",
    "uniform",
    "loguniform",
    "quniform",
    "qloguniform",
    "randint",
    "normal",
    "lognormal",
    "qnormal",
    "qlognormal",
)

# -- inputs and outputs -----------------------------------------------------------------------------


class InputSpec(TypedDict, total=False):
    """One input as the runner binds it (``_paths.materialise_input``): one of these forms.

    - ``value``: a literal (``None``: an optional input left unset);
    - ``uri``: a long-form ``azureml://.../datastores/<name>/paths/<path>`` (``type`` its input type);
    - ``local``: a path on this machine read in place (a model's files, a run's artifacts);
    - ``job_output``: ``[job, output]``, another job's output (a started step's upstream step);
    - ``node_output``: ``[step, output]``, a pipeline node's upstream step, before it has a job.

    Produced by ``LocalOrchestrator.input`` and the pipeline compiler (``node_output``); the
    pipeline runner turns ``node_output`` into ``job_output`` or ``value`` (``_pipeline._bound``).
    """

    value: Any
    uri: str
    type: str
    local: str
    job_output: list[str]
    node_output: list[str]


class OutputSpec(TypedDict):
    """One output of a command job (a step, a trial): its type and where it is written.

    ``uri`` is ``None`` for a primitive output (``PRIMITIVE_TYPES``), or a pipeline node's or a
    sweep trial's output left at its default location (``_paths.child_outputs`` sets it). The
    runner adds ``value`` when a primitive output has been written.
    """

    type: str
    uri: str | None
    value: NotRequired[str]


# A pipeline's output: filled from ``from``, ``[step, output]``, when the pipeline completes.
PipelineOutputSpec = TypedDict(
    "PipelineOutputSpec", {"type": str, "uri": str | None, "from": list[str] | None}
)


class Published(NamedTuple):
    """An output of a launched command: the local path it writes to and where that is published."""

    local: str
    spec: OutputSpec


# -- job records ------------------------------------------------------------------------------------


class ProcessInfo(TypedDict):
    """A process recorded so that it is signalled only while it is the one that was started."""

    pid: int
    started: float | None  # psutil's create_time()


class JobRecord(TypedDict):
    """What every job record (``job.yaml``) holds.

    Written by the compiler (a submitted job), ``_records.child_record`` (a step or a trial) and the
    model monitor's run; ``JobOperations`` reads it back into an SDK entity from ``rest`` (the job's
    REST body) with ``rest_class`` (``module:qualname`` of the SDK's REST class).
    """

    name: str
    type: JobType
    status: str
    parent: str | None
    display_name: str
    experiment_name: str
    description: NotRequired[str | None]
    tags: dict[str, Any]
    compute: str | None
    rest_class: NotRequired[str]
    rest: dict[str, Any]
    properties: NotRequired[dict[str, str]]
    # Set at submission (the client) and while the job runs (the runner, the client's checks).
    created: NotRequired[str]
    created_by: NotRequired[str]
    mlflow_run_id: NotRequired[str]
    mlflow_experiment_id: NotRequired[str]
    runner: NotRequired[ProcessInfo]  # the runner process of a submitted job
    process: NotRequired[ProcessInfo]  # a command's own process (its guard)
    started: NotRequired[str]
    ended: NotRequired[str]
    error: NotRequired[str | None]
    archived: NotRequired[bool]


class CommandJobRecord(JobRecord):
    """A command job: submitted (``_compile._command``), a pipeline step or a sweep trial."""

    command: str
    code: str | None  # the code snapshot folder, copied to the job's working folder
    environment: str | None  # the environment's ARM id
    environment_variables: dict[str, str]
    inputs: dict[str, InputSpec | None]
    outputs: dict[str, OutputSpec]
    timeout: float | None
    # A step or a trial (child_record and its runner):
    step: NotRequired[str]
    threads: NotRequired[int]  # OMP_NUM_THREADS of a trial sharing the cores
    hyperparameters: NotRequired[dict[str, Any]]
    index: NotRequired[int]  # a trial's index in the sweep
    reused_from: NotRequired[str]  # a reused step: the job whose outputs it has
    early_terminated: NotRequired[bool]


class PipelineNode(TypedDict):
    """One step of a pipeline record: its component resolved, its inputs bound."""

    display_name: str
    component_id: str
    component_fingerprint: str
    command: str
    code: str | None
    environment: str | None
    is_deterministic: bool
    environment_variables: dict[str, str]
    timeout: float | None
    compute: NotRequired[str | None]  # the cluster it runs on (the pipeline's unless its own)
    inputs: dict[str, InputSpec | None]
    after: list[str]  # the steps it takes inputs from
    outputs: dict[str, OutputSpec]


class PipelineSettings(TypedDict):
    force_rerun: bool
    continue_on_step_failure: bool


class PipelineJobRecord(JobRecord):
    """A pipeline job (``_compile._pipeline``), run by ``_execution._pipeline``."""

    output_prefix: str  # azureml:// URI of azureml/ in the default datastore (_paths.default_output_uri)
    inputs: dict[str, InputSpec | None]
    outputs: dict[str, PipelineOutputSpec]
    nodes: dict[str, PipelineNode]
    order: list[str]  # the steps in dependency order
    instances: NotRequired[dict[str, int]]  # compute -> its max_instances: steps side by side on it
    settings: PipelineSettings
    children: NotRequired[dict[str, str]]  # step -> its job, as the runner starts them


class SweepTrial(TypedDict):
    command: str  # ${{search_space.x}} already rewritten to ${{inputs.x}}
    code: str | None
    environment: str | None
    environment_variables: dict[str, str]
    inputs: dict[str, InputSpec | None]
    outputs: dict[str, OutputSpec]


class Sampling(TypedDict):
    type: Literal["random", "grid"]
    seed: int | None


class Objective(TypedDict):
    goal: Literal["minimize", "maximize"]
    primary_metric: str


class SweepLimits(TypedDict):
    max_total_trials: int | None
    max_concurrent_trials: int | None
    timeout: float | None
    trial_timeout: float | None


class BanditPolicySpec(TypedDict):
    slack_factor: float | None
    slack_amount: float | None
    evaluation_interval: int | None
    delay_evaluation: int | None


class SweepJobRecord(JobRecord):
    """A sweep job (``_compile._sweep``), run by ``_execution._sweep``."""

    output_prefix: str
    trial: SweepTrial
    outputs: dict[str, OutputSpec]
    # The REST search space: parameter -> [distribution, [arguments]].
    search_space: dict[str, list[Any]]
    sampling: Sampling
    objective: Objective
    limits: SweepLimits
    early_termination: BanditPolicySpec | None
    children: NotRequired[list[str]]  # the trials, as the runner starts them
    best_child_run_id: NotRequired[str]


# -- in the runner process --------------------------------------------------------------------------


@dataclass
class Launched:
    """A command ``Runner.launch`` started, for ``Runner.complete`` (or the sweep's loop) to finish."""

    process: subprocess.Popen[bytes]
    log: IO[bytes]  # the job's log, open for the process's output; closed when it ends
    published: dict[str, Published]
    started: float  # time.monotonic() at launch
    timeout: float | None

    def overdue(self) -> bool:
        """Whether the command has run past its timeout."""
        if not self.timeout:
            return False
        return time.monotonic() - self.started > self.timeout
