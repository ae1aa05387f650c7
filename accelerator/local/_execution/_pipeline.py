"""Run a pipeline job: its steps in dependency order, each as a child command job; steps that do not
depend on each other run side by side, up to their cluster's ``max_instances``.

A step whose component, environment and inputs are unchanged since a completed run is reused (its
outputs are those of the earlier run), as Azure ML does, unless the pipeline sets ``force_rerun``
or the component is not deterministic. A failed step stops the steps that depend on it; with
``continue_on_step_failure`` the others still run.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING, Any, cast

from accelerator.local._execution._paths import PRIMITIVE_TYPES, child_outputs
from accelerator.local._execution._process import stop_tree as stop_child_process
from accelerator.local._execution._records import child_record
from accelerator.local._execution._spec import InputSpec, Launched, PipelineJobRecord, PipelineNode
from accelerator.local._store import read_record, write_record

if TYPE_CHECKING:
    from accelerator.local._execution._runner import Runner

_POLL_SECONDS = 0.05


def run(runner: Runner, name: str) -> str:
    records = runner.records
    record = cast(PipelineJobRecord, runner.start(name))
    settings = record.get("settings") or {}
    instances = record.get("instances") or {}
    nodes = record["nodes"]
    children: dict[str, str] = {}
    failed: list[str] = []
    skipped: list[str] = []
    completed: set[str] = set()
    running: dict[str, Launched] = {}
    stopped: set[str] = set()  # running when a sibling failed: cancelled, not failed themselves
    waiting = list(record["order"])
    # Steps whose inputs are all there start at once, side by side up to their cluster's
    # max_instances (Azure ML gives each step a node); the rest wait for the steps they take from.
    while waiting or running:
        stopping = runner.cancelled() or (failed and not settings.get("continue_on_step_failure"))
        for step in list(waiting) if not stopping else []:
            node = nodes[step]
            upstream = [dep for dep in node["after"] if dep in failed or dep in skipped]
            if upstream:
                waiting.remove(step)
                skipped.append(step)
                records.append_log(name, f"[{step}] not started: step {upstream[0]} did not complete.")
                continue
            if any(dep not in completed for dep in node["after"]):
                continue
            compute = str(node.get("compute"))
            busy = sum(1 for other in running if str(nodes[other].get("compute")) == compute)
            if busy >= max(1, int(instances.get(compute) or 1)):
                continue
            waiting.remove(step)
            launched = _start(runner, record, step, children)
            if launched is None:  # reused, or ended before its command started
                status = records.get(children[step])["status"]
                _ended(runner, record, step, children, status, completed, failed)
            else:
                running[step] = launched
        if stopping:
            for step, launched in running.items():
                if step not in stopped and not runner.cancelled():  # (a cancel reached them already)
                    stopped.add(step)
                    records.update(children[step], status="CancelRequested")
                    stop_child_process(launched.process)
            waiting.clear()
        for step, launched in list(running.items()):
            process = launched.process
            if process.poll() is None:
                if launched.overdue():
                    process.terminate()  # the guard stops the step's whole group
                continue
            launched.log.close()
            del running[step]
            status = runner.settle(
                children[step], process.returncode, launched.published, launched.overdue(), launched.timeout
            )
            if step in stopped:
                records.append_log(name, f"[{step}] {children[step]}: {status} (step {failed[0]} failed)")
            else:
                _ended(runner, record, step, children, status, completed, failed)
        if running:
            time.sleep(_POLL_SECONDS)

    if runner.cancelled():
        runner.finish(name, "Canceled")
        return "Canceled"
    if failed:
        runner.finish(
            name,
            "Failed",
            f"Pipeline failed: step '{failed[0]}' ({children[failed[0]]}) failed. "
            f"Its log is in job {children[failed[0]]}, user_logs/std_log.txt.",
        )
        return "Failed"
    outputs = dict(record.get("outputs") or {})
    rest = record["rest"]
    rest_outputs = rest["properties"].get("outputs") or {}
    for output_name, spec in outputs.items():
        step, output = spec["from"]
        spec["uri"] = records.get(children[step])["outputs"][output]["uri"]
        # The pipeline's own output answers where its step wrote (a path set on it, expanded).
        if isinstance(rest_outputs.get(output_name), dict):
            rest_outputs[output_name]["uri"] = spec["uri"]
    records.update(name, outputs=outputs, rest=rest)
    runner.finish(name, "Completed")
    return "Completed"


def _start(runner: Runner, record: PipelineJobRecord, step: str, children: dict[str, str]) -> Launched | None:
    """Create the step's job and start it; None when it is reused or ended before starting."""
    records = runner.records
    name = record["name"]
    node = record["nodes"][step]
    settings = record.get("settings") or {}
    child = f"{name}_{step}"  # unique, as the pipeline's name is
    inputs = {key: _bound(records, children, spec) for key, spec in node["inputs"].items()}
    outputs = child_outputs(record["output_prefix"], child, node["outputs"])
    key = _reuse_key(records, node, inputs)
    records.create(
        child_record(
            record,
            child,
            step=step,
            display_name=node.get("display_name") or step,
            command=node["command"],
            code=node["code"],
            environment=node["environment"],
            inputs=inputs,
            outputs=outputs,
            environment_variables=node.get("environment_variables"),
            timeout=node.get("timeout"),
            properties={"azureml.nodeid": step},
        )
    )
    children[step] = child
    records.update(name, children=dict(children))
    records.update(child, reuse_key=key)
    earlier = None if settings.get("force_rerun") or not node["is_deterministic"] else _reusable(runner, key)
    if earlier is not None:
        _reuse(runner, child, earlier, record)
        records.append_log(name, f"[{step}] {child}: Completed (reused the outputs of {earlier})")
        return None
    records.append_log(name, f"[{step}] {child}: Running")
    return runner.launch(child, parent_run=record["mlflow_run_id"])


