"""Stop a notebook early, with the name of the notebook to run first, when its inputs are missing."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

from azure.core.exceptions import ResourceNotFoundError

T = TypeVar("T")


class PrerequisiteError(RuntimeError):
    """Something an earlier notebook creates is missing; the message names that notebook."""


def require(check: Callable[..., T], *args: Any, notebook: str, what: str) -> T:
    """Return ``check(*args)``; if what it looks up does not exist, raise ``PrerequisiteError``.

    ``notebook`` is the notebook that creates it, e.g. ``"05_create_workspaces.ipynb"``.
    """
    try:
        return check(*args)
    except ResourceNotFoundError as error:
        message = f"{what} is missing: run {notebook} first."
        reason = first_line(error)
        if notebook not in reason:  # the lookup's own words, unless they say the same
            message += f" ({reason})"
        raise PrerequisiteError(message) from None


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def attempt(action: Callable[[], Any]) -> tuple[bool, str]:
    """Run one validation check: (True, its detail) or (False, why it failed)."""
    try:
        detail = action()
    except Exception as error:  # a failed check is reported, not raised
        return False, f"{type(error).__name__}: {first_line(error)}"
    return True, str(detail) if detail is not None else "ok"


def require_python(minimum: tuple[int, int]) -> None:
    """Stop with the version found when the kernel's Python is older than ``minimum``.

    A notebook can be opened in a kernel of any version; the check lives here, where the
    comparison is plain code, rather than in week 0 with a linter exception beside it.
    """
    if sys.version_info[:2] < minimum:
        wanted = ".".join(str(part) for part in minimum)
        raise RuntimeError(f"Python {wanted} or newer is needed; this kernel runs {sys.version.split()[0]}.")
