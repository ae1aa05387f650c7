"""Reproducible job names for the book's own run (a documented setting, off by default).

Azure ML names a job submitted without a name ``<adjective>_<noun>_<10 characters>``
(``azure/ai/ml/entities/_job/job_name_generator.py``, called from ``to_rest_job_object``) with
Python's global ``random``: every run of a notebook prints new names, so re-executing the book for
its committed outputs would change every notebook that submits a job. With
``ACCELERATOR_JOB_NAME_SEED`` set (``tools/notebooks.py`` sets it), the local backend draws those
names from the SDK's own word lists with a generator seeded by the setting and by how many names it
has tried, skipping any name the workspace already has: on a fresh store the same run gives the
same names, in the same form Azure uses. Unset, names are the SDK's, random as on Azure.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable

from azure.ai.ml.entities._job import job_name_generator as sdk_names

SEED_VARIABLE = "ACCELERATOR_JOB_NAME_SEED"
_ATTEMPTS = 10_000


def seed() -> str | None:
    """The seed of reproducible names, or None when names are random (the default)."""
    return os.environ.get(SEED_VARIABLE) or None


def _draw(generator: random.Random) -> str:
    adjective = generator.choice(sdk_names.ALLOWED_ADJECTIVES)
    noun = generator.choice(sdk_names.ALLOWED_NOUNS)
    suffix = "".join(generator.choices(sdk_names.ALLOWED_CHARS, k=sdk_names.SUFFIX_LENGTH))
    return f"{adjective}_{noun}_{suffix}"


def job_name(taken: Callable[[str], bool], prefix: str = "") -> str | None:
    """A reproducible name not ``taken`` in the workspace, or None when the setting is off.

    ``prefix`` keeps separate sequences for separate kinds of name (batch jobs use a uuid form).
    """
    value = seed()
    if value is None:
        return None
    for attempt in range(_ATTEMPTS):
        generator = random.Random(f"{value}:{prefix}:{attempt}")
        if prefix:  # a batch endpoint's jobs: batchjob-<uuid>, as on Azure
            name = f"{prefix}-{uuid.UUID(int=generator.getrandbits(128), version=4)}"
        else:
            name = _draw(generator)
        if not taken(name):
            return name
    raise RuntimeError(f"{SEED_VARIABLE}: no free job name after {_ATTEMPTS} attempts")
