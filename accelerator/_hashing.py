"""Content fingerprints of files and folders, on any fsspec filesystem."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import IO

import fsspec
from fsspec.implementations.local import LocalFileSystem


def list_files(fs: fsspec.AbstractFileSystem, path: str) -> list[str]:
    """The file itself, or every file under the folder (hidden files left out), sorted."""
    if fs.isfile(path):
        return [path]
    return sorted(p for p in fs.find(path) if not PurePosixPath(p).name.startswith("."))


def walk_files(fs: fsspec.AbstractFileSystem, path: str) -> Iterator[tuple[str, str]]:
    """(file, path relative to ``path``) for each file; a single file's relative path is its name."""
    base = str(path).rstrip("/")
    for file in list_files(fs, base):
        yield file, file[len(base) :].lstrip("/") or PurePosixPath(file).name


def chunks(handle: IO[bytes]) -> Iterator[bytes]:
    """A file's bytes, a megabyte at a time."""
    return iter(lambda: handle.read(1 << 20), b"")


def fingerprint(path: str, fs: fsspec.AbstractFileSystem | None = None) -> str:
    """sha256 over each file's relative path and bytes: equal content, equal fingerprint."""
    fs = fs or LocalFileSystem()
    digest = hashlib.sha256()
    for file, relative in walk_files(fs, path):
        digest.update(relative.encode())
        digest.update(b"\0")
        with fs.open(file, "rb") as handle:
            for chunk in chunks(handle):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()
