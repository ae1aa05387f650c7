"""The data a monitor run reads: data windows, data assets, and the model data collector's files.

- Data windows as the SDK sets them (``MonitorSchedule._to_rest_object``): a trailing window of
  ``lookback_window_size`` ending ``lookback_window_offset`` before the run's trigger time, or a
  static ``window_start``..``window_end``, or the whole asset (fixed reference data).
- Collected inference data (``modelDataCollector/<endpoint>/<deployment>/<collection>/yyyy/MM/dd/HH``)
  is read as the service's ``model_data_collector_preprocessor`` reads it (``run.py``:
  ``_raw_mdc_uri_folder_to_mltable`` keeps the hour partitions from the window's start hour to its
  end hour, both included; each request's rows get the correlation id ``<correlationid>_<row>``).
- Other assets: ``uri_file`` (csv, parquet, jsonl), ``uri_folder`` of such files, and ``mltable``
  with ``paths`` (file, folder, pattern) and one ``read_delimited``/``read_parquet``/
  ``read_json_lines`` transformation.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from typing import Any

import fsspec
import isodate
import pandas as pd
import yaml
from azure.ai.ml.exceptions import ErrorTarget

from accelerator.local._exceptions import LocalBackendUnsupportedError, user_error
from accelerator.local._monitoring._metrics import MonitoringComputationError

MDC_FOLDER = "modelDataCollector"
CORRELATION_ID = "correlationid"


def duration(text: str | None, what: str) -> dt.timedelta:
    """An ISO 8601 duration (``P7D``, ``PT12H``) as a timedelta; a clear error otherwise."""
    try:
        value = isodate.parse_duration(str(text))
    except (isodate.ISO8601Error, ValueError, TypeError):
        raise MonitoringComputationError(
            f"{what} must be an ISO 8601 duration such as P7D or PT12H, not {text!r}."
        ) from None
    if not isinstance(value, dt.timedelta) or value < dt.timedelta(0):
        raise MonitoringComputationError(
            f"{what} must be a positive duration in days or hours, not {text!r}."
        )
    return value


def window(data_window: Any, trigger_time: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """(start, end) of a ``BaselineDataRange`` at ``trigger_time``; None for the whole asset."""
    if data_window is None:
        return None
    if data_window.window_start or data_window.window_end:
        if not (data_window.window_start and data_window.window_end):
            raise MonitoringComputationError("A static data window needs both window_start and window_end.")
        start = _utc(pd.Timestamp(data_window.window_start).to_pydatetime())
        end = _utc(pd.Timestamp(data_window.window_end).to_pydatetime())
        if end < start:
            raise MonitoringComputationError(f"The data window ends ({end:%Y-%m-%d}) before it starts.")
        return start, end
    if not data_window.lookback_window_size:
        return None
    size = duration(data_window.lookback_window_size, "lookback_window_size")
    offset = duration(data_window.lookback_window_offset or "P0D", "lookback_window_offset")
    end = _utc(trigger_time) - offset
    return end - size, end


def _utc(moment: dt.datetime) -> dt.datetime:
    return (
        moment.replace(tzinfo=dt.timezone.utc)
        if moment.tzinfo is None
        else moment.astimezone(dt.timezone.utc)
    )


def asset_location(ml_client: Any, path: str) -> tuple[str, str]:
    """(type, long-form azureml:// or local path) of an input's path: a data asset or a URI."""
    text = str(path)
    reference = text.removeprefix("azureml:") if not text.startswith("azureml://") else None
    if reference is not None and "://" not in reference and ":" in reference:
        name, _, version = reference.partition(":")
        if version.startswith("@"):
            raise LocalBackendUnsupportedError("data asset labels in monitor inputs", "Give a version.")
        data = ml_client.data.get(name, version)
        return str(data.type), str(data.path)
    if text.startswith("azureml://datastores/") and "/paths/" in text:
        scope = ml_client._scope
        long = scope.datastore_uri(*text.removeprefix("azureml://datastores/").split("/paths/", 1))
        return "uri_folder" if text.endswith("/") else "uri_file", long
    if text.startswith("azureml://subscriptions/") and "/datastores/" in text:
        return "uri_folder" if text.endswith("/") else "uri_file", text
    # A monitor reads what the workspace holds: on Azure the SDK uploads a local path as an asset
    # when the schedule is created; here it must be registered first, and no other path is read.
    raise user_error(
        f"Monitor input '{text}' is neither a data asset (azureml:<name>:<version>) nor a "
        "datastore path (azureml://datastores/<name>/paths/<path>): register it with "
        "ml_client.data.create_or_update first.",
        ErrorTarget.SCHEDULE,
    )


def read_input(
    ml_client: Any,
    path: str,
    span: tuple[dt.datetime, dt.datetime] | None,
    *,
    correlation_ids: bool = False,
) -> pd.DataFrame:
    """The rows of an input within its window (collected data) or whole (any other asset)."""
    kind, location = asset_location(ml_client, path)
    fs, root = fsspec.core.url_to_fs(location)
    if f"/{MDC_FOLDER}/" in f"/{location}":
        return _collected(fs, root.rstrip("/"), span, correlation_ids)
    if kind == "mltable":
        return _mltable(fs, root.rstrip("/"))
    if kind == "uri_folder" or fs.isdir(root):
        files = sorted(
            f for f in fs.find(root) if f.rsplit(".", 1)[-1].lower() in ("csv", "parquet", "jsonl")
        )
        if not files:
            raise MonitoringComputationError(f"The input {path} has no csv, parquet or jsonl files.")
        return pd.concat([_file(fs, f) for f in files], ignore_index=True)
    return _file(fs, root)


def _file(fs: Any, path: str, kind: str | None = None) -> pd.DataFrame:
    kind = kind or path.rsplit(".", 1)[-1].lower()
    with fs.open(path, "rb") as handle:
        if kind == "parquet":
            return pd.read_parquet(handle)
        if kind == "csv":
            return pd.read_csv(handle)
        if kind == "jsonl":
            return pd.read_json(handle, lines=True)
    raise LocalBackendUnsupportedError(f"reading {path}", "Use csv, parquet or jsonl files.")


def _mltable(fs: Any, folder: str) -> pd.DataFrame:
    """An MLTable folder: its ``paths`` read with its one reading transformation."""
    spec = yaml.safe_load(fs.cat_file(f"{folder}/MLTable"))
    readers = {"read_delimited": "csv", "read_parquet": "parquet", "read_json_lines": "jsonl"}
    steps = [next(iter(t)) if isinstance(t, dict) else t for t in spec.get("transformations") or []]
    kinds = [readers[s] for s in steps if s in readers]
    if len(kinds) != 1 or len(steps) != 1:
        raise LocalBackendUnsupportedError(
            "MLTable transformations other than one read_delimited, read_parquet or read_json_lines"
        )
    frames = []
    for entry in spec.get("paths") or []:
        ((key, value),) = entry.items()
        target = f"{folder}/{value}" if "://" not in str(value) else fsspec.core.url_to_fs(value)[1]
        if key == "file":
            names = [target]
        elif key == "folder":
            names = sorted(f for f in fs.find(target))
        else:
            names = sorted(fs.glob(target))
        frames += [_file(fs, name, kinds[0]) for name in names]
    if not frames:
        raise MonitoringComputationError(f"The MLTable at {folder} names no files.")
    return pd.concat(frames, ignore_index=True)


def _collected(
    fs: Any, root: str, span: tuple[dt.datetime, dt.datetime] | None, correlation_ids: bool
) -> pd.DataFrame:
    """The rows the model data collector kept in the window's hour partitions."""
    rows: list[dict[str, Any]] = []
    for path in sorted(fs.glob(f"{root}/*/*/*/*/*.jsonl")):
        parts = path[len(root) + 1 :].split("/")
        try:
            hour = dt.datetime(
                int(parts[0]), int(parts[1]), int(parts[2]), int(parts[3]), tzinfo=dt.timezone.utc
            )
        except ValueError:
            continue
        if span is not None and not (_hour(span[0]) <= hour <= _hour(span[1])):
            continue
        for line in fs.cat_file(path).decode("utf-8").splitlines():
            if not line.strip():
                continue
            event = json.loads(line)
            data = event.get("data")
            if isinstance(data, str):
                data = json.loads(data)
            if isinstance(data, dict):
                data = [data]
            for index, row in enumerate(data or []):
                row = dict(row)
                if correlation_ids:
                    row[CORRELATION_ID] = f"{event.get(CORRELATION_ID)}_{index}"
                rows.append(row)
    return pd.DataFrame(rows)


def _hour(moment: dt.datetime) -> dt.datetime:
    return _utc(moment).replace(minute=0, second=0, microsecond=0)


# -- production data the team brings itself ------------------------------------------------------
# Azure ML's documented route for production data the model data collector did not collect
# ("Set up model monitoring by bringing your production data to Azure Machine Learning",
# learn.microsoft.com how-to-monitor-model-performance): ``ProductionData(input_data=...,
# pre_processing_component="azureml:<name>:<version>")``, where the component takes
# ``data_window_start`` and ``data_window_end`` (ISO 8601 strings), ``input_data`` (the asset) and
# writes the window's rows to ``preprocessed_input_data`` (an MLTable). The service runs it in each
# monitor run before the signals; locally it runs as a command job of the same workspace.
PREPROCESS_INPUTS = ("data_window_start", "data_window_end", "input_data")
PREPROCESS_OUTPUT = "preprocessed_input_data"


def _component(ml_client: Any, reference: str) -> Any:
    text = str(reference).removeprefix("azureml:")
    name, _, version = text.partition(":")
    if "/" in text or not name or not version or version.startswith("@"):
        raise user_error(
            f"pre_processing_component must be a component version, "
            f"azureml:<name>:<version>, not '{reference}'.",
            ErrorTarget.SCHEDULE,
        )
    component = ml_client.components.get(name, version)
    missing = [i for i in PREPROCESS_INPUTS if i not in (component.inputs or {})]
    if missing or PREPROCESS_OUTPUT not in (component.outputs or {}):
        raise user_error(
            f"The pre-processing component {name}:{version} must take the inputs "
            f"{', '.join(PREPROCESS_INPUTS)} and write the output {PREPROCESS_OUTPUT}.",
            ErrorTarget.SCHEDULE,
        )
    return component


class Pending:
    """A pre-processing job submitted ahead of the signal that reads it."""

    def __init__(self, job_name: str) -> None:
        self.job_name = job_name


def submit_preprocessing(
    ml_client: Any, reference: str, path: str, span: tuple[dt.datetime, dt.datetime] | None
) -> Pending:
    """Submit the pre-processing component's job for ``path`` in the window ``span``."""
    from azure.ai.ml import Input, Output

    if span is None:
        raise MonitoringComputationError("A pre-processing component needs a data window.")
    component = _component(ml_client, reference)
    kind, _ = asset_location(ml_client, path)  # refuses paths outside the workspace first
    node = component(
        data_window_start=span[0].strftime("%Y-%m-%dT%H:%M:%SZ"),
        data_window_end=span[1].strftime("%Y-%m-%dT%H:%M:%SZ"),
        input_data=Input(type=kind if kind in ("uri_folder", "mltable") else "uri_folder", path=path),
    )
    # A standalone job of a component needs the component's environment on the job itself (the
    # SDK's CommandJob validation), as ``command(component=...)`` submissions do.
    node.environment = component.environment
    node.display_name = f"monitoring data {span[0]:%Y-%m-%d %H:%M}..{span[1]:%Y-%m-%d %H:%M}"
    # A node's unbound outputs are dropped by ``_to_job``: the job declares the component's one.
    standalone = node._to_job()
    standalone.outputs = {PREPROCESS_OUTPUT: Output(type="mltable")}
    job = ml_client.jobs.create_or_update(standalone, experiment_name="model-monitoring-preprocessing")
    return Pending(job.name)


def preprocessed_rows(ml_client: Any, pending: Pending) -> pd.DataFrame:
    """The rows a submitted pre-processing job kept, once it has ended."""
    import tempfile
    from pathlib import Path

    name = pending.job_name
    try:
        # Waited for, not shown: a monitor run prints nothing where it is triggered, as on Azure.
        with contextlib.redirect_stdout(io.StringIO()):
            ml_client.jobs.stream(name)
    except Exception as error:  # the job's own failure, reported as the signal's
        raise MonitoringComputationError(f"The pre-processing job {name} failed: {error}") from None
    with tempfile.TemporaryDirectory(prefix="monitor-preprocessed-") as folder:
        ml_client.jobs.download(name, download_path=folder, output_name=PREPROCESS_OUTPUT)
        table = Path(folder) / "named-outputs" / PREPROCESS_OUTPUT
        if not (table / "MLTable").is_file():
            raise MonitoringComputationError(
                f"The pre-processing job {name} wrote no MLTable to {PREPROCESS_OUTPUT}."
            )
        fs, root = fsspec.core.url_to_fs(str(table))
        return _mltable(fs, root)


def preprocessed(
    ml_client: Any, reference: str, path: str, span: tuple[dt.datetime, dt.datetime] | None
) -> pd.DataFrame:
    """The rows the pre-processing component keeps of ``path`` in the window ``span``."""
    return preprocessed_rows(ml_client, submit_preprocessing(ml_client, reference, path, span))
