"""``creation_context`` (the service's ``systemData``) of what the local backend stores.

Azure ML answers every job, model and asset version with who created it and when, and samples
print or sort by it (``job.creation_context.created_at``). The local backend records its creator
when it writes a record: the person running it, as a ``User`` identity.
"""

from __future__ import annotations

import datetime as dt
import getpass
from typing import Any

from azure.ai.ml.entities import SystemData


def identity() -> str:
    """Who creates records here: the login name of this machine's user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "local-user"


def _moment(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, (int, float)):  # MLflow keeps milliseconds since the epoch
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.timezone.utc)
    return dt.datetime.fromisoformat(str(value))


def system_data(created_at: Any, created_by: str | None = None, modified_at: Any = None) -> SystemData:
    """The ``SystemData`` the SDK builds from the service's answer (created and last modified)."""
    creator = created_by or identity()
    created = _moment(created_at)
    return SystemData(
        created_by=creator,
        created_by_type="User",
        created_at=created,
        last_modified_by=creator,
        last_modified_by_type="User",
        last_modified_at=_moment(modified_at) or created,
    )
