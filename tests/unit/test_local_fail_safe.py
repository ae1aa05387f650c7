"""Fail safe: a job's script dies with its runner, no job stays Queued without one, damaged records
are named and quarantined, leftovers of interrupted writes are cleaned up, and a recycled pid is
never signalled."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
import warnings
from pathlib import Path

import psutil
import pytest
from azure.ai.ml import command
from azure.ai.ml.entities import Data

from accelerator.local import LocalMLClient
from accelerator.local._execution import _process
from accelerator.local._execution._records import JobRecords
from accelerator.local._local_endpoints._server import InferenceServer
from accelerator.local._store import DamagedRecordError, read_record, records, sweep_leftovers, write_record

SLEEPER = "import sys, time\nprint('sleeping', sys.argv[1], flush=True)\ntime.sleep(60)\n"


def _sleeper_job(tmp_path: Path, marker: str, line: str | None = None):
    code = tmp_path / "src"
    code.mkdir(exist_ok=True)
    (code / "sleeper.py").write_text(SLEEPER)
    return command(
        code=str(code),
        command=line or f"python sleeper.py {marker}",
        environment="azureml:taxi-train:1",
        compute="cpu-cluster",
    )


def _wait_status(client: LocalMLClient, name: str, wanted: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    status = client.jobs.get(name).status
    while status != wanted and time.monotonic() < deadline:
        time.sleep(0.2)
        status = client.jobs.get(name).status
    return status


# A job's runner and its script live and die together ---------------------------------------------


@pytest.mark.parametrize("shell", [False, True], ids=["script", "script-in-a-compound-shell-command"])
def test_kill_9_of_the_runner_alone_stops_its_script(
    jobs_client: LocalMLClient, processes, tmp_path: Path, shell: bool
) -> None:
    marker = f"orphan-{uuid.uuid4().hex}"
    # A compound command keeps bash as the script's parent: the guard must stop the whole group.
    line = f"echo start; python sleeper.py {marker}; echo end" if shell else None
    submitted = jobs_client.jobs.create_or_update(_sleeper_job(tmp_path, marker, line))
    scripts = processes.wait_for(marker)
    runner = JobRecords(jobs_client._scope.require_workspace()).get(submitted.name)["runner"]["pid"]

    os.kill(runner, signal.SIGKILL)  # the runner only, not its process group
    assert processes.ended(scripts, timeout=15)
    assert processes.with_marker(marker) == []
    assert _wait_status(jobs_client, submitted.name, "Failed") == "Failed"


def test_a_job_whose_runner_never_started_does_not_stay_queued(
    jobs_client: LocalMLClient, tmp_path: Path
) -> None:
    records = JobRecords(jobs_client._scope.require_workspace())
    name = f"never-run-{uuid.uuid4().hex[:8]}"
    created = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)).isoformat()
    job = jobs_client.jobs.create_or_update(_sleeper_job(tmp_path, "x", "echo hi"))
    # The record a submitting process left when it died before it could start the runner.
    record = records.get(job.name)
    record.update(name=name, status="Queued", created=created, runner=None)
    records.create(record)
    assert jobs_client.jobs.get(name).status == "Failed"
    assert "runner stopped" in records.get(name)["error"]
    _wait_status(jobs_client, job.name, "Completed")


def test_a_just_submitted_job_without_a_runner_yet_stays_queued(
    jobs_client: LocalMLClient, tmp_path: Path
) -> None:
    records = JobRecords(jobs_client._scope.require_workspace())
    job = jobs_client.jobs.create_or_update(_sleeper_job(tmp_path, "x", "echo hi"))
    record = records.get(job.name)
    record.update(name=f"fresh-{uuid.uuid4().hex[:8]}", status="Queued", runner=None)
    record["created"] = dt.datetime.now(dt.timezone.utc).isoformat()
    records.create(record)
    assert jobs_client.jobs.get(record["name"]).status == "Queued"
    _wait_status(jobs_client, job.name, "Completed")


# A recycled pid is never signalled ----------------------------------------------------------------


def _bystander() -> subprocess.Popen[bytes]:
    """A process that merely has the pid a record names (as if the pid had been recycled)."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)


def test_a_recycled_pid_is_never_signalled(tmp_path: Path) -> None:
    bystander = _bystander()
    try:
        real_start = psutil.Process(bystander.pid).create_time()
        # The record says the process started a minute earlier: it is not the one that was started.
        server = InferenceServer(bystander.pid, 1, tmp_path / "log", started=real_start - 60)
        assert server.recycled() and not server.alive()
        server.stop(grace=0.5)
        _process.stop_group(bystander.pid, real_start - 60, grace=0.5)
        time.sleep(0.3)
        assert bystander.poll() is None, "a process that merely reuses the pid was signalled"
        # The process really started is stopped.
        InferenceServer(bystander.pid, 1, tmp_path / "log", started=real_start).stop(grace=5)
        assert bystander.wait(timeout=10) is not None
    finally:
        if bystander.poll() is None:
            bystander.kill()
            bystander.wait()


