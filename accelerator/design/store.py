"""The design's records on disk, beside the local backend's store, where the next week finds them.

They live in ``$ACCELERATOR_HOME/design/`` (by default ``.accelerator/design/`` in the checkout): a
folder on the machine the notebooks run on, on a laptop as on an Azure ML compute instance.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import ValidationError

from accelerator._home import default_home
from accelerator.design.records import RECORDS, Record
from accelerator.local._store import write_text_atomic
from accelerator.prerequisites import PrerequisiteError

R = TypeVar("R", bound=Record)
_BY_KIND = {record.KIND: record for record in RECORDS}


class DesignStore:
    def __init__(self, home: str | Path | None = None) -> None:
        self.folder = (Path(home) if home else default_home()) / "design"

    def path(self, kind: type[Record]) -> Path:
        return self.folder / f"{kind.KIND}.yaml"

    def save(self, record: Record) -> Path:
        """Write ``record`` (atomically: a reader never sees half of it)."""
        path = self.path(type(record))
        write_text_atomic(path, yaml.safe_dump(record.model_dump(mode="json"), sort_keys=False, width=100))
        return path

    def find(self, kind: type[R]) -> R | None:
        """The stored record of ``kind``, or None if its week has not been run."""
        return self.load(kind) if self.path(kind).is_file() else None

    def load(self, kind: type[R]) -> R:
        """The stored record of ``kind``; ``PrerequisiteError`` naming the notebook to run when it is
        missing, damaged, or older than a record it was made from."""
        path = self.path(kind)
        if not path.is_file():
            raise PrerequisiteError(f"{kind.TITLE} is missing: run {kind.NOTEBOOK} first.")
        try:
            record = kind.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (ValidationError, yaml.YAMLError):
            raise PrerequisiteError(
                f"{kind.TITLE} could not be read (damaged, or written by another version): "
                f"run {kind.NOTEBOOK} again."
            ) from None
        for earlier_kind, digest in record.based_on.items():
            earlier = self.load(_BY_KIND[earlier_kind])
            if earlier.digest() != digest:
                raise PrerequisiteError(
                    f"{kind.TITLE} was made before {earlier.TITLE[0].lower()}{earlier.TITLE[1:]} "
                    f"changed: run {kind.NOTEBOOK} again."
                )
        return record
