"""Where this machine keeps the book's state: the local backend's store and the recorded design.

Kept apart from the local client so that reading the store's location does not import the SDK.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_VARIABLE = "ACCELERATOR_HOME"


def default_home() -> Path:
    """``ACCELERATOR_HOME``, else ``.accelerator/`` in the project checkout (git-ignored)."""
    configured = os.environ.get(HOME_VARIABLE)
    if configured:
        return Path(configured).expanduser().resolve()
    project = Path(__file__).resolve().parents[1]
    if (project / "pyproject.toml").is_file():
        return project / ".accelerator"
    return Path.home() / ".accelerator"
