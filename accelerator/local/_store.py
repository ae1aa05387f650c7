"""The on-disk store behind the local backend.

Every record is a small YAML file (readable with any editor) written atomically: the text goes to
a temporary file in the same folder, is flushed to disk, then renamed over the target. A crash
mid-write leaves either the old record or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from azure.core.exceptions import HttpResponseError
from filelock import FileLock

# One path component on ext4, APFS and NTFS: 255 bytes.
MAX_FILE_NAME = 255

# libyaml's safe loader and dumper when PyYAML has them (5-10 times faster on a job's record).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@cache
def _containment_error() -> type[Exception]:
    """The SDK's ``ValidationException`` (a user error, as the service refuses a bad name) for a
    name or path that would leave its folder; also a ``ValueError``, as code written against the
    earlier local backend caught it. Made on first use: the job runner imports this module, and
    importing the Azure ML SDK costs every job a second and a half."""
    from azure.ai.ml.exceptions import ValidationException

    return type("ContainmentError", (ValidationException, ValueError), {"__module__": __name__})


def __getattr__(name: str) -> Any:
    if name == "ContainmentError":
        return _containment_error()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _refuse(message: str, target: str, kind: str = "INVALID_VALUE") -> Exception:
    """``target``: an ``ErrorTarget`` value (plain strings); ``kind``: a ``ValidationErrorType`` name.
    The message gets the service's user-error prefix."""
    from azure.ai.ml.exceptions import ErrorCategory, ValidationErrorType

    from accelerator.local._exceptions import user_error_message

    message = user_error_message(message)
    return _containment_error()(
        message=message,
        no_personal_data_message=message,
        target=target,
        error_category=ErrorCategory.USER_ERROR,
        error_type=ValidationErrorType[kind],
    )


# -- containment: every caller-chosen name and path is checked here before it touches the disk ----


def segment(value: Any, kind: str = "name", target: str = "General") -> str:
    """``value`` as one entry of a store folder (an asset, job, endpoint or datastore name, a version).

    Refused, with the SDK's ``ValidationException`` in the service's user-error style and before
    anything is read or written, unless it is a single non-hidden entry: no separator, no ``..``,
    no NUL, not absolute, at most 255 bytes. Every operation group builds its paths through this,
    so a group added later is contained too.
    """
    if value is None or value == "":
        raise _refuse(f"A {kind} is required.", target, "MISSING_FIELD")
    if not isinstance(value, str):
        raise _refuse(f"The {kind} must be a string, not {type(value).__name__} {value!r}.", target)
    if "/" in value or "\\" in value or "\x00" in value or value.startswith(".") or value != value.strip():
        raise _refuse(
            f"Invalid {kind} '{value}': it must start with a letter or digit and may not "
            "contain '/', '\\', a NUL character or surrounding spaces.",
            target,
        )
    if len(value.encode("utf-8")) > MAX_FILE_NAME:
        raise _refuse(
            f"Invalid {kind} '{value[:40]}...': it is longer than {MAX_FILE_NAME} characters.",
            target,
        )
    return value


def join(root: Path, *names: str, kind: str = "name", target: str = "General") -> Path:
    """``root/<name>/...`` with every name checked by :func:`segment`, and the result checked to be
    inside ``root`` even through symbolic links."""
    path = root.joinpath(*(segment(n, kind, target) for n in names))
    return inside(root, path, target)


def inside(root: Path | str, path: Path | str, target: str = "General") -> Path:
    """``path`` if it resolves to ``root`` or below it; else the service's kind of refusal."""
    resolved_root = Path(root).resolve()
    resolved = Path(path).resolve()
    if resolved != resolved_root and not resolved.is_relative_to(resolved_root):
        raise _refuse(f"The path '{path}' leaves its folder in the store; it is refused.", target)
    return Path(path)


def relative(path: Any, what: str = "path", target: str = "General") -> str:
    """A path inside a datastore, job output or artifact folder, normalised (``a/./b/`` -> ``a/b``).

    A leading ``/`` means the container's root, as in Azure Storage; ``..`` (which would climb out
    of the datastore) and NUL are refused.
    """
    text = "" if path is None else str(path)
    if "\x00" in text:
        raise _refuse(f"The {what} '{text!r}' contains a NUL character.", target)
    parts = [p for p in PurePosixPath("/" + text).parts[1:] if p not in ("", ".")]
    # A backslash is no separator here, but it is one to a reader on Windows: refuse '..\\' too.
    if any(".." in p.split("\\") for p in parts):
        raise _refuse(
            f"Invalid {what} '{text}': '..' is not allowed; a path must stay inside its datastore or folder.",
            target,
        )
    for part in parts:
        if len(part.encode("utf-8")) > MAX_FILE_NAME:
            raise _refuse(f"The {what} '{text[:60]}...' has a part over 255 bytes.", target)
    return "/".join(parts)


def file_name(name: str, suffix: str = ".yaml", prefix: str = "") -> str:
    """The file a record named ``name`` is kept in: ``<prefix><name><suffix>``, or, when that would
    pass the file-system limit (a valid 255-character name plus a suffix), a shortened name made
    unique by a hash of the full one. The record itself keeps the full name."""
    whole = f"{prefix}{name}{suffix}"
    if len(whole.encode("utf-8")) <= MAX_FILE_NAME:
        return whole
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
    keep = MAX_FILE_NAME - len(prefix.encode()) - len(suffix.encode()) - len(digest) - 1
    short = name.encode("utf-8")[:keep].decode("utf-8", errors="ignore")
    return f"{prefix}{short}-{digest}{suffix}"


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
    # The temporary name is bounded, so a record under a long valid name still fits the file system.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:200]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# The first line of every record: the length and SHA-256 of the rest, so a record damaged or cut
