"""evaluate.py: the promotion rule, finding the champion, and challenger-versus-champion end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import evaluate
import mlflow
import pytest

from .conftest import MlflowStore, Prepared

MODEL_NAME = "taxi-fare"


def register_version(model_folder: Path, name: str = MODEL_NAME, champion: bool | None = True) -> str:
    """Register the model in ``model_folder`` as a new version, tagged champion=true/false (or untagged).

    The version points at the folder itself: quicker than logging the model again, as register.py does.
    """
    client = mlflow.MlflowClient()
    if not client.search_registered_models(f"name='{name}'"):
        client.create_registered_model(name)
    version = str(client.create_model_version(name, source=str(model_folder)).version)
    if champion is not None:
        client.set_model_version_tag(name, version, "champion", str(champion).lower())
    return version


def _argv(challenger: Path, prepared: Prepared, output: Path, *flags: str) -> list[str]:
    return [
        "--model_input",
        str(challenger),
        "--test_data",
        str(prepared.test),
        "--model_name",
        MODEL_NAME,
        "--evaluation_output",
        str(output),
        *flags,
    ]


def _latest_run(store: MlflowStore):
    (run,) = store.client.search_runs([store.experiment_id], order_by=["start_time DESC"], max_results=1)
    return run


# --- the rule -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("challenger", "champion", "margin", "promote", "in_reason"),
    [
        (3.0, None, 0.01, True, "No current champion"),
        (2.0, 3.0, 0.01, True, "33.3% lower"),
        (2.97, 3.0, 0.01, True, "1.0% lower"),  # exactly the margin (3.0 * 0.99 is 2.9699999999999998)
        (2.98, 3.0, 0.01, False, "0.7% lower"),  # better, but within the margin
        (3.0, 3.0, 0.01, False, "keep the champion"),  # a tie
        (3.0, 3.0, 0.0, True, "promote the challenger"),  # no margin: a tie is enough
        (3.3, 3.0, 0.01, False, "10.0% higher"),  # worse
        (
            0.5,
            0.0,
            0.01,
            False,
            "against the champion's 0.0000; promotion",
        ),  # a perfect champion cannot be beaten
    ],
)
def test_decide(
    challenger: float, champion: float | None, margin: float, promote: bool, in_reason: str
) -> None:
    decision, reason = evaluate.decide(challenger, champion, margin)
    assert decision is promote
    assert in_reason in reason
    assert f"{challenger:.4f}" in reason


@pytest.mark.parametrize("margin", [-0.01, 1.0, 1.5, math.nan, math.inf, "0.01", None, True])
def test_decide_rejects_an_invalid_margin(margin: object) -> None:
    with pytest.raises(ValueError, match=r"margin must be a number in \[0, 1\)"):
        evaluate.decide(2.0, 3.0, margin)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("challenger", "champion"), [(math.nan, 3.0), (-1.0, 3.0), (2.0, math.inf), (None, 3.0)]
)
def test_decide_rejects_an_invalid_rmse(challenger: object, champion: object) -> None:
    with pytest.raises(ValueError, match="must be a finite number >= 0"):
        evaluate.decide(challenger, champion, 0.01)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("flag", "message"), [("1", "margin must be a number in [0, 1)"), ("x", "could not convert")]
)
def test_bad_margin_is_a_usage_error(capsys: pytest.CaptureFixture[str], flag: str, message: str) -> None:
    required = ["--model_input", "m", "--test_data", "t", "--model_name", "n", "--evaluation_output", "o"]
    with pytest.raises(SystemExit) as exit_info:
        evaluate.parse_args([*required, "--margin", flag])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_model_name_with_a_quote_is_rejected() -> None:
    with pytest.raises(SystemExit):
        evaluate.parse_args(
            ["--model_input", "m", "--test_data", "t", "--evaluation_output", "o", "--model_name", "x' OR '1"]
        )


# --- the champion -------------------------------------------------------------------------------


def test_no_registered_model_means_no_champion() -> None:
    assert evaluate.find_champion("never-registered") is None


def test_champion_is_the_version_tagged_true(bad_model: Path) -> None:
    register_version(bad_model, champion=None)
    assert evaluate.find_champion(MODEL_NAME) is None
    champion = register_version(bad_model, champion=True)
    register_version(bad_model, champion=False)
    register_version(bad_model, champion=True, name="other-model")
    found = evaluate.find_champion(MODEL_NAME)
    assert found is not None
    assert (found.name, str(found.version)) == (MODEL_NAME, champion)


# --- end to end ---------------------------------------------------------------------------------


def test_first_model_is_promoted(
    tmp_path: Path, mlflow_store: MlflowStore, prepared: Prepared, good_model: Path
) -> None:
    decision = evaluate.main(_argv(good_model, prepared, tmp_path / "out"))

    assert decision["promote"] is True
    assert decision["champion"] is None
    written = json.loads((tmp_path / "out" / "decision.json").read_text())
    assert written == decision
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["champion"] is None
    assert set(metrics["challenger"]) == {"rmse", "mae", "r2"}
    run = _latest_run(mlflow_store)
    assert run.data.metrics["promote"] == 1
    assert "champion_test_rmse" not in run.data.metrics


def test_worse_challenger_is_blocked(
    tmp_path: Path, mlflow_store: MlflowStore, prepared: Prepared, good_model: Path, bad_model: Path
) -> None:
    champion = register_version(good_model)

    decision = evaluate.main(_argv(bad_model, prepared, tmp_path / "out"))

    assert decision["promote"] is False
    assert decision["primary_metric"] == "rmse"
    assert decision["margin"] == 0.01
    assert decision["champion"]["version"] == champion
    assert decision["challenger"]["rmse"] > decision["champion"]["rmse"]
    assert "keep the champion" in decision["reason"]
    assert f"{decision['champion']['rmse']:.4f}" in decision["reason"]
    assert json.loads((tmp_path / "out" / "decision.json").read_text()) == decision
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["champion"] == decision["champion"]
    assert metrics["challenger"] == decision["challenger"]
    assert (tmp_path / "out" / "predictions.png").read_bytes().startswith(b"\x89PNG")

    run = _latest_run(mlflow_store)
    assert run.data.metrics["promote"] == 0
    assert run.data.metrics["test_rmse"] == pytest.approx(decision["challenger"]["rmse"])
    assert run.data.metrics["champion_test_rmse"] == pytest.approx(decision["champion"]["rmse"])
    assert {"test_mae", "test_r2"} <= set(run.data.metrics)
    artifacts = {a.path for a in mlflow_store.client.list_artifacts(run.info.run_id)}
    assert {"predictions.png", "decision.json"} <= artifacts


def test_better_challenger_is_promoted(
    tmp_path: Path, mlflow_store: MlflowStore, prepared: Prepared, good_model: Path, bad_model: Path
) -> None:
    champion = register_version(bad_model)

    decision = evaluate.main(_argv(good_model, prepared, tmp_path / "out"))

    assert decision["promote"] is True
    assert decision["champion"]["version"] == champion
    assert decision["challenger"]["rmse"] <= decision["champion"]["rmse"] * 0.99
    assert "promote the challenger" in decision["reason"]
    assert _latest_run(mlflow_store).data.metrics["promote"] == 1


def test_the_margin_decides_a_tie(tmp_path: Path, prepared: Prepared, good_model: Path) -> None:
    """The champion itself as challenger: equal RMSE, so only a zero margin promotes it."""
    register_version(good_model)

    with_margin = evaluate.main(_argv(good_model, prepared, tmp_path / "a"))
    without_margin = evaluate.main(_argv(good_model, prepared, tmp_path / "b", "--margin", "0"))

    assert with_margin["challenger"]["rmse"] == pytest.approx(with_margin["champion"]["rmse"])
    assert with_margin["promote"] is False
    assert without_margin["promote"] is True


def test_missing_test_data_is_an_error(tmp_path: Path, good_model: Path) -> None:
    argv = _argv(good_model, Prepared(tmp_path, tmp_path, tmp_path / "nowhere"), tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="no prepared data"):
        evaluate.main(argv)
    assert not (tmp_path / "out" / "decision.json").exists()
