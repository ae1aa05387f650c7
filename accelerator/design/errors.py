"""One exception for every way a design can be wrong, listing each problem as ``file:line: message``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the design, and where: a file and line, or a notebook parameter."""

    source: str  # "design/raci.yaml", or "parameter teams"
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}"


class DesignError(ValueError):
    """The design's inputs are invalid; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        heading = "The design has 1 problem:" if count == 1 else f"The design has {count} problems:"
        super().__init__("\n".join([heading, *(f"  {p}" for p in self.problems)]))
