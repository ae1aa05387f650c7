"""Run the workload's acceptance tests against one endpoint, as CD does.

The tests are a pytest module (``tests/test_acceptance.py``). The endpoint's
key reaches them in ``SCORING_KEY``, never on the command line, where any
process listing would show it. The report is pytest's JUnit XML, read back as
a table of test and outcome.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pandas as pd

#: The acceptance tests, beside this folder in the workload.
TESTS = Path(__file__).resolve().parents[1] / "tests" / "test_acceptance.py"


class AcceptanceFailed(AssertionError):
    """An acceptance test failed; the message ends with pytest's output."""


def run_acceptance(
    scoring_uri: str,
    key: str,
    model_dir: str | Path,
    report: str | Path,
    *,
    latency_budget_ms: float = 300,
    latency_requests: int = 200,
) -> pd.DataFrame:
    """One row per acceptance test: its name and outcome (passed, failure,
    error or skipped).

    Raises ``AcceptanceFailed`` unless every test ran and passed, with
    pytest's output."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(TESTS),
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={report}",
        "--scoring-uri",
        scoring_uri,
        "--model-dir",
        str(model_dir),
        "--latency-budget-ms",
        str(latency_budget_ms),
        "--latency-requests",
        str(latency_requests),
    ]
    run = subprocess.run(
        command,
        env={**os.environ, "SCORING_KEY": key},
        capture_output=True,
        text=True,
    )
    if not Path(report).is_file():
        raise AcceptanceFailed(
            f"The acceptance tests did not run:\n{run.stdout[-3000:]}"
            f"{run.stderr[-3000:]}"
        )
    cases = ElementTree.parse(report).getroot().iter("testcase")
    table = pd.DataFrame(
        [
            {"test": case.get("name"), "outcome": _outcome(case)}
            for case in cases
        ],
        columns=["test", "outcome"],
    )
    # A skipped test accepted nothing: it counts as a failure here.
    if (
        run.returncode != 0
        or table.empty
        or (table["outcome"] != "passed").any()
    ):
        raise AcceptanceFailed(
            f"The acceptance tests failed on {scoring_uri}:\n"
            f"{run.stdout[-3000:]}"
        )
    return table


def _outcome(case: ElementTree.Element) -> str:
    """passed, or what JUnit XML says happened instead (failure, error,
    skipped)."""
    for child in case:
        if child.tag in ("failure", "error", "skipped"):
            return child.tag
    return "passed"
