"""Register a data asset version only when its content changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from azure.ai.ml.entities import Data
from azure.core.exceptions import ResourceNotFoundError

from accelerator._hashing import fingerprint

CONTENT_TAG = "content_sha256"


def version_with_content(ml_client: Any, name: str, path: str | Path) -> tuple[Data | None, str]:
    """(the version of data asset ``name`` whose content is that of the local file or folder
    ``path``, or None; the content's sha256). The hash is what the ``content_sha256`` tag of each
    version registered this way holds, so a landing notebook re-run registers nothing new."""
    local = Path(str(path))
    if not local.exists():
        raise FileNotFoundError(f"Nothing to register: {local} does not exist.")
    content = fingerprint(local.resolve().as_posix())
    for existing in _versions(ml_client, name):
        if (existing.tags or {}).get(CONTENT_TAG) == content:
            return ml_client.data.get(name, version=existing.version), content
    return None, content


def register_data(ml_client: Any, data: Data) -> Data:
    """Register ``data`` (a local file or folder) as a new version, unless one has the same content.

    The content's sha256 is kept in the ``content_sha256`` tag; a version with the same tag is
    returned as it is. Re-running a landing notebook therefore registers nothing new, while
    landing other data adds the next version (auto-incremented, as Azure ML does). Works the
    same with ``azure.ai.ml.MLClient`` and the local client.
    """
    same, content = version_with_content(ml_client, data.name, data.path)
    if same is not None:
        return same
    data.tags = {**(data.tags or {}), CONTENT_TAG: content}
    data.version = None
    return ml_client.data.create_or_update(data)


def _versions(ml_client: Any, name: str) -> list[Data]:
    # The service may answer "not found" for a name with no versions yet, rather than an empty list.
    try:
        return list(ml_client.data.list(name=name))
    except ResourceNotFoundError:
        return []