def _ended(
    runner: Runner,
    record: PipelineJobRecord,
    step: str,
    children: dict[str, str],
    status: str,
    completed: set[str],
    failed: list[str],
) -> None:
    records = runner.records
    name, child = record["name"], children[step]
    child_record_ = records.get(child)
    if child_record_.get("reused_from"):
        completed.add(step)
        return
    records.append_log(name, f"[{step}] {child}: {status}")
    if status == "Completed":
        _remember(runner, child_record_["reuse_key"], child)
        completed.add(step)
        return
    failed.append(step)  # a step cancelled on its own fails the pipeline too
    records.append_log(name, f"[{step}] log tail:\n{records.tail(child, 20)}")


def _bound(records: Any, children: dict[str, str], spec: InputSpec | None) -> InputSpec | None:
    """A step's input as the runner takes it: an upstream step's output files, or its value when the
    output is primitive (a function component's ``-> str``), passed on as a literal."""
    if not spec or "node_output" not in spec:
        return spec
    step, output = spec["node_output"]
    producer = children[step]
    produced = (records.get(producer).get("outputs") or {}).get(output) or {}
    if produced.get("type") in PRIMITIVE_TYPES:
        return {"value": produced.get("value")}
    return {"job_output": [producer, output]}


def _origin(records: Any, job: str) -> str:
    """The job that really produced a (possibly reused) job's outputs."""
    return records.get(job).get("reused_from") or job


def _reuse_key(records: Any, node: PipelineNode, inputs: dict[str, InputSpec | None]) -> str:
    identity: dict[str, Any] = {}
    for key, spec in sorted(inputs.items()):
        if spec and "job_output" in spec:
            producer, output = spec["job_output"]
            identity[key] = ["job", _origin(records, producer), output]
        else:
            identity[key] = spec
    payload = {
        "component": node["component_fingerprint"],
        "environment": node["environment"],
        "inputs": identity,
        "outputs": {k: v["type"] for k, v in sorted(node["outputs"].items())},
        "environment_variables": node.get("environment_variables") or {},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _index(runner: Runner, key: str) -> Any:
    return runner.records.root / ".reuse" / f"{key}.yaml"


def _reusable(runner: Runner, key: str) -> str | None:
    path = _index(runner, key)
    if not path.is_file():
        return None
    earlier = read_record(path)["job"]
    if not runner.records.exists(earlier) or runner.records.get(earlier)["status"] != "Completed":
        return None
    return _origin(runner.records, earlier)


def _remember(runner: Runner, key: str, job: str) -> None:
    write_record(_index(runner, key), {"job": job})


def _reuse(runner: Runner, child: str, earlier: str, parent: PipelineJobRecord) -> None:
    from accelerator.local._execution._records import now

    original = runner.records.get(earlier)
    properties = {
        **(runner.records.get(child).get("properties") or {}),
        "azureml.isreused": "true",
        "azureml.reusedrunid": earlier,
    }
    record = runner.records.update(
        child,
        status="Completed",
        started=now(),
        ended=now(),
        reused_from=earlier,
        outputs=original["outputs"],
        properties=properties,
    )
    rest = record["rest"]
    rest["properties"]["properties"] = properties
    rest["properties"]["outputs"] = {
        k: {"jobOutputType": v["type"], "uri": v["uri"]} for k, v in original["outputs"].items()
    }
    runner.records.update(child, rest=rest, mlflow_run_id=original.get("mlflow_run_id"))
    runner.records.append_log(
        child, f"Reused the outputs of job {earlier}: its component and inputs are unchanged."
    )
