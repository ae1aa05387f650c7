"""The repository's GitHub workflows, read once for the runbook and the evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def workflow_files(repo: Path) -> list[Path]:
    return sorted((repo / ".github" / "workflows").glob("*.y*ml"))


def load_workflow(path: Path) -> dict[str, Any] | None:
    """The workflow at ``path``, or None when there is none."""
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.is_file() else None


def triggers(document: dict[str, Any]) -> dict[str, Any]:
    """The workflow's ``on:`` as a mapping of event to settings, whichever form it is written in."""
    # PyYAML reads the key `on` as True (YAML 1.1's boolean).
    on = document.get("on", document.get(True)) or {}
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on)
