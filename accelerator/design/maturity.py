"""The maturity self-assessment (design/maturity.yaml): levels per dimension, and the gap to a target.

A dimension is at level L when every practice of levels 1 to L is in place: a level stands on the
ones below it. The team is at the level of its weakest dimension.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Annotated

import yaml
from pydantic import AfterValidator, Field, model_validator

from accelerator.design._types import Key, Model, Text

Level = Annotated[int, Field(ge=0, le=4)]
TargetLevel = Annotated[int, Field(ge=1, le=4)]


class LevelDescription(Model):
    name: Text
    summary: Text


class Practice(Model):
    id: Key
    dimension: Key
    level: Annotated[int, Field(ge=1, le=4)]
    practice: Text
    week: Annotated[int, Field(ge=1, le=12)]


class MaturityModel(Model):
    levels: dict[int, LevelDescription]
    dimensions: dict[Key, Text]
    practices: list[Practice]

    @model_validator(mode="after")
    def _complete(self) -> MaturityModel:
        if sorted(self.levels) != [0, 1, 2, 3, 4]:
            raise ValueError("levels must be 0 to 4")
        for practice in self.practices:
            if practice.dimension not in self.dimensions:
                raise ValueError(f"practice {practice.id}: unknown dimension {practice.dimension}")
        return self

    def practice(self, practice_id: str) -> Practice:
        return next(p for p in self.practices if p.id == practice_id)


@cache
def maturity_model() -> MaturityModel:
    """The maturity model kept as package data (data/maturity_model.yaml)."""
    text = files("accelerator.design").joinpath("data/maturity_model.yaml").read_text(encoding="utf-8")
    return MaturityModel.model_validate(yaml.safe_load(text))


def _known_practice(value: str) -> str:
    ids = [p.id for p in maturity_model().practices]
    if value not in ids:
        raise ValueError(f"unknown practice '{value}': not a practice of the maturity model")
    return value


PracticeId = Annotated[str, AfterValidator(_known_practice)]


class MaturityInputs(Model):
    """What the team answers: is each practice in place (yes/no), and the level to reach."""

    target_level: TargetLevel
    answers: dict[PracticeId, bool]

    @model_validator(mode="after")
    def _every_practice_answered(self) -> MaturityInputs:
        missing = [p.id for p in maturity_model().practices if p.id not in self.answers]
        if missing:
            raise ValueError(f"answers: no answer for {', '.join(missing)} (answer yes or no)")
        return self


class DimensionScore(Model):
    dimension: str
    name: str
    level: Level
    practices_in_place: int
    practices: int


class Gap(Model):
    priority: int
    level: int
    dimension: str
    practice_id: str
    practice: str
    week: int


class MaturityAssessment(Model):
    answers: dict[str, bool]
    target_level: TargetLevel
    dimensions: list[DimensionScore]
    level: Level
    gaps: list[Gap]

    @property
    def level_name(self) -> str:
        return maturity_model().levels[self.level].name


def assess(answers: dict[str, bool], target_level: int) -> MaturityAssessment:
    """Score each dimension from the answers, and list the practices missing for ``target_level``."""
    model = maturity_model()
    scores = []
    for dimension, name in model.dimensions.items():
        practices = [p for p in model.practices if p.dimension == dimension]
        level = 0
        for candidate in range(1, 5):
            if all(answers[p.id] for p in practices if p.level == candidate):
                level = candidate
            else:
                break
        scores.append(
            DimensionScore(
                dimension=dimension,
                name=name,
                level=level,
                practices_in_place=sum(answers[p.id] for p in practices),
                practices=len(practices),
            )
        )
    level_of = {s.dimension: s.level for s in scores}
    order = list(model.dimensions)
    missing = [p for p in model.practices if p.level <= target_level and not answers[p.id]]
    # Foundations first (a level stands on the ones below); within a level, the dimension furthest
    # behind first; then the model's own order.
    missing.sort(key=lambda p: (p.level, level_of[p.dimension], order.index(p.dimension)))
    gaps = [
        Gap(
            priority=i,
            level=p.level,
            dimension=model.dimensions[p.dimension],
            practice_id=p.id,
            practice=p.practice,
            week=p.week,
        )
        for i, p in enumerate(missing, start=1)
    ]
    return MaturityAssessment(
        answers=dict(answers),
        target_level=target_level,
        dimensions=scores,
        level=min(level_of.values()),
        gaps=gaps,
    )
