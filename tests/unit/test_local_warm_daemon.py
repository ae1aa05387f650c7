"""The store's warm daemon (accelerator/local/_execution/_warm.py): it forks every job's runner and
steps, lives in a session of its own, stops when idle or told to, and a job never depends on it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
import pytest
from azure.ai.ml import command
from job_waits import finish

from accelerator.local import LocalMLClient, stop_endpoints
from accelerator.local._execution import _warm

pytestmark = pytest.mark.usefixtures("no_stray_processes")

# The script reports the process that forked it.
REPORT = "import os\nprint('script-parent', os.getppid())\n"


def _job(tmp_path: Path, script: str = REPORT, line: str = "python report.py"):
    code = tmp_path / "src"
    code.mkdir(exist_ok=True)
    (code / "report.py").write_text(script)
    return command(code=str(code), command=line, environment="azureml:taxi-train:1", compute="cpu-cluster")


def _log(client: LocalMLClient, name: str) -> str:
    return client.jobs._records.log(name).read_text()


def _daemons(client: LocalMLClient) -> list[psutil.Process]:
    return _warm.daemons(client._scope.home)


def _runner(client: LocalMLClient, name: str) -> tuple[int, int, bool]:
    """The job's runner, as its record has it: pid, parent pid, and whether it leads its session."""
    pid = client.jobs._records.get(name)["runner"]["pid"]
    return pid, psutil.Process(pid).ppid(), os.getsid(pid) == pid


def _script_parent(client: LocalMLClient, name: str) -> int:
    return int(_log(client, name).split("script-parent ", 1)[1].split()[0])


def test_one_daemon_forks_the_runners_of_a_store(jobs_client: LocalMLClient, tmp_path: Path) -> None:
    sleeper = "import os, time\nprint('script-parent', os.getppid(), flush=True)\ntime.sleep(3)\n"
    runners, scripts = [], []
    for _ in range(2):
        name = jobs_client.jobs.create_or_update(_job(tmp_path, sleeper)).name
        time.sleep(1)
        runners.append(_runner(jobs_client, name))  # while it runs
        command_line = psutil.Process(runners[-1][0]).cmdline()
        assert command_line[1:3] == ["-m", "accelerator.local._execution._runner"]  # as ps shows it
        assert finish(jobs_client, name) == "Completed", _log(jobs_client, name)
        scripts.append(_script_parent(jobs_client, name))
    (daemon,) = _daemons(jobs_client)
    # One daemon forked both runners and both scripts; each runner leads a session of its own (its
    # group is what begin_cancel stops, as a cold runner's), and so does the daemon (the store's,
    # not the submitting process's).
    assert [(parent, session) for _, parent, session in runners] == [(daemon.pid, True)] * 2
    assert runners[0][0] != runners[1][0]
    assert scripts == [daemon.pid, daemon.pid]
    assert os.getsid(daemon.pid) == daemon.pid
    # The daemon writes only in the store: its shims, under <store>/warm/.
    assert [p.name for p in (jobs_client._scope.home / "warm").iterdir()] == [Path(daemon.cmdline()[-2]).name]


def test_the_daemon_stops_once_idle(
    jobs_client: LocalMLClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_warm.IDLE_VARIABLE, "1")  # the daemon takes it from the process starting it
    name = jobs_client.jobs.create_or_update(_job(tmp_path, "print('done')\n")).name
    assert finish(jobs_client, name) == "Completed"
    daemons = _daemons(jobs_client)
    assert not psutil.wait_procs(daemons, timeout=30)[1]


def test_stop_endpoints_stops_the_daemon(jobs_client: LocalMLClient, tmp_path: Path) -> None:
    name = jobs_client.jobs.create_or_update(_job(tmp_path, "print('done')\n")).name
    assert finish(jobs_client, name) == "Completed"
    assert _daemons(jobs_client)
    stop_endpoints(jobs_client._scope.home)  # what the book's run does at its end
    assert not _daemons(jobs_client)


def test_a_daemon_killed_mid_job_fails_its_step_and_the_next_job_runs(
    jobs_client: LocalMLClient, tmp_path: Path, processes
) -> None:
    marker = f"daemon-kill-{os.getpid()}-{time.monotonic_ns()}"
    sleeper = _job(tmp_path, "import time\ntime.sleep(60)\n", f"python report.py {marker}")
    name = jobs_client.jobs.create_or_update(sleeper).name
    scripts = processes.wait_for(marker, count=2)  # the shell and the script's python
    (daemon,) = _daemons(jobs_client)
    daemon.send_signal(signal.SIGKILL)  # as a node lost: what ran on it goes with it
    assert finish(jobs_client, name) == "Failed"
    assert processes.ended(scripts)
    again = jobs_client.jobs.create_or_update(_job(tmp_path)).name
    assert finish(jobs_client, again) == "Completed", _log(jobs_client, again)


def test_turned_off_no_daemon_starts(
    jobs_client: LocalMLClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_warm.SETTING, "0")
    sleeper = "import os, time\nprint('script-parent', os.getppid(), flush=True)\ntime.sleep(3)\n"
    name = jobs_client.jobs.create_or_update(_job(tmp_path, sleeper)).name
    time.sleep(1)
    _, parent, session = _runner(jobs_client, name)
    assert (parent, session) == (os.getpid(), True)  # a new interpreter this process started
    assert finish(jobs_client, name) == "Completed", _log(jobs_client, name)
    assert not _daemons(jobs_client)


@pytest.mark.skipif(os.geteuid() != 0, reason="binding the address as another user needs root")
def test_a_socket_another_user_bound_never_gets_a_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The daemon's address is derived, not secret: whoever binds it first must not receive the
    # environment a runner request carries. The client checks the server's user, and starts cold.
    import subprocess
    import sys

    monkeypatch.chdir(tmp_path)  # were a request ever answered, its runner would work in tmp_path
    home = tmp_path / "store"
    address, _ = _warm.daemon_address(home)
    squatter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, socket\n"
            "os.setuid(65534)\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
            f"s.bind('\\0' + {address[1:]!r}); s.listen(1)\n"
            "print('ready', flush=True)\n"
            "c, _ = s.accept()\n"
            "print('received', len(c.recv(1 << 16)), flush=True)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert squatter.stdout is not None and squatter.stdout.readline().strip() == "ready"
        assert _warm.spawn_runner(home, [str(tmp_path / "workspace"), "job"], tmp_path / "runner.log") is None
        assert squatter.stdout.readline().strip() == "received 0"
    finally:
        squatter.kill()
        squatter.wait()
    assert not _warm.daemons(home)
