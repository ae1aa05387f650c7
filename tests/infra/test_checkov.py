"""The static security scan of infra/ with checkov, offline, one scan per environment with that
environment's variables (so checkov sees the values that will be deployed). It must pass; each
accepted check is written down with its reason; and weakening a setting makes it fail."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from accelerator import naming

INFRA = Path(__file__).resolve().parents[2] / "infra"
INLINE_SKIP = re.compile(r"#checkov:skip=(CKV\d?_[A-Z]+_\d+):(.*)$", flags=re.MULTILINE)


def accepted_checks(environment: str) -> list[str]:
    return yaml.safe_load((INFRA / "checkov" / f"{environment}.yaml").read_text())["skip-check"] or []


def inline_skips(infra: Path = INFRA) -> dict[str, str]:
    found = {}
    for path in infra.rglob("*.tf"):
        for check, reason in INLINE_SKIP.findall(path.read_text()):
            found[check] = reason.strip()
    return found


@pytest.mark.parametrize("environment", naming.ENVIRONMENTS)
def test_scan_passes(checkov_gate, environment):
    result = checkov_gate(INFRA, environment)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"Passed checks: [1-9]\d*, Failed checks: 0", result.stdout), result.stdout


@pytest.mark.parametrize("environment", naming.ENVIRONMENTS)
def test_accepted_checks_are_exactly_those_the_environment_fails(checkov_scan, environment):
    """No stale entries and no silent ones: without its list, the environment fails exactly the
    checks on it, and the inline skips are exactly the checks checkov reports as skipped."""
    result = checkov_scan(INFRA, environment, "-o", "json")
    report = json.loads(result.stdout)
    results = (report[0] if isinstance(report, list) else report)["results"]
    failed = {check["check_id"] for check in results["failed_checks"]}
    assert failed == set(accepted_checks(environment))
    assert {check["check_id"] for check in results["skipped_checks"]} == set(inline_skips())


def test_every_accepted_check_has_its_reason_beside_it():
    for check, reason in inline_skips().items():
        assert len(reason) >= 40, f"#checkov:skip={check} needs a reason that says why"
    for environment in naming.ENVIRONMENTS:
        lines = (INFRA / "checkov" / f"{environment}.yaml").read_text().splitlines()
        for number, line in enumerate(lines):
            if re.match(r"\s+- CKV", line):
                assert lines[number - 1].strip().startswith("#"), (
                    f"{environment}.yaml: no reason above {line.strip()}"
                )


def test_prod_accepts_no_environment_specific_check():
    assert accepted_checks("prod") == []
