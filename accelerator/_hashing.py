"""Content fingerprints of files and folders, on any fsspec filesystem."""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath

import fsspec
from fsspec.implementations.local import LocalFileSystem


def list_files(fs: fsspec.AbstractFileSystem, path: str) -> list[str]:
    """The file itself, or every file under the folder (hidden files left out), sorted."""
    if fs.isfile(path):
        return [path]
    return sorted(p for p in fs.find(path) if not PurePosixPath(p).name.startswith("."))


def fingerprint(path: str, fs: fsspec.AbstractFileSystem | None = None) -> str:
    """sha256 over each file's relative path and bytes: equal content, equal fingerprint."""
    fs = fs or LocalFileSystem()
    digest = hashlib.sha256()
    base = str(path).rstrip("/")
    for file in list_files(fs, base):
        relative = file[len(base) :].lstrip("/") or PurePosixPath(file).name
        digest.update(relative.encode())
        digest.update(b"\0")
        with fs.open(file, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()
