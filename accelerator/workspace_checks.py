"""Week 6: check that a workspace is ready for work, one named check at a time.

Written against the ``MLClient`` interface, so the same checks run on Azure and locally.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import fsspec
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import Data

from accelerator.prerequisites import attempt

PROBE_ASSET = "workspace-probe"
PROBE_TEXT = "Written by the accelerator's workspace validation (week 6).\n"


def validate_workspace(
    ml_client: Any, *, compute_name: str, environment_name: str, environment_version: str
) -> list[dict[str, Any]]:
    """Run every check against one workspace; return one row per check (never raises)."""
    rows: list[dict[str, Any]] = []

    def check(name: str, action: Any) -> None:
        passed, detail = attempt(action)
        rows.append(
            {"workspace": ml_client.workspace_name, "check": name, "passed": passed, "detail": detail}
        )

    check("workspace reachable", lambda: f"in {ml_client.workspaces.get(ml_client.workspace_name).location}")
    check("default datastore", lambda: ml_client.datastores.get_default().name)
    written: dict[str, Data] = {}
    check("datastore writable", lambda: _write_probe(ml_client, written))
    check("datastore readable", lambda: _read_probe(written))
    check("compute cluster", lambda: _compute(ml_client, compute_name))
    check(
        "training environment",
        lambda: _environment(ml_client, environment_name, environment_version),
    )
    return rows


def _write_probe(ml_client: Any, written: dict[str, Data]) -> str:
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe.txt"
        probe.write_text(PROBE_TEXT)
        asset = ml_client.data.create_or_update(
            Data(name=PROBE_ASSET, version="1", type=AssetTypes.URI_FILE, path=str(probe))
        )
    written["probe"] = asset
    return f"uploaded {PROBE_ASSET}:{asset.version}"


def _read_probe(written: dict[str, Data]) -> str:
    if "probe" not in written:
        raise RuntimeError("nothing to read: the write check failed")
    with fsspec.open(written["probe"].path, "r") as handle:
        text = handle.read()
    if text != PROBE_TEXT:
        raise RuntimeError("the file read back differs from the one written")
    return f"read back {len(text)} characters"


def _compute(ml_client: Any, name: str) -> str:
    cluster = ml_client.compute.get(name)
    if cluster.provisioning_state != "Succeeded":
        raise RuntimeError(f"{name} is {cluster.provisioning_state}, not Succeeded")
    return f"{name}: {cluster.size}, {cluster.min_instances}-{cluster.max_instances} nodes"


def _environment(ml_client: Any, name: str, version: str) -> str:
    environment = ml_client.environments.get(name, version=version)
    return f"{environment.name}:{environment.version} on {environment.image.split('/')[-1]}"