# Records validated on read, damaged ones quarantined ----------------------------------------------


def _register(client: LocalMLClient, tmp_path: Path, name: str, version: str) -> None:
    file = tmp_path / f"{name}-{version}.csv"
    file.write_text(f"a\n{version}\n")
    client.data.create_or_update(Data(name=name, version=version, path=str(file), type="uri_file"))


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # cut short: still valid YAML, caught by the checksum
        lambda text: text.replace("uri_file", "uri_folder"),  # edited in place
        lambda text: "{{{ not yaml",
        lambda text: "- a list\n",
    ],
    ids=["truncated", "edited", "not-yaml", "not-a-mapping"],
)
def test_a_damaged_record_is_named_quarantined_and_its_neighbours_still_list(
    ml_client: LocalMLClient, tmp_path: Path, damage
) -> None:
    _register(ml_client, tmp_path, "trips", "1")
    _register(ml_client, tmp_path, "trips", "2")
    _register(ml_client, tmp_path, "zones", "1")
    folder = ml_client._scope.require_workspace() / "data" / "trips"
    record = folder / "2.yaml"
    record.write_text(damage(record.read_text()))

    with pytest.raises(DamagedRecordError) as raised:
        ml_client.data.get("trips", version="2")
    assert str(record) in raised.value.message and raised.value.status_code == 500
    assert not record.exists()
    assert [p.name for p in folder.iterdir() if p.name.startswith(".damaged-2.yaml")]
    # The neighbours: the other version, the other asset, the group's listing.
    assert ml_client.data.get("trips", version="1").version == "1"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert sorted(d.name for d in ml_client.data.list()) == ["trips", "zones"]
        assert [d.version for d in ml_client.data.list(name="trips")] == ["1"]


def test_a_damaged_record_found_while_listing_is_named_in_a_warning(
    ml_client: LocalMLClient, tmp_path: Path
) -> None:
    _register(ml_client, tmp_path, "trips", "1")
    _register(ml_client, tmp_path, "zones", "1")
    damaged = ml_client._scope.require_workspace() / "data" / "zones" / "1.yaml"
    damaged.write_text(damaged.read_text()[:40])
    with pytest.warns(UserWarning, match=r"zones/1\.yaml is damaged"):
        assert [d.name for d in ml_client.data.list()] == ["trips"]


def test_records_written_before_checksums_are_still_read(tmp_path: Path) -> None:
    legacy = tmp_path / "old.yaml"
    legacy.write_text("name: x\nversion: '1'\nentity: {}\n")
    assert read_record(legacy, ("name", "version", "entity"))["name"] == "x"
    with pytest.raises(DamagedRecordError, match="lacks entity"):
        legacy.write_text("name: x\nversion: '1'\n")
        read_record(legacy, ("name", "version", "entity"))


# Leftovers of interrupted writes ------------------------------------------------------------------


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_leftovers_of_interrupted_writes_are_cleaned_up(ml_client: LocalMLClient, tmp_path: Path) -> None:
    workspace = ml_client._scope.require_workspace()
    upload = workspace / "storage" / "workspaceblobstore" / "LocalUpload"
    stale_staging = upload / ".staging-0123456789abcdef-deadbeef"
    (stale_staging / "part").mkdir(parents=True)
    (stale_staging / "part" / "half.csv").write_text("a\n")
    _age(stale_staging, 7200)
    fresh_staging = upload / ".staging-fedcba9876543210-0badf00d"  # an upload in progress elsewhere
    fresh_staging.mkdir()
    folder = workspace / "data" / "trips"
    folder.mkdir(parents=True)
    stale_tmp = folder / ".1.yaml.abcd1234.tmp"
    stale_tmp.write_text("name: half")
    _age(stale_tmp, 7200)

    _register(ml_client, tmp_path, "trips", "1")  # an upload and a listing of the folder
    assert [r.name for r in records(folder)] == ["1.yaml"]
    assert not stale_staging.exists() and not stale_tmp.exists()
    assert fresh_staging.exists()


def test_sweep_leftovers_touches_only_leftovers(tmp_path: Path) -> None:
    keep = [tmp_path / "1.yaml", tmp_path / ".lock", tmp_path / ".damaged-1.yaml-0a1b2c3d"]
    gone = [tmp_path / ".2.yaml.x1.tmp", tmp_path / ".deleted-ep-12345678"]
    write_record(keep[0], {"name": "x"})
    for path in keep[1:] + gone[:1]:
        path.write_text("x")
    gone[1].mkdir()
    for path in keep + gone:
        _age(path, 7200)
    sweep_leftovers(tmp_path)
    assert all(p.exists() for p in keep) and not any(p.exists() for p in gone)
