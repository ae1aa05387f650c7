"""Blue/green rollout of the taxi fare model on a managed online endpoint.

Weeks 10 and 11 run this same procedure (week 10 in dev, week 11 in prod from
the registry):

1. deploy the new model beside the live one, with no live traffic, and
   smoke-test it;
2. mirror a share of live requests to it, and send it the same requests
   directly, to compare its answers with the live deployment's on identical
   input (``gate``);
3. only then move live traffic in steps, checking real requests at each step;
4. retire the old deployment.

Every step is a plain SDK call (``online_deployments.begin_create_or_update``,
``online_endpoints.begin_create_or_update`` with ``traffic`` and
``mirror_traffic``, ``invoke``, ``begin_delete``), so it runs the same against
Azure ML and the local backend.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from azure.ai.ml.entities import (
    CodeConfiguration,
    DataCollector,
    DeploymentCollection,
    ManagedOnlineDeployment,
)

#: The scoring script's folder (``score.py``), beside this one in the workload.
SCORE_CODE = Path(__file__).resolve().parents[1] / "score"
#: Live traffic moves in these steps (old, new) once the new deployment passed
#: its checks.
STEPS = ((90, 10), (0, 100))


def request_body(rows: pd.DataFrame, columns: list[str]) -> bytes:
    """Trips as the JSON request the scoring script takes."""
    data = {"columns": columns, "data": rows[columns].values.tolist()}
    return json.dumps({"input_data": data}).encode()


@dataclass(frozen=True)
class Serving:
    """How a deployment of this workload is defined: its environment, size
    and data collection."""

    endpoint_name: str
    #: An environment id: azureml:<name>:<version> or a registry's id.
    environment: str
    instance_type: str
    #: Collect request and response payloads (for monitoring).
    collect: bool = False

    def deployment(self, name: str, model: Any) -> ManagedOnlineDeployment:
        """A deployment of ``model`` (an id or a registered Model) with the
        scoring script."""
        model = model_id(model)
        collector = None
        if self.collect:
            collector = DataCollector(
                collections={
                    "request": DeploymentCollection(enabled="true"),
                    "response": DeploymentCollection(enabled="true"),
                }
            )
        return ManagedOnlineDeployment(
            name=name,
            endpoint_name=self.endpoint_name,
            model=model,
            code_configuration=CodeConfiguration(
                code=str(SCORE_CODE), scoring_script="score.py"
            ),
            environment=self.environment,
            instance_type=self.instance_type,
            instance_count=1,
            data_collector=collector,
        )


@dataclass(frozen=True)
class Answer:
    status: int
    payload: Any
    served_by: str | None
    seconds: float


class Client:
    """Requests to an endpoint's scoring URI, with its key, as an
    application sends them."""

    def __init__(self, scoring_uri: str, key: str) -> None:
        self.scoring_uri = scoring_uri
        self._key = key

    @classmethod
    def of(cls, ml_client: Any, endpoint_name: str) -> Client:
        endpoint = ml_client.online_endpoints.get(endpoint_name)
        return cls(
            endpoint.scoring_uri,
            ml_client.online_endpoints.get_keys(endpoint_name).primary_key,
        )

    def post(
        self,
        body: bytes,
        *,
        with_key: bool = True,
        deployment: str | None = None,
    ) -> Answer:
        headers = {"Content-Type": "application/json"}
        if with_key:
            headers["Authorization"] = f"Bearer {self._key}"
        if deployment:
            headers["azureml-model-deployment"] = deployment
        request = urllib.request.Request(
            self.scoring_uri, body, headers, method="POST"
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                payload = json.loads(answer.read())
                served_by = answer.headers.get("azureml-model-deployment")
                status = answer.status
        except urllib.error.HTTPError as error:
            payload, served_by, status = (
                json.loads(error.read() or b"null"),
                None,
                error.code,
            )
        return Answer(status, payload, served_by, time.perf_counter() - started)


def smoke_test(
    ml_client: Any,
    endpoint_name: str,
    deployment: str,
    request_file: str | Path,
) -> list[float]:
    """A few trips through one deployment (``invoke`` with its name):
    finite, positive fares."""
    answer = ml_client.online_endpoints.invoke(
        endpoint_name,
        request_file=str(request_file),
        deployment_name=deployment,
    )
    predictions = json.loads(answer)["predictions"]
    if not (
        predictions
        and all(np.isfinite(predictions))
        and all(p > 0 for p in predictions)
    ):
        raise AssertionError(
            f"Deployment {deployment} failed its smoke test: {answer}"
        )
    return predictions


def set_traffic(
    ml_client: Any,
    endpoint_name: str,
    traffic: dict[str, int],
    mirror: dict[str, int] | None = None,
) -> None:
    """Live traffic and mirrored copies, in one endpoint update."""
    endpoint = ml_client.online_endpoints.get(endpoint_name)
    endpoint.traffic = traffic
    endpoint.mirror_traffic = mirror or {}
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()


def live_deployment(ml_client: Any, endpoint_name: str) -> str | None:
    """The deployment taking the most live traffic, if any does."""
    traffic = {
        k: v
        for k, v in (
            ml_client.online_endpoints.get(endpoint_name).traffic or {}
        ).items()
        if v
    }
    return (
        max(sorted(traffic), key=lambda name: traffic[name])
        if traffic
        else None
    )


def deploy(
    ml_client: Any,
    serving: Serving,
    name: str,
    model: Any,
    request_file: str | Path,
) -> None:
    """Create (or update) one deployment and smoke-test it; it gets no
    live traffic here."""
    ml_client.online_deployments.begin_create_or_update(
        serving.deployment(name, model)
    ).result()
    smoke_test(ml_client, serving.endpoint_name, name, request_file)


def scored(ml_client: Any, deployment: str, endpoint_name: str) -> int:
    """How many requests the deployment has answered, from its log."""
    return ml_client.online_deployments.get_logs(
        deployment, endpoint_name, 10_000
    ).count("POST /score 200")


def live_requests(
    client: Client, sample: pd.DataFrame, columns: list[str], expected: str
) -> pd.DataFrame:
    """One live request per trip; each must be answered by ``expected``.

    One row per trip: status, the deployment that served it, seconds, and
    the prediction under ``expected``'s name."""
    rows = []
    for index in range(len(sample)):
        answer = client.post(request_body(sample.iloc[[index]], columns))
        rows.append(
            {
                "status": answer.status,
                "served_by": answer.served_by,
                "seconds": answer.seconds,
                expected: answer.payload["predictions"][0]
                if answer.status == 200
                else np.nan,
            }
        )
    live = pd.DataFrame(rows)
    if not (
        (live["status"] == 200).all() and (live["served_by"] == expected).all()
    ):
        raise AssertionError(
            f"Live requests were not all answered by {expected}."
        )
    return live


