"""Warm job processes: a job's ``python`` forked from a server that has imported the workload's
libraries behaves as a separate ``python`` process would (see accelerator/local/_execution/_warm.py)."""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from accelerator.local._execution._warm import SETTING, SHIM, WarmServer, parse_command_line

SCRIPT = """\
import os, sys
print("warm" if os.environ.get("WARM_SERVER") == str(os.getppid()) else "cold")
print("argv", sys.argv)
print("name", __name__)
print("cwd", os.getcwd())
print("path0", sys.path[0])
print("variable", os.environ.get("JOB_VARIABLE"))
print("stdin", sys.stdin.read().strip())
print("to stderr", file=sys.stderr)
sys.exit(int(sys.argv[1]))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WarmServer]:
    warm = WarmServer(tmp_path_factory.mktemp("warm"))
    warm.start()
    yield warm
    warm.stop()
    assert warm.process is not None and warm.process.poll() is not None


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "job.py").write_text(SCRIPT)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "tool.py").write_text(
        "import sys\nprint('module', __name__, sys.argv[1:])\nraise SystemExit('bad input: no rows')\n"
    )
    return tmp_path


def _run(server: WarmServer, workdir: Path, line: str, **env: str) -> subprocess.CompletedProcess[str]:
    assert server.process is not None
    variables = {"JOB_VARIABLE": "from-the-job", "WARM_SERVER": str(server.process.pid), **env}
    environment = server.environment({**os.environ, **variables})
    return subprocess.run(
        ["/bin/bash", "-c", line],
        cwd=workdir,
        env=environment,
        input="the job's stdin\n",
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_script_runs_as_python_would(server: WarmServer, workdir: Path) -> None:
    result = _run(server, workdir, "python job.py 0 --flag 'two words'")
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stderr
    assert lines[0] == "warm"  # forked by the server
    assert lines[1:] == [
        "argv ['job.py', '0', '--flag', 'two words']",
        "name __main__",
        f"cwd {workdir}",
        f"path0 {workdir}",
        "variable from-the-job",
        "stdin the job's stdin",
    ]
    assert result.stderr == "to stderr\n"


def test_exit_codes_and_errors_are_the_scripts(server: WarmServer, workdir: Path) -> None:
    assert _run(server, workdir, "python job.py 3").returncode == 3
    failed = _run(server, workdir, "python -c 'import sys; print(sys.argv); 1/0' extra")
    assert failed.returncode == 1
    assert failed.stdout == "['-c', 'extra']\n"
    assert "ZeroDivisionError: division by zero" in failed.stderr
    module = _run(server, workdir, "python -m pkg.tool a b")
    assert module.stdout == "module __main__ ['a', 'b']\n"
    assert module.stderr == "bad input: no rows\n" and module.returncode == 1


def test_what_the_server_does_not_emulate_runs_cold(server: WarmServer, workdir: Path) -> None:
    result = _run(server, workdir, "python -X utf8 job.py 0")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == "cold"
    assert parse_command_line(["-X", "utf8", "job.py"]) is None
    assert parse_command_line(["-u", "job.py", "-X"]) == {
        "script": "job.py",
        "args": ["-X"],
        "unbuffered": True,
    }


def test_turned_off_every_python_is_cold(server: WarmServer, workdir: Path) -> None:
    result = _run(server, workdir, "python job.py 0", **{SETTING: "0"})
    assert result.stdout.splitlines()[0] == "cold"


def test_signals_are_as_a_fresh_interpreter_has_them(server: WarmServer, workdir: Path) -> None:
    # A worker of a ProcessPoolExecutor that died must give its driver a BrokenPipeError, not
    # kill it by SIGPIPE (exit 141), as in a cold python.
    (workdir / "signals.py").write_text(
        "import os, signal as s\n"
        'print("warm" if os.environ.get("WARM_SERVER") == str(os.getppid()) else "cold")\n'
        "print([s.getsignal(n) for n in (s.SIGPIPE, s.SIGXFSZ, s.SIGTERM, s.SIGHUP, s.SIGCHLD)])\n"
        "print(s.getsignal(s.SIGINT) is s.default_int_handler)\n"
        "print(s.pthread_sigmask(s.SIG_BLOCK, []))\n"  # nothing blocked: a stop signal is never held back
    )
    line = "python signals.py"
    warm = _run(server, workdir, line).stdout.splitlines()
    cold = _run(server, workdir, line, **{SETTING: "0"}).stdout.splitlines()
    assert (warm[0], cold[0]) == ("warm", "cold")
    assert warm[1:] == cold[1:]


def test_children_do_not_share_random_state(server: WarmServer, workdir: Path) -> None:
    line = "python -c 'import numpy, random; print(numpy.random.random(), random.random())'"
    first, second = (_run(server, workdir, line).stdout for _ in range(2))
    assert first != second


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_a_stopped_python_stops_its_script(server: WarmServer, workdir: Path, how: int) -> None:
    shim = subprocess.Popen(
        [
            str(server.bin / "python"),
            "-c",
            "import os, time; print(os.getpid(), flush=True); time.sleep(600)",
        ],
        cwd=workdir,
        env=server.environment(dict(os.environ)),
        stdout=subprocess.PIPE,
    )
    assert shim.stdout is not None
    child = psutil.Process(int(shim.stdout.readline()))
    assert child.ppid() == server.process.pid  # forked by the server, not exec'd by the shim
    os.kill(shim.pid, how)
    shim.wait(timeout=30)
    child.wait(timeout=30)  # gone with the python that ran it
    assert shim.returncode == -how


def test_the_server_goes_when_its_runner_is_killed(tmp_path: Path) -> None:
    # A runner stand-in that starts a server, then is killed with SIGKILL: nothing may survive it.
    code = (
        "import sys, time; from pathlib import Path\n"
        "from accelerator.local._execution._warm import WarmServer\n"
        f"w = WarmServer(Path({str(tmp_path)!r})); w.start()\n"
        "print(w.process.pid, flush=True); time.sleep(600)\n"
    )
    runner = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert runner.stdout is not None
    server = psutil.Process(int(runner.stdout.readline()))
    runner.kill()
    runner.wait()
    server.wait(timeout=30)


def test_a_stop_before_the_server_answers_reaches_the_child(tmp_path: Path) -> None:
    """A job's timeout or cancel can SIGTERM the shim while the server is still forking: the stop
    must reach the child once its pid is known, not end the shim alone and leave the child running."""
    name = f"accelerator-test-shim-{os.getpid()}-{time.monotonic_ns()}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind("\0" + name)
    listener.listen(1)
    received = threading.Event()
    outcome: dict[str, object] = {}

    def serve() -> None:  # the server's side of the protocol, answering late
        connection, _ = listener.accept()
        with connection:
            connection.recvmsg(1 << 20, socket.CMSG_SPACE(3 * struct.calcsize("i")))
            received.set()
            time.sleep(1.0)  # still forking when the stop arrives
            child = subprocess.Popen(["sleep", "60"], process_group=0)
            connection.sendall(json.dumps({"pid": child.pid}).encode() + b"\n")
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            outcome["child"] = child.returncode
            status = signal.SIGTERM if child.returncode == -signal.SIGTERM else signal.SIGKILL
            connection.sendall(json.dumps({"status": int(status)}).encode() + b"\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    env = {**os.environ, "ACCELERATOR_WARM_SOCKET": "@" + name, "ACCELERATOR_WARM_PID": str(os.getpid())}
    env.pop("ACCELERATOR_WARM_PROCESSES", None)
    shim_process = subprocess.Popen([sys.executable, "-IS", str(SHIM), "script.py"], env=env, cwd=tmp_path)
    try:
        assert received.wait(timeout=30), "the shim did not send its request"
        shim_process.send_signal(signal.SIGTERM)  # before the server has answered
        shim_process.wait(timeout=30)
        thread.join(timeout=30)
    finally:
        listener.close()
        if shim_process.poll() is None:
            shim_process.kill()
    assert outcome["child"] == -signal.SIGTERM  # the stop was forwarded to the child
    assert shim_process.returncode == -signal.SIGTERM  # and the shim ended as its child did