# short after it was written (a full disk, a copy interrupted, an editor) is found on read.
_HEADER = "# accelerator-record sha256={digest} length={length}\n"


class DamagedRecordError(HttpResponseError, ValueError):
    """A store record that cannot be trusted; the message names the file and where it was moved.

    A server-side error (500), as the service would answer; also a ``ValueError``, as the earlier
    local backend raised for a damaged record."""

    def __init__(self, path: Path, reason: str, moved_to: Path | None) -> None:
        where = f" It was moved aside to {moved_to.name} in the same folder." if moved_to else ""
        super().__init__(
            message=f"(InternalServerError) The local store record {path} is damaged: {reason}.{where} "
            "Recreate the resource (or restore the file) and try again."
        )
        self.path = path
        self.status_code = 500


def write_record(path: Path, record: dict[str, Any]) -> None:
    body = yaml.dump(plain(record), Dumper=_DUMPER, sort_keys=False)
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    write_text_atomic(path, _HEADER.format(digest=digest, length=len(body.encode("utf-8"))) + body)


def read_record(path: Path, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The record in ``path``, validated: its checksum (records written before checksums only by
    shape), a mapping, with the ``required`` keys. A damaged one is quarantined (renamed to a hidden
    ``.damaged-*`` file, which no listing sees) and named in a ``DamagedRecordError``."""
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        text = raw.decode("utf-8")
        first, _, body = text.partition("\n")
        if first.startswith("# accelerator-record "):
            fields = dict(f.split("=", 1) for f in first.split()[2:] if "=" in f)
            encoded = body.encode("utf-8")
            if str(len(encoded)) != fields.get("length") or hashlib.sha256(encoded).hexdigest() != fields.get(
                "sha256"
            ):
                raise ValueError("its content does not match its checksum (it was cut short or edited)")
        record = yaml.load(text, Loader=_LOADER)  # a safe loader: libyaml's when built
        if not isinstance(record, dict):
            raise ValueError("it is not a mapping")
        missing = [key for key in required if key not in record]
        if missing:
            raise ValueError(f"it lacks {', '.join(missing)}")
    except (UnicodeDecodeError, yaml.YAMLError, ValueError) as error:
        reason = str(error).splitlines()[0] if isinstance(error, ValueError) else f"{type(error).__name__}"
        raise DamagedRecordError(path, reason, quarantine(path)) from None
    return record


def quarantine(path: Path) -> Path | None:
    """Move a damaged record aside, keeping it for inspection; None if it is already gone."""
    target = path.with_name(file_name(f"{path.name}-{uuid.uuid4().hex[:8]}", "", ".damaged-"))
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return None
    return target


def records(folder: Path, pattern: str = "*.yaml") -> Iterator[Path]:
    """Record files in ``folder`` in name order, skipping temporary files of interrupted writes."""
    if not folder.is_dir():
        return iter(())
    sweep_leftovers(folder)  # temporary files of writes a killed process never finished
    return iter(sorted(p for p in folder.glob(pattern) if not p.name.startswith(".")))


def read_all(
    paths: Iterator[Path] | list[Path], required: tuple[str, ...] = ()
) -> list[tuple[Path, dict[str, Any]]]:
    """(path, record) of each readable record: a damaged one is quarantined with a warning naming
    it, so its neighbours still list."""
    found = []
    for path in paths:
        try:
            found.append((path, read_record(path, required)))
        except FileNotFoundError:  # deleted while we listed
            continue
        except DamagedRecordError as error:
            warnings.warn(str(error.message), stacklevel=2)
    return found


def sweep_leftovers(folder: Path, max_age: float = 3600.0) -> None:
    """Remove what interrupted writes and uploads left behind: ``.*.tmp`` files of atomic writes,
    ``.staging-*`` and ``.deleted-*`` folders. Only ones older than ``max_age`` seconds, so a write
    in progress in another process is never touched."""
    if not folder.is_dir():
        return
    horizon = time.time() - max_age
    for entry in folder.iterdir():
        name = entry.name
        if not (
            (name.startswith(".") and name.endswith(".tmp")) or name.startswith((".staging-", ".deleted-"))
        ):
            continue
        try:
            if entry.lstat().st_mtime > horizon:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        except FileNotFoundError:
            continue


def record_lock(path: Path, timeout: float = 120) -> FileLock:
    """The lock held around every read-modify-write of the record(s) guarded by ``path``.

    One lock object per file in a process (``is_singleton``), re-entrant in a thread and exclusive
    between threads and processes, so an update that calls another update of the same record
    does not deadlock, and two writers never undo each other."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(path, timeout=timeout, is_singleton=True)


def remove_tree(path: Path) -> None:
    """Delete a folder so that it disappears at once: rename it aside first, then remove it."""
    if not path.exists():
        return
    trash = path.with_name(f".deleted-{path.name}-{uuid.uuid4().hex[:8]}")
    os.replace(path, trash)
    shutil.rmtree(trash, ignore_errors=True)
