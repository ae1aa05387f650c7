"""What every local operation group shares."""

from __future__ import annotations

from typing import Any

from accelerator.local._exceptions import LocalBackendUnsupportedError
from accelerator.local._scope import LocalScope


class LocalOperations:
    """Base of the local operation groups.

    ``_sdk_class`` is the SDK operations class this one mirrors: a method the SDK has but the local
    backend does not implement raises an error naming it, instead of a bare ``AttributeError``.
    """

    _sdk_class: type
    _group: str

    def __init__(self, scope: LocalScope) -> None:
        self._scope = scope

    def __getattr__(self, item: str) -> Any:
        if not item.startswith("_") and hasattr(self._sdk_class, item):
            raise LocalBackendUnsupportedError(f"ml_client.{self._group}.{item}")
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{item}'")
