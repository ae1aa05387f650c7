"""The team's own production data, in the workspace's default datastore.

Each simulated day appends one parquet file per folder, partitioned by day
(``<folder>/day=<yyyy-mm-dd>/part.parquet``), written through fsspec on the
datastore's long-form ``azureml://subscriptions/.../datastores/<name>/paths/``
URI (azureml-fsspec on Azure; the local backend serves the same URIs).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import fsspec
import pandas as pd


def folder_uri(ml_client: Any, folder: str) -> str:
    """The long-form URI of ``folder`` in the workspace's default datastore."""
    store = ml_client.datastores.get_default().name
    return (
        f"azureml://subscriptions/{ml_client.subscription_id}/resourcegroups/"
        f"{ml_client.resource_group_name}/workspaces/{ml_client.workspace_name}"
        f"/datastores/{store}/paths/{folder.strip('/')}/"
    )


def short_uri(folder: str, store: str = "workspaceblobstore") -> str:
    """``azureml://datastores/<store>/paths/<folder>/``: a monitor's input."""
    return f"azureml://datastores/{store}/paths/{folder.strip('/')}/"


def append_day(
    ml_client: Any, folder: str, day: dt.date, rows: pd.DataFrame
) -> str:
    """Write ``rows`` as ``day``'s partition of ``folder`` (a rerun
    replaces it); the file's path in the datastore."""
    fs, root = fsspec.core.url_to_fs(folder_uri(ml_client, folder))
    partition = f"{root.rstrip('/')}/day={day:%Y-%m-%d}"
    fs.makedirs(partition, exist_ok=True)
    with fs.open(f"{partition}/part.parquet", "wb") as handle:
        rows.to_parquet(handle, index=False)
    return f"{folder.strip('/')}/day={day:%Y-%m-%d}/part.parquet"
