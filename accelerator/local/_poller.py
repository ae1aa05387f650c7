"""Long-running operations that the local backend completes before it returns."""

from __future__ import annotations

from typing import TypeVar

from azure.core.polling import LROPoller, NoPolling

T = TypeVar("T")


def completed(value: T) -> LROPoller[T]:
    """An ``LROPoller`` that is already done, so ``.result()`` returns ``value`` at once."""
    return LROPoller(None, value, lambda response: response, NoPolling())
