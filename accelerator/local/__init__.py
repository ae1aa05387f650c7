"""The embedded local backend: Azure ML's client interface, run on this machine.

Names are imported on first use, so the job runner (``_execution``) starts without the SDK.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LocalBackendUnsupportedError": "accelerator.local._exceptions",
    "LocalMLClient": "accelerator.local._ml_client",
    "default_home": "accelerator._home",
    "stop_endpoints": "accelerator.local._local_endpoints._shutdown",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'accelerator.local' has no attribute '{name}'")
