"""The on-disk store behind the local backend.

Every record is a small YAML file (readable with any editor) written atomically: the text goes to
a temporary file in the same folder, is flushed to disk, then renamed over the target. A crash
mid-write leaves either the old record or the new one, never half of one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml


def plain(value: Any) -> Any:
    """Turn the SDK's OrderedDicts (and tuples) into plain YAML-safe containers."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_record(path: Path, record: dict[str, Any]) -> None:
    write_text_atomic(path, yaml.safe_dump(plain(record), sort_keys=False))


def read_record(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        record = yaml.safe_load(handle)
    if not isinstance(record, dict):
        raise ValueError(f"Store record {path} is not a mapping; the file is damaged.")
    return record


def records(folder: Path, pattern: str = "*.yaml") -> Iterator[Path]:
    """Record files in ``folder`` in name order, skipping temporary files of interrupted writes."""
    if not folder.is_dir():
        return iter(())
    return iter(sorted(p for p in folder.glob(pattern) if not p.name.startswith(".")))


def remove_tree(path: Path) -> None:
    """Delete a folder so that it disappears at once: rename it aside first, then remove it."""
    if not path.exists():
        return
    trash = path.with_name(f".deleted-{path.name}-{uuid.uuid4().hex[:8]}")
    os.replace(path, trash)
    shutil.rmtree(trash, ignore_errors=True)
