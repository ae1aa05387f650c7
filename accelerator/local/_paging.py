"""``list`` results shaped like ``MLClient``'s: an ``ItemPaged`` that is iterated once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from azure.core.paging import ItemPaged

T = TypeVar("T")


def paged(items: Iterable[T]) -> ItemPaged[T]:
    """Wrap results already read from the store (so errors surface at the call, not later)."""
    page = list(items)
    return ItemPaged(lambda continuation_token: page, lambda response: (None, iter(response)))
