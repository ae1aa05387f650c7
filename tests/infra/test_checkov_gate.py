"""The scan is a gate: weakening a security setting in a copy of infra/ makes it fail, naming the check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

INFRA = Path(__file__).resolve().parents[2] / "infra"


@pytest.mark.parametrize(
    ("setting", "weakened", "check"),
    [
        (
            "  admin_enabled                 = false",
            "  admin_enabled                 = true",
            "CKV_AZURE_137",
        ),
        (
            "  allow_nested_items_to_be_public   = false",
            "  allow_nested_items_to_be_public   = true",
            "CKV_AZURE_190",
        ),
        (
            "  shared_access_key_enabled         = false",
            "  shared_access_key_enabled         = true",
            "CKV2_AZURE_40",
        ),
    ],
)
def test_weakening_a_setting_fails_the_scan(checkov_gate, tmp_path, setting, weakened, check):
    """The gate works: the registry admin user, anonymous blob access or storage shared keys turned
    back on in a copy of infra/ make the scan fail, naming the check."""
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform*", "*.tfplan"))
    module = copy / "modules" / "ml-environment" / "main.tf"
    text = module.read_text()
    assert text.count(setting) == 1, f"the setting {setting.strip()!r} is not in the module once"
    module.write_text(text.replace(setting, weakened))
    result = checkov_gate(copy, "prod")
    assert result.returncode != 0, result.stdout[-3000:]
    assert f"Check: {check}:" in result.stdout
    assert "FAILED for resource: module.ml_environment." in result.stdout
