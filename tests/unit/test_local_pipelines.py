"""Pipeline jobs and components on the local backend: steps in dependency order, step reuse,
failing steps, registered components."""

# No `from __future__ import annotations`: dsl.pipeline reads the parameter annotations as types.

import uuid
from pathlib import Path

import pytest
from azure.ai.ml import command, dsl, load_component, load_job
from azure.ai.ml.entities import CommandComponent
from azure.ai.ml.exceptions import JobException, ValidationException
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

from accelerator.local import LocalMLClient

pytestmark = pytest.mark.usefixtures("no_stray_processes")

ENVIRONMENT = "azureml:taxi-train:1"  # registered by the jobs_client fixture
COMPUTE = "cpu-cluster"

# Each step reads the trail its upstream step left, appends its label and passes it on.
STEP = """\
import argparse, pathlib, sys
parser = argparse.ArgumentParser()
parser.add_argument("--label")
parser.add_argument("--upstream")
parser.add_argument("--fail", default="none")
parser.add_argument("--out")
args = parser.parse_args()
trail = (pathlib.Path(args.upstream) / "trail.txt").read_text() if args.upstream else ""
if args.fail == args.label:
    sys.exit(f"step {args.label} failed on purpose")
(pathlib.Path(args.out) / "trail.txt").write_text(trail + args.label + "\\n")
print("trail:", (trail + args.label).replace("\\n", " > "))
"""

FIRST = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
name: first_step
version: "1"
display_name: First step
type: command
code: ../src
environment: {environment}
inputs:
  word:
    type: string
outputs:
  out:
    type: uri_folder
command: python step.py --label ${{{{inputs.word}}}} --out ${{{{outputs.out}}}}
"""

APPEND = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
name: append_step
version: "1"
type: command
is_deterministic: {deterministic}
code: ../src
environment: {environment}
inputs:
  upstream:
    type: uri_folder
  label:
    type: string
  fail:
    type: string
    default: none
outputs:
  out:
    type: uri_folder
command: >-
  python step.py --label ${{{{inputs.label}}}} --upstream ${{{{inputs.upstream}}}}
  --fail ${{{{inputs.fail}}}} --out ${{{{outputs.out}}}}
"""


@pytest.fixture
def components(tmp_path: Path) -> Path:
    """The step script in src/ and its component YAML files in components/."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "step.py").write_text(STEP)
    folder = tmp_path / "components"
    folder.mkdir()
    (folder / "first.yml").write_text(FIRST.format(environment=ENVIRONMENT))
    (folder / "append.yml").write_text(APPEND.format(environment=ENVIRONMENT, deterministic="true"))
    (folder / "random.yml").write_text(
        APPEND.format(environment=ENVIRONMENT, deterministic="false").replace("append_step", "random_step")
    )
    return folder


def _chain(components: Path, fail: str = "none"):
    first = load_component(components / "first.yml")
    append = load_component(components / "append.yml")

    @dsl.pipeline(compute=COMPUTE, experiment_name="chains", display_name="three steps")
    def chain(word: str, last_label: str):
        prepare = first(word=word)
        prepare.display_name = "prepare the data"
        train = append(upstream=prepare.outputs.out, label="train", fail=fail)
        score = append(upstream=train.outputs.out, label=last_label)
        return {"final": score.outputs.out}

    return chain


def _children(client: LocalMLClient, pipeline: str) -> dict[str, object]:
    """The pipeline's child jobs by step name."""
    return {
        child.name.removeprefix(f"{pipeline}_"): child for child in client.jobs.list(parent_job_name=pipeline)
    }


def _reused(child: object) -> bool:
    return child.properties.get("azureml.isreused") == "true"


def _final_trail(client: LocalMLClient, pipeline: str, target: Path) -> str:
    client.jobs.download(pipeline, output_name="final", download_path=target)
    return (target / "named-outputs" / "final" / "trail.txt").read_text()


def _run(client: LocalMLClient, job: object) -> str:
    submitted = client.jobs.create_or_update(job)
    client.jobs.stream(submitted.name)
    return submitted.name


