"""Code snapshots: a job's or component's ``code`` folder copied into the workspace, once per content.

As Azure ML uploads a job's code as a versioned code asset, the local backend copies it to
``<workspace>/codes/<hash>/``: a job runs the code as it was when submitted, whatever is edited
afterwards. Hidden files and Python caches are left out, as ``.amlignore`` usually does.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path

from accelerator.local._exceptions import user_error
from accelerator.local._store import sweep_leftovers

_SKIPPED = ("__pycache__", ".ipynb_checkpoints")


def _files(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED)
        found.extend(
            Path(root) / f for f in sorted(files) if not f.startswith(".") and not f.endswith(".pyc")
        )
    return found


def code_fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for file in _files(folder):
        digest.update(file.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


def snapshot(
    workspace_dir: Path, source: str | os.PathLike[str], base_path: str | os.PathLike[str] | None
) -> tuple[str, str]:
    """Copy the code folder (or single file) into the workspace; (snapshot folder, content hash)."""
    path = Path(source)
    if not path.is_absolute():
        path = Path(base_path or ".") / path
    path = path.resolve()
    if not path.exists():
        raise user_error(f"The code path '{source}' does not exist (looked in {path}).")
    folder, files = (path, _files(path)) if path.is_dir() else (path.parent, [path])
    if not files:
        raise user_error(f"The code folder '{source}' is empty.")
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(file.read_bytes() + b"\0")
    key = digest.hexdigest()
    target = workspace_dir / "codes" / key[:32]
    sweep_leftovers(target.parent)  # staging folders of copies a killed process never finished
    if not target.exists():
        staging = target.with_name(f".staging-{key[:16]}-{uuid.uuid4().hex[:8]}")
        for file in files:
            destination = staging / file.relative_to(folder)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, destination)
        try:
            os.replace(staging, target)
        except OSError:  # another process stored the same snapshot meanwhile
            shutil.rmtree(staging, ignore_errors=True)
    return str(target), key