def mirror_and_compare(
    ml_client: Any,
    client: Client,
    endpoint_name: str,
    old: str,
    new: str,
    sample: pd.DataFrame,
    columns: list[str],
    target: str,
    mirror_percent: int,
) -> pd.DataFrame:
    """Live requests (answered by ``old``) with ``mirror_percent``% mirrored
    to ``new``, then the same trips sent to ``new`` directly: one row per
    trip with both answers and the actual fare."""
    if not 0 <= mirror_percent <= 50:
        raise ValueError(
            f"mirror_percent must be 0-50 (Azure's limit): {mirror_percent}"
        )
    set_traffic(
        ml_client, endpoint_name, {old: 100, new: 0}, {new: mirror_percent}
    )
    before = scored(ml_client, new, endpoint_name)
    rollout = live_requests(client, sample, columns, old)
    time.sleep(1)  # mirrored copies are sent in the background
    print(f"{len(rollout)} live requests, all answered by {old}")
    print(
        f"{new} scored mirrored copies of them:",
        scored(ml_client, new, endpoint_name) > before,
    )
    shadow = client.post(request_body(sample, columns), deployment=new)
    rollout[new] = (
        shadow.payload["predictions"] if shadow.status == 200 else np.nan
    )
    rollout["fare"] = sample[target].to_numpy()
    return rollout


def gate(
    rollout: pd.DataFrame, old: str, new: str, tolerance: float
) -> tuple[dict[str, float], bool]:
    """(RMSE of each deployment on the same trips, whether ``new`` answered
    all and is within ``tolerance`` of ``old``'s RMSE)."""
    errors = {
        name: float(np.sqrt(((rollout[name] - rollout["fare"]) ** 2).mean()))
        for name in (old, new)
    }
    answered = bool(rollout[new].notna().all())
    return errors, answered and errors[new] <= errors[old] * (1 + tolerance)