def test_a_pipeline_runs_its_steps_in_order(
    jobs_client: LocalMLClient, components: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = _run(jobs_client, _chain(components)(word="hello", last_label="score"))
    assert "Status: Completed" in capsys.readouterr().out

    pipeline = jobs_client.jobs.get(name)
    assert pipeline.status == "Completed"
    assert (pipeline.experiment_name, pipeline.display_name) == ("chains", "three steps")
    assert _final_trail(jobs_client, name, tmp_path / "out") == "hello\ntrain\nscore\n"

    children = _children(jobs_client, name)
    assert list(children) == ["prepare", "train", "score"]
    assert [c.display_name for c in children.values()] == ["prepare the data", "train", "score"]
    assert all(c.status == "Completed" and c.experiment_name == "chains" for c in children.values())
    assert not any(_reused(c) for c in children.values())
    # Steps are not top-level jobs.
    assert [j.name for j in jobs_client.jobs.list()] == [name]
    # Each step's own output is there too.
    jobs_client.jobs.download(children["train"].name, output_name="out", download_path=tmp_path / "train")
    assert (tmp_path / "train" / "named-outputs" / "out" / "trail.txt").read_text() == "hello\ntrain\n"


def test_unchanged_steps_are_reused(jobs_client: LocalMLClient, components: Path, tmp_path: Path) -> None:
    chain = _chain(components)
    first = _run(jobs_client, chain(word="hello", last_label="score"))
    original = _children(jobs_client, first)

    # The same pipeline again: every step reused, with the first run's outputs.
    again = _run(jobs_client, chain(word="hello", last_label="score"))
    assert jobs_client.jobs.get(again).status == "Completed"
    children = _children(jobs_client, again)
    assert list(children) == ["prepare", "train", "score"]
    assert all(_reused(c) and c.status == "Completed" for c in children.values())
    assert [c.properties["azureml.reusedrunid"] for c in children.values()] == [
        c.name for c in original.values()
    ]
    assert _final_trail(jobs_client, again, tmp_path / "again") == "hello\ntrain\nscore\n"

    # force_rerun: nothing reused.
    forced_job = chain(word="hello", last_label="score")
    forced_job.settings.force_rerun = True
    forced = _run(jobs_client, forced_job)
    assert not any(_reused(c) for c in _children(jobs_client, forced).values())
    assert _final_trail(jobs_client, forced, tmp_path / "forced") == "hello\ntrain\nscore\n"

    # A changed pipeline input reruns the steps it reaches, and only those.
    changed = _run(jobs_client, chain(word="hello", last_label="evaluate"))
    children = _children(jobs_client, changed)
    assert {step: _reused(c) for step, c in children.items()} == {
        "prepare": True,
        "train": True,
        "score": False,
    }
    assert _final_trail(jobs_client, changed, tmp_path / "changed") == "hello\ntrain\nevaluate\n"


def test_a_non_deterministic_component_is_never_reused(
    jobs_client: LocalMLClient, components: Path, tmp_path: Path
) -> None:
    first = load_component(components / "first.yml")
    noisy = load_component(components / "random.yml")

    @dsl.pipeline(compute=COMPUTE)
    def pipeline():
        prepare = first(word="seed")
        sample = noisy(upstream=prepare.outputs.out, label="sample")
        return {"final": sample.outputs.out}

    _run(jobs_client, pipeline())
    second = _run(jobs_client, pipeline())
    children = _children(jobs_client, second)
    assert _reused(children["prepare"])
    assert not _reused(children["sample"])
    assert children["sample"].status == "Completed"
    assert _final_trail(jobs_client, second, tmp_path / "out") == "seed\nsample\n"


def test_a_failing_step_stops_the_pipeline(
    jobs_client: LocalMLClient, components: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    submitted = jobs_client.jobs.create_or_update(
        _chain(components, fail="train")(word="hi", last_label="score")
    )
    with pytest.raises(JobException) as raised:
        jobs_client.jobs.stream(submitted.name)
    assert "step 'train'" in str(raised.value)
    assert "step train failed on purpose" in str(raised.value)
    assert jobs_client.jobs.get(submitted.name).status == "Failed"
    children = _children(jobs_client, submitted.name)
    assert children["prepare"].status == "Completed"
    assert children["train"].status == "Failed"
    assert "score" not in children or children["score"].status != "Completed"
    with pytest.raises(ValidationException):  # a failed pipeline has no output to download
        jobs_client.jobs.download(submitted.name, output_name="final", download_path="out")


def test_cancel_stops_the_pipeline(jobs_client: LocalMLClient, tracking, processes, tmp_path: Path) -> None:
    marker = f"pipeline-{uuid.uuid4().hex}"
    (tmp_path / "sleeper").mkdir()
    (tmp_path / "sleeper" / "sleeper.py").write_text("import time\ntime.sleep(60)\n")
    sleep = command(
        code=str(tmp_path / "sleeper"), command=f"python sleeper.py {marker}", environment=ENVIRONMENT
    )

    @dsl.pipeline(compute=COMPUTE)  # two nodes: two of the three steps run side by side
    def pipeline():
        sleep()
        sleep()
        sleep()  # waits for a node: without the cancellation it would start next

    submitted = jobs_client.jobs.create_or_update(pipeline())
    scripts = processes.wait_for(marker, count=4)  # each step's shell and python
    jobs_client.jobs.begin_cancel(submitted.name).result()

    assert jobs_client.jobs.get(submitted.name).status == "Canceled"
    assert processes.ended(scripts)
    children = list(jobs_client.jobs.list(parent_job_name=submitted.name))
    assert [c.status for c in children] == ["Canceled", "Canceled"]  # the third never started
    assert tracking.get_run(submitted.name).info.status == "KILLED"
    assert {tracking.get_run(c.name).info.status for c in children} == {"KILLED"}


# Each step notes when it ran: steps that do not depend on each other overlap on a cluster with
# the nodes for them, as on Azure ML, and take turns on a one-node cluster.
TIMED = "import sys, time\nstart = time.time()\ntime.sleep(1.5)\nprint('ran', start, time.time())\n"


def _spans(client: LocalMLClient, pipeline: str) -> list[tuple[float, float]]:
    spans = []
    for child in client.jobs.list(parent_job_name=pipeline):
        line = next(
            x for x in client.jobs._records.log(child.name).read_text().splitlines() if x.startswith("ran")
        )
        spans.append(tuple(float(v) for v in line.split()[1:]))
    return sorted(spans)


@pytest.mark.parametrize("nodes", [1, 2])
def test_independent_steps_run_side_by_side_up_to_max_instances(
    jobs_client: LocalMLClient, tmp_path: Path, nodes: int
) -> None:
    from azure.ai.ml.entities import AmlCompute

    cluster = f"cluster-{nodes}"
    jobs_client.compute.begin_create_or_update(
        AmlCompute(name=cluster, size="Standard_DS3_v2", max_instances=nodes)
    ).result()
    (tmp_path / "timed").mkdir()
    (tmp_path / "timed" / "timed.py").write_text(TIMED)
    first, second = (
        command(code=str(tmp_path / "timed"), command=f"python timed.py {n}", environment=ENVIRONMENT)
        for n in ("first", "second")
    )

    @dsl.pipeline(compute=cluster)
    def pipeline():
        first()
        second()

    name = _run(jobs_client, pipeline())
    (_, first_end), (second_start, _) = _spans(jobs_client, name)
    if nodes == 2:
        assert second_start < first_end  # side by side
    else:
        assert second_start >= first_end  # one after the other


def test_a_failing_step_cancels_its_running_sibling(jobs_client: LocalMLClient, tmp_path: Path) -> None:
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "slow.py").write_text("import time\ntime.sleep(60)\n")
    (tmp_path / "steps" / "bad.py").write_text("import time, sys\ntime.sleep(1)\nsys.exit('bad input')\n")
    slow, bad = (
        command(
            code=str(tmp_path / "steps"), command=f"python {n}.py", environment=ENVIRONMENT, display_name=n
        )
        for n in ("slow", "bad")
    )

    @dsl.pipeline(compute=COMPUTE)
    def pipeline():
        slow()
        bad()

    submitted = jobs_client.jobs.create_or_update(pipeline())
    with pytest.raises(JobException, match="bad input"):
        jobs_client.jobs.stream(submitted.name)
    statuses = {c.display_name: c.status for c in jobs_client.jobs.list(parent_job_name=submitted.name)}
    assert statuses == {"slow": "Canceled", "bad": "Failed"}
    log = jobs_client.jobs._records.log(submitted.name).read_text()
    assert f"{submitted.name}_azureml_anonymous: Canceled (step azureml_anonymous_1 failed)" in log


PIPELINE_YAML = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
display_name: declared backwards
experiment_name: yaml-pipelines
settings:
  default_compute: azureml:{compute}
inputs:
  word: from-yaml
outputs:
  final:
    type: uri_folder
jobs:
  score:
    type: command
    component: ../components/append.yml
    inputs:
      upstream: ${{{{parent.jobs.train.outputs.out}}}}
      label: score
    outputs:
      out: ${{{{parent.outputs.final}}}}
  train:
    type: command
    component: ../components/append.yml
    inputs:
      upstream: ${{{{parent.jobs.prepare.outputs.out}}}}
      label: train
  prepare:
    type: command
    component: ../components/first.yml
    inputs:
      word: ${{{{parent.inputs.word}}}}
"""


def test_a_pipeline_from_yaml_runs_in_dependency_order(
    jobs_client: LocalMLClient, components: Path, tmp_path: Path
) -> None:
    spec = tmp_path / "pipelines" / "backwards.yml"
    spec.parent.mkdir()
    spec.write_text(PIPELINE_YAML.format(compute=COMPUTE))
    name = _run(jobs_client, load_job(spec))
    pipeline = jobs_client.jobs.get(name)
    assert (pipeline.status, pipeline.display_name) == ("Completed", "declared backwards")
    assert _final_trail(jobs_client, name, tmp_path / "out") == "from-yaml\ntrain\nscore\n"
    assert list(_children(jobs_client, name)) == ["prepare", "train", "score"]


# Registered components --------------------------------------------------------------------------


def test_registered_components(jobs_client: LocalMLClient, components: Path, tmp_path: Path) -> None:
    registered = jobs_client.components.create_or_update(load_component(components / "first.yml"))
    assert isinstance(registered, CommandComponent)
    assert (registered.name, registered.version) == ("first_step", "1")
    assert registered.id.endswith("/components/first_step/versions/1")
    assert jobs_client.components.get("first_step", "1").display_name == "First step"
    assert jobs_client.components.get("first_step", label="latest").version == "1"
    with pytest.raises(ResourceNotFoundError):
        jobs_client.components.get("first_step", "2")

    # The same content again: the same version. Other content under the same version: refused.
    again = jobs_client.components.create_or_update(load_component(components / "first.yml"))
    assert again.version == "1"
    changed = components / "first-changed.yml"
    changed.write_text((components / "first.yml").read_text().replace("--label", "--out-of-date --label"))
    with pytest.raises(ResourceExistsError, match="first_step:1"):
        jobs_client.components.create_or_update(load_component(changed))
    # Editing the code after registration does not change the registered version.
    (tmp_path / "src" / "step.py").write_text("raise SystemExit('edited after registration')\n")
    with pytest.raises(ResourceExistsError):
        jobs_client.components.create_or_update(load_component(components / "first.yml"))
    (tmp_path / "src" / "step.py").write_text(STEP)
    append = jobs_client.components.create_or_update(load_component(components / "append.yml"))
    (tmp_path / "src" / "step.py").write_text("raise SystemExit('edited after registration')\n")

    first = jobs_client.components.get("first_step", "1")
    append = jobs_client.components.get(append.name, label="latest")

    @dsl.pipeline(compute=COMPUTE)
    def pipeline(word: str):
        prepare = first(word=word)
        train = append(upstream=prepare.outputs.out, label="registered")
        return {"final": train.outputs.out}

    name = _run(jobs_client, pipeline(word="components"))
    assert jobs_client.jobs.get(name).status == "Completed"
    assert _final_trail(jobs_client, name, tmp_path / "out") == "components\nregistered\n"


def test_pipeline_submission_errors(jobs_client: LocalMLClient, components: Path) -> None:
    chain = _chain(components)
    job = chain(word="hello", last_label="score")
    job.settings.default_compute = None
    job.compute = "no-such-cluster"
    with pytest.raises(ResourceNotFoundError, match="no-such-cluster"):
        jobs_client.jobs.create_or_update(job)

    text = (components / "first.yml").read_text().replace(ENVIRONMENT, "azureml:no-such-env:1")
    (components / "orphan.yml").write_text(text)
    orphan = load_component(components / "orphan.yml")

    @dsl.pipeline(compute=COMPUTE)
    def broken():
        orphan(word="x")

    with pytest.raises(ResourceNotFoundError, match="no-such-env"):
        jobs_client.jobs.create_or_update(broken())
    assert list(jobs_client.jobs.list()) == []
