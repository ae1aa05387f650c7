"""The embedded local backend: Azure ML's client interface, run on this machine."""

from accelerator.local._exceptions import LocalBackendUnsupportedError
from accelerator.local._ml_client import LocalMLClient, default_home

__all__ = ["LocalBackendUnsupportedError", "LocalMLClient", "default_home"]
