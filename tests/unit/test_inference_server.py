"""The scoring server: azureml-inference-server-http with the taxi fare score.py, on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psutil
import pytest
from workload_models import save_linear_taxi_model

from accelerator.local._local_endpoints._server import (
    INFERENCE_PYTHON_VARIABLE,
    InferenceServer,
    InferenceServerError,
)

REPO = Path(__file__).resolve().parents[2]
WORKLOAD = REPO / "notebooks" / "workloads" / "taxi_fare"
SCORE = WORKLOAD / "score"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, pd.DataFrame]:
    """A linear taxi fare model saved by the workload's own train.py, in a deployment's layout."""
    root = tmp_path_factory.mktemp("azureml-models") / "taxi-fare" / "1"
    fitted, x = save_linear_taxi_model(root / "model", rows=2_000, seed=3)
    return root, fitted, x


@pytest.fixture(scope="module")
def server(model, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InferenceServer]:
    root, _, _ = model
    started = InferenceServer.start(SCORE, "score.py", root, tmp_path_factory.mktemp("logs") / "server.log")
    yield started
    started.stop()
    assert not started.alive()


def _request(frame: pd.DataFrame) -> bytes:
    return json.dumps(
        {"input_data": {"columns": list(frame.columns), "data": frame.values.tolist()}}
    ).encode()


def test_scores_as_the_model_does(server: InferenceServer, model) -> None:
    _, fitted, x = model
    status, body = server.score(_request(x.head(5)))
    assert status == 200
    expected = [round(float(p), 4) for p in fitted.predict(x.head(5))]
    assert json.loads(body) == {"predictions": expected}


def test_takes_records_too(server: InferenceServer, model) -> None:
    x = model[2]
    status, body = server.score(json.dumps({"input_data": x.head(2).to_dict("records")}).encode())
    assert status == 200
    assert len(json.loads(body)["predictions"]) == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"rows": []}', '"input_data"'),
        (b'{"input_data": []}', "no rows"),
        (b'{"input_data": {"columns": ["vendor"], "data": [[1]]}}', "Missing feature(s): passengers"),
        (b'{"input_data": {"columns": ["a", "b"], "data": [[1]]}}', "Every row must have 2 values"),
        (b'{"input_data": 42}', '"input_data" must be'),
    ],
)
def test_bad_requests_get_400_and_the_server_stays_up(server: InferenceServer, model, body, message) -> None:
    status, answer = server.score(body)
    assert status == 400
    assert message in json.loads(answer)["error"]
    _, _, x = model
    assert server.score(_request(x.head(1)))[0] == 200


def test_a_value_that_is_not_a_number_is_named(server: InferenceServer, model) -> None:
    _, _, x = model
    status, answer = server.score(_request(x.head(3).astype(object).assign(distance=[1.0, "far", 2.0])))
    assert status == 400
    assert json.loads(answer)["error"] == "Feature 'distance' of row 1 is not a number: 'far'."


def test_listens_on_loopback_only(server: InferenceServer) -> None:
    processes = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
    listening = {c.laddr.ip for p in processes for c in p.net_connections() if c.status == psutil.CONN_LISTEN}
    assert listening == {"127.0.0.1"}


def test_a_script_that_cannot_start_fails_with_its_log(model, tmp_path: Path) -> None:
    root, _, _ = model
    code = tmp_path / "code"
    code.mkdir()
    (code / "score.py").write_text(
        "def init():\n    raise RuntimeError('no model here')\n\ndef run(data):\n    return 1\n"
    )
    with pytest.raises(InferenceServerError) as raised:
        InferenceServer.start(code, "score.py", root, tmp_path / "server.log", timeout=60)
    assert "no model here" in str(raised.value)
    survivors = [
        p for p in psutil.process_iter(["cmdline"]) if str(code) in " ".join(p.info["cmdline"] or [])
    ]
    assert not survivors


def test_a_missing_inference_environment_says_how_to_make_it(
    model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(INFERENCE_PYTHON_VARIABLE, str(tmp_path / "no-such-python"))
    with pytest.raises(InferenceServerError, match="make setup"):
        InferenceServer.start(SCORE, "score.py", model[0], tmp_path / "server.log")


def test_the_inference_python_is_a_setting_with_the_repository_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accelerator.local._local_endpoints._server import inference_python

    monkeypatch.delenv(INFERENCE_PYTHON_VARIABLE, raising=False)
    assert inference_python() == REPO / ".venv-inference" / "bin" / "python"
    chosen = tmp_path / "python"
    chosen.write_text("")
    monkeypatch.setenv(INFERENCE_PYTHON_VARIABLE, str(chosen))
    assert inference_python() == chosen
    monkeypatch.setenv(INFERENCE_PYTHON_VARIABLE, str(tmp_path / "missing"))
    with pytest.raises(
        InferenceServerError, match=f"{INFERENCE_PYTHON_VARIABLE} is set to .*missing, which is not"
    ):
        inference_python()
