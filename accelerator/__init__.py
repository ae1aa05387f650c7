"""The Azure MLOps Accelerator as an executable book: the package the notebooks import."""

from accelerator._connect import AzureLoginError, connect, find_azure_settings, resolve_backend
from accelerator.data import DRIFT_SCENARIOS, DataValidationError, generate_trips, validate_trips

__all__ = [
    "DRIFT_SCENARIOS",
    "AzureLoginError",
    "DataValidationError",
    "connect",
    "find_azure_settings",
    "generate_trips",
    "resolve_backend",
    "validate_trips",
]