def check_live(
    client: Client,
    sample: pd.DataFrame,
    columns: list[str],
    traffic: dict[str, int],
    requests: int = 50,
) -> None:
    """``requests`` live requests under ``traffic``: every one answered."""
    answers = [
        client.post(request_body(sample.iloc[[i % len(sample)]], columns))
        for i in range(requests)
    ]
    if not all(a.status == 200 for a in answers):
        raise AssertionError(
            f"traffic {traffic}: not every request was answered"
        )
    print(f"traffic {traffic}: {requests} requests, all answered")


def shift_traffic(
    ml_client: Any,
    client: Client,
    endpoint_name: str,
    old: str,
    new: str,
    sample: pd.DataFrame,
    columns: list[str],
    steps: Iterable[tuple[int, int]] = STEPS,
    requests: int = 50,
) -> None:
    """Move live traffic from ``old`` to ``new`` in ``steps``, checking
    real requests at each."""
    for old_share, new_share in steps:
        split = {old: old_share, new: new_share}
        set_traffic(ml_client, endpoint_name, split)
        check_live(client, sample, columns, split, requests)


def retire(ml_client: Any, endpoint_name: str, old: str) -> None:
    """Delete the old deployment, once it has no live or mirrored traffic."""
    ml_client.online_deployments.begin_delete(old, endpoint_name).result()


def other(name: str | None) -> str:
    """The colour the next deployment takes beside ``name``."""
    return "green" if name == "blue" else "blue"


def release(
    ml_client: Any,
    serving: Serving,
    model: Any,
    sample: pd.DataFrame,
    columns: list[str],
    target: str,
    request_file: str | Path,
    *,
    mirror_percent: int = 20,
    tolerance: float = 0.10,
) -> str:
    """The whole procedure: ``model`` ends up taking all live traffic, or
    the old one keeps it.

    With nothing live yet, the first deployment is smoke-tested and takes all
    traffic. Returns the deployment that serves live traffic at the end."""
    endpoint_name = serving.endpoint_name
    old = live_deployment(ml_client, endpoint_name)
    if old is not None:
        serving_now = ml_client.online_deployments.get(old, endpoint_name).model
        if serving_now == model_id(model):
            print(f"{old} already serves {model_id(model)}: nothing to release")
            return old
    new = other(old)
    deploy(ml_client, serving, new, model, request_file)
    if old is None:
        set_traffic(ml_client, endpoint_name, {new: 100})
        print(f"{new} passed its smoke test and takes 100% of live traffic")
        return new
    client = Client.of(ml_client, endpoint_name)
    rollout = mirror_and_compare(
        ml_client,
        client,
        endpoint_name,
        old,
        new,
        sample,
        columns,
        target,
        mirror_percent,
    )
    errors, passes = gate(rollout, old, new, tolerance)
    print(
        f"RMSE on the rollout's trips: {old} {errors[old]:.3f}, "
        f"{new} {errors[new]:.3f}"
    )
    if not passes:
        set_traffic(ml_client, endpoint_name, {old: 100, new: 0})
        print(
            f"{new} failed the gate: the rollout stops, "
            f"{old} keeps the traffic."
        )
        return old
    shift_traffic(ml_client, client, endpoint_name, old, new, sample, columns)
    retire(ml_client, endpoint_name, old)
    return new


def serve_in_place(
    ml_client: Any, serving: Serving, model: Any, request_file: str | Path
) -> str:
    """One step: the live deployment serves ``model`` instead (a rollback to
    the previous registry version, or forward again).

    Updating the live deployment in place keeps its traffic and key; Azure ML
    replaces its instances only once the new ones are healthy, so callers see
    no gap. Returns the live deployment's name.
    """
    live = live_deployment(ml_client, serving.endpoint_name)
    if live is None:
        raise ValueError(
            f"Endpoint {serving.endpoint_name} serves nothing: "
            "there is nothing to roll back."
        )
    deploy(ml_client, serving, live, model, request_file)
    return live


def model_id(model: Any) -> str:
    """How a deployment names ``model``: its registry id, or azureml:n:v."""
    if isinstance(model, str):
        return model
    if str(model.id or "").startswith("azureml://"):
        return str(model.id)
    return f"azureml:{model.name}:{model.version}"
