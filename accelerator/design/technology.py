"""Technology choices per step of the ML lifecycle (design/technology.yaml), each with its reason."""

from __future__ import annotations

from accelerator.design._types import Model, Text


class Choice(Model):
    choice: Text
    instead_of: str = ""  # the alternative considered
    why: Text


class TechnologyInputs(Model):
    """One recorded choice for each step the accelerator's Design stage asks about."""

    experimentation: Choice
    orchestration: Choice
    data_transfer: Choice
    transformation: Choice
    training: Choice
    model_management: Choice
    deployment: Choice
    monitoring: Choice

    def rows(self) -> list[dict[str, str]]:
        return [
            {"step": step.replace("_", " "), **choice.model_dump()}
            for step, choice in self
            if isinstance(choice, Choice)
        ]
