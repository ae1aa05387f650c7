"""The Azure MLOps Accelerator as an executable book: the package the notebooks import.

Names are imported on first use: the local backend's job runner imports parts of this package in
every job, and should not pay for the Azure ML SDK and pandas when it does not need them.
"""

from __future__ import annotations

import importlib
from typing import Any

from accelerator import _display

_EXPORTS = {
    "AzureLoginError": "accelerator._connect",
    "alert_mails": "accelerator.alerts",
    "connect": "accelerator._connect",
    "connect_registry": "accelerator._connect",
    "find_azure_settings": "accelerator._connect",
    "resolve_backend": "accelerator._connect",
    "DRIFT_SCENARIOS": "accelerator.data",
    "DataValidationError": "accelerator.data",
    "generate_trips": "accelerator.data",
    "validate_trips": "accelerator.data",
}

__all__ = sorted(_EXPORTS)

# The SDK's "experimental class" notices dropped; full table cells in a notebook (see _display).
_display.configure()


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'accelerator' has no attribute '{name}'")
