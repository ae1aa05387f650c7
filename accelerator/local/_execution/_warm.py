"""Warm job processes: a fork server that has already imported what job scripts import.

A job step's cost before its script does any work is mostly Python importing MLflow, pandas,
pyarrow and scikit-learn (5-8 s here). The runner starts one *warm server* per job, which imports
them once; every ``python`` the job's command runs is a small shim (``_warm_shim.py``, first on the
job's ``PATH``) that hands its arguments, working folder, environment and standard streams to the
server, which forks a child to run the script. The child is a separate process with the semantics
of ``python script.py`` (``sys.argv``, ``__main__``, working folder, environment, exit code, output
to the job's log); the shim waits for it, forwards signals to it, and exits with its status, so the
job's shell, ``timeout``, ``begin_cancel`` and the process-group stop behave as before.

Whatever the server cannot run as ``python`` would (an option it does not know, a different
interpreter, a server that is not there) falls back to exec'ing the real interpreter: the cold path.
``ACCELERATOR_WARM_PROCESSES=0`` turns the warm path off.

One server, the store's *warm daemon*, serves every job of a store (``spawn_runner``): it forks the
runners themselves too, so a job pays neither the runner's imports nor MLflow's, and its steps are
forked from the same server. It lives in a session of its own, stops after
``ACCELERATOR_WARM_IDLE_SECONDS`` (60) without a runner or a step, and is known by an address made of
the store's folder, the interpreter and the accelerator's code (so edited code gets a new daemon).
A runner started cold (the daemon could not be reached) keeps a server of its own, as before.

What a forked child shares with the server is only what it inherited at fork time, copy on write:
imported modules. State that differs between two real processes is renewed in the child: the
random generators (``random`` reseeds itself after fork; numpy's global generator is reseeded here)
and the thread-pool sizes the job's environment asks for. The hash seed is the one thing the children
of one server share (a property of the interpreter, fixed at its start): set ``PYTHONHASHSEED`` or
turn warm processes off for code that depends on distinct hash orders between processes.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import importlib
import io
import json
import os
import secrets
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

SETTING = "ACCELERATOR_WARM_PROCESSES"
SOCKET_VARIABLE = "ACCELERATOR_WARM_SOCKET"
REAL_PYTHON_VARIABLE = "ACCELERATOR_REAL_PYTHON"
PID_VARIABLE = "ACCELERATOR_WARM_PID"
IDLE_VARIABLE = "ACCELERATOR_WARM_IDLE_SECONDS"
RUNNER_MODULE = "accelerator.local._execution._runner"
# What the runner's tracking and the book's job scripts import, in the order they are needed: the
# server answers once MLflow is in (the runner's tracking needs it first), and imports the rest
# between requests. A module that is not installed is skipped.
PRELOAD_FIRST = (
    "mlflow",
    "mlflow.tracking",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.model_registry.sqlalchemy_store",
    "accelerator.local._mlflow",
    "accelerator.local._execution._tracking",
    RUNNER_MODULE,
    "alembic.runtime.migration",
    "mlflow.store.db.utils",
)
PRELOAD_IDLE = (
    "numpy",
    "pandas",
    "pyarrow",
    "pyarrow.parquet",
    "sklearn",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "sklearn.metrics",
    "sklearn.model_selection",
    "skops.io",
    "mlflow.sklearn",
    "mlflow.pyfunc",
    "matplotlib",
    "matplotlib.pyplot",
)
SHIM = Path(__file__).with_name("_warm_shim.py")
_HEADER = struct.Struct("!I")
_ARGV_ROOM = 4096
# The server's own descriptors (listener, wake-up pipe), closed in every child it forks.
_server_fds: list[int] = []
# In the daemon: the runners it forked and has not reaped yet.
_runners: set[int] = set()
# In the daemon: its address and shim folder, which the runners it forks hand on to their steps.
_daemon: dict[str, str] = {}
# In a runner the daemon forked: the daemon, standing in for the runner's own server.
attached: Attached | None = None
# Blocked across each fork: the server ignores SIGTERM, and a child must not inherit that while it
# sets itself up (a job cancelled at that moment would see its SIGTERM discarded and its script run
# on). Blocked, the signal stays pending and reaches the child once its own handlers are in place.
_STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT})


def enabled() -> bool:
    return os.environ.get(SETTING, "1").strip().lower() not in ("0", "false", "no", "off")


class WarmServer:
    """A fork server for one runner: started with ``start``, stopped with ``stop``."""

    def __init__(self, folder: Path) -> None:
        # An abstract socket (Linux): nothing on disk, and no path-length limit. The server accepts
        # only processes of its own user (SO_PEERCRED), as a 0700 folder would.
        self.address = "@accelerator-warm-" + secrets.token_hex(8)
        self.bin = folder / "warm-bin"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        _write_shims(self.bin)
        env = {**os.environ, "MPLBACKEND": "Agg"}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "accelerator.local._execution._warm",
                self.address,
                str(os.getpid()),
                str(self.bin),
                # Room in the server's own argv memory for each child's command line (see
                # _show_command_line): what ps and psutil show for a child is its own command.
                " " * _ARGV_ROOM,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        """The job's environment with the shim first on PATH, when the job's python is this one."""
        return _shim_environment(env, self.address, self.process.pid if self.process else None, self.bin)

    def tracking(self, workspace_dir: Path) -> Any:
        """A RemoteTracking served by a child of this server, or None when the server cannot."""
        from accelerator.local._execution._tracking import RemoteTracking

        if self.process is None:
            return None
        deadline = time.monotonic() + 300  # the server imports MLflow first
        while self.process.poll() is None and time.monotonic() < deadline:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                connection.connect(socket_address(self.address))
            except OSError:
                connection.close()
                time.sleep(0.02)
                continue
            body = json.dumps({"tracking": str(workspace_dir)}).encode()
            connection.sendall(_HEADER.pack(len(body)) + body)
            reply = connection.makefile("rb").readline()
            if reply and json.loads(reply).get("tracking"):
                return RemoteTracking(connection)
            connection.close()
            return None
        return None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # it ignores SIGTERM; its children die with it (PR_SET_PDEATHSIG)
            self.process.wait()


def _shim_environment(env: dict[str, str], address: str, pid: int | None, bin: Path) -> dict[str, str]:
    env = dict(env)
    env[SOCKET_VARIABLE] = address
    env[REAL_PYTHON_VARIABLE] = sys.executable
    if pid is not None:
        env[PID_VARIABLE] = str(pid)
    env["PATH"] = os.pathsep.join([str(bin), env.get("PATH", "")])
    return env


def _write_shims(bin: Path) -> None:
    bin.mkdir(parents=True, exist_ok=True)
    # The shim runs isolated (-I: no site, no PYTHON* variables, no script folder on sys.path)
    # and imports only the standard library's few modules it needs: it starts in milliseconds.
    shim = f"#!{sys.executable} -IS\n" + SHIM.read_text()
    for name in ("python", "python3"):
        path = bin / name
        if path.is_file() and path.read_text() == shim:
            continue
        partial = path.with_name(f".{name}.{os.getpid()}")  # renamed into place: never half-written
        partial.write_text(shim)
        partial.chmod(0o755)
        partial.replace(path)


class Attached:
    """The store's daemon as a runner it forked sees it: its steps' ``python`` is the daemon's."""

    def __init__(self, address: str, pid: int, bin: Path) -> None:
        self.address, self.pid, self.bin = address, pid, bin

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        return _shim_environment(env, self.address, self.pid, self.bin)

    def tracking(self, workspace_dir: Path) -> None:
        return None  # the runner has MLflow imported already (forked from the daemon)

    def stop(self) -> None:
        pass  # the daemon is the store's: it stops when idle


def idle_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get(IDLE_VARIABLE, "60")))
    except ValueError:
        return 60.0


def _code_stamp() -> str:
    """Names, sizes and times of the accelerator's modules: a daemon never runs code older than this."""
    root = Path(__file__).resolve().parents[2]
    stamp = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        with contextlib.suppress(OSError):
            info = path.stat()
            stamp.update(f"{path}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return stamp.hexdigest()


def daemon_address(home: Path) -> tuple[str, Path]:
    """The store's daemon: its abstract socket and the folder (in the store) of its shims."""
    key = hashlib.sha256(f"{home.resolve()}\0{sys.executable}\0{_code_stamp()}".encode()).hexdigest()[:16]
    return "@accelerator-warm-" + key, home / "warm" / key


def spawn_runner(home: Path, argv: list[str], log: Path) -> int | None:
    """Fork ``python -m accelerator.local._execution._runner <argv>`` from the store's daemon (started
    if it is not running) with this process's environment and folder; its pid, or None to start cold."""
    if not enabled():
        return None
    address, bin = daemon_address(home)
    request = json.dumps(
        {"runner": argv, "log": str(log), "env": dict(os.environ), "cwd": os.getcwd()}
    ).encode()
    started: subprocess.Popen[bytes] | None = None
    deadline = time.monotonic() + 60  # a daemon listens at once and answers once MLflow is in
    while time.monotonic() < deadline:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(socket_address(address))
        except OSError:
            connection.close()
            if started is None:
                started = _start_daemon(address, bin)
            elif started.poll() is not None and started.returncode != 0:
                return None  # it could not start: the runner starts cold
            time.sleep(0.02)
            continue
        with connection:
            if not _same_user(connection):
                # The address is known, not secret: a socket bound by anyone else never gets the
                # environment a request carries.
                return None
            connection.sendall(_HEADER.pack(len(request)) + request)
            reply = connection.makefile("rb").readline()
        if reply:
            return int(json.loads(reply)["pid"])
        # The daemon was stopping as we connected (idle): start another.
        started = None
    return None


def daemons(home: Path) -> list[Any]:
    """The store's live warm daemons (any interpreter, any code), as psutil processes."""
    import psutil

    folder = str(Path(home).resolve() / "warm") + os.sep
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, IndexError):
            command = process.cmdline()  # python -m <this module> <address> 0 <shim folder> <room>
            ours = "accelerator.local._execution._warm" in command and command[-2].startswith(folder)
            if ours and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
    return found


def stop_daemons(home: Path) -> list[int]:
    """Stop the store's warm daemons; their pids. Runners and steps running go on: a step started
    later runs cold."""
    import psutil

    stopped = daemons(home)
    for process in stopped:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    psutil.wait_procs(stopped, timeout=10)
    return [process.pid for process in stopped]


def _start_daemon(address: str, bin: Path) -> subprocess.Popen[bytes]:
    from accelerator.local._execution import _process

    _write_shims(bin)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "accelerator.local._execution._warm",
            address,
            "0",
            str(bin),
            " " * _ARGV_ROOM,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MPLBACKEND": "Agg"},
        close_fds=True,
        start_new_session=True,  # the store's, not this process's: it outlives the submitting kernel
    )
    _process.track(process)  # reaped with the runners this process started
    return process


# -- the server process ---------------------------------------------------------------------------


def _preload(module: str) -> None:
    with contextlib.suppress(Exception):
        importlib.import_module(module)


def _receive(connection: socket.socket) -> tuple[dict[str, Any], list[int]]:
    fds = array.array("i")
    message, ancillary, _, _ = connection.recvmsg(1 << 20, socket.CMSG_SPACE(3 * fds.itemsize))
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    (length,) = _HEADER.unpack(message[: _HEADER.size])
    body = message[_HEADER.size :]
    while len(body) < length:
        chunk = connection.recv(length - len(body))
        if not chunk:
            raise ConnectionError("the shim went away mid-request")
        body += chunk
    return json.loads(body), list(fds)


def _send(connection: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        connection.sendall(json.dumps(message).encode() + b"\n")


def parse_command_line(argv: list[str]) -> dict[str, Any] | None:
    """What ``python <argv>`` would run: a script, a module or code; None for what we do not emulate."""
    unbuffered = False
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg in ("-u",):
            unbuffered = True
        elif arg in ("-B", "-s", "-E"):
            pass  # no bytecode writing, user site and PYTHON* variables: nothing a child must change
        elif arg == "-m" and index + 1 < len(argv):
            return {"module": argv[index + 1], "args": argv[index + 2 :], "unbuffered": unbuffered}
        elif arg == "-c" and index + 1 < len(argv):
            return {"code": argv[index + 1], "args": argv[index + 2 :], "unbuffered": unbuffered}
        elif arg.startswith("-"):
            return None  # -i, -X, -W, -O, combined flags, '-': the real interpreter handles them
        else:
            return {"script": arg, "args": argv[index + 1 :], "unbuffered": unbuffered}
        index += 1
    return None  # an interactive interpreter reading stdin


def _streams(unbuffered: bool) -> None:
    # New standard streams on the received descriptors, buffered as the real interpreter would.
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8", errors="strict")
    for fd, name in ((1, "stdout"), (2, "stderr")):
        raw = io.FileIO(fd, "w", closefd=False)
        buffered: Any = raw if unbuffered else io.BufferedWriter(raw)
        stream = io.TextIOWrapper(
            buffered,
            encoding="utf-8",
            errors="backslashreplace" if name == "stderr" else "strict",
            line_buffering=unbuffered or name == "stderr",
            write_through=unbuffered,
        )
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)
    sys.__stdin__ = sys.stdin


def _renew_process_state(env: dict[str, str]) -> None:
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()  # a fresh global generator, as in a new process
    threads = env.get("OMP_NUM_THREADS")
    if threads and threads.isdigit():
        with contextlib.suppress(Exception):
            from threadpoolctl import threadpool_limits

            threadpool_limits(int(threads))
    with contextlib.suppress(Exception):
        import matplotlib

        matplotlib.use(env.get("MPLBACKEND") or "Agg", force=True)


def die_with_parent() -> None:
    """Linux's PR_SET_PDEATHSIG: SIGKILL this process when its parent dies, even by kill -9."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def _show_command_line(argv: list[str]) -> None:
    """Write the child's own command line over the argv memory it inherited (as setproctitle does):
    ``ps``, psutil and ``/proc/<pid>/cmdline`` then show ``python script.py ...``, not the server."""
    with contextlib.suppress(Exception):
        import ctypes

        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end: fields 48 and 49
        text = b"\0".join(os.fsencode(part) for part in argv)[: end - start - 1] + b"\0"
        ctypes.memmove(start, text + b"\0" * (end - start - len(text)), end - start)
        # Where allowed (CAP_SYS_RESOURCE), end the area after the text, so no empty arguments
        # follow it; elsewhere the rest of the area reads as empty arguments.
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(35, 9, ctypes.c_ulong(start + len(text)), 0, 0)  # PR_SET_MM, PR_SET_MM_ARG_END


def _fresh_signals(ignored: list[int] | None = None) -> None:
    """The signal dispositions and mask of a fresh interpreter (the server's own are not)."""
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    # As a fresh interpreter has them (Python's startup ignores both): a write to a closed pipe is
    # a BrokenPipeError, not death by signal, e.g. when a ProcessPoolExecutor's worker has died.
    for signum in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(signum, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in ignored or ():  # ignored when the job's python started: they stay ignored
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())  # nothing blocked: a pending stop arrives now


def _leave_server(argv: list[str]) -> None:
    _show_command_line(argv)
    signal.set_wakeup_fd(-1)
    for fd in _server_fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _child(request: dict[str, Any], plan: dict[str, Any], fds: list[int]) -> int:
    """Become the job's ``python``; return its exit status."""
    die_with_parent()
    _leave_server([request.get("python") or sys.executable, *request["argv"]])
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    _fresh_signals(ignored=[int(signum) for signum in request.get("ignored") or []])
    env = request["env"]
    os.environ.clear()
    os.environ.update(env)
    unbuffered = plan["unbuffered"] or bool(env.get("PYTHONUNBUFFERED"))
    _streams(unbuffered)
    os.chdir(request["cwd"])
    import runpy

    status = 0
    try:
        if "script" in plan:
            script = plan["script"]
            sys.argv = [script, *plan["args"]]
            sys.path[0] = os.path.dirname(os.path.abspath(script))
            _renew_process_state(env)
            runpy.run_path(script, run_name="__main__")
        elif "module" in plan:
            sys.argv = ["-m", *plan["args"]]  # runpy replaces argv[0] with the module's path
            sys.path[0] = os.getcwd()
            _renew_process_state(env)
            runpy.run_module(plan["module"], run_name="__main__", alter_sys=True)
        else:
            sys.argv = ["-c", *plan["args"]]
            sys.path[0] = ""
            _renew_process_state(env)
            exec(compile(plan["code"], "<string>", "exec"), {"__name__": "__main__"})
    except SystemExit as exit_:
        code = exit_.code
        if code is None:
            status = 0
        elif isinstance(code, int):
            status = code & 0xFF
        else:
            print(code, file=sys.stderr)
            status = 1
    except KeyboardInterrupt:
        traceback.print_exc()
        status = 130
    except BaseException:
        traceback.print_exc()
        status = 1
    # As the interpreter does on exit: atexit handlers, then flushed streams.
    import atexit

    with contextlib.suppress(Exception):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    return status


def _serve_one(connection: socket.socket, waiting: dict[int, socket.socket]) -> None:
    """Handle one shim: fork its child and report the child's pid; its status comes when it exits."""
    request, fds = _receive(connection)
    if "tracking" in request:
        _fork_tracking(connection, Path(request["tracking"]), waiting)
        return
    if "runner" in request and _daemon:
        for fd in fds:
            os.close(fd)
        _fork_runner(connection, request, waiting)
        return
    plan = parse_command_line(request["argv"])
    if plan is None or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        _send(connection, {"fallback": True})
        connection.close()
        return
    # A process group of its own: the shim's signals and the stops below reach what the script
    # starts, as a cold python's group does, and never the server.
    pid = _fork(connection, waiting, lambda: _child(request, plan, fds), own_group=True)
    for fd in fds:
        os.close(fd)
    _send(connection, {"pid": pid})
    waiting[pid] = connection


def _fork(
    connection: socket.socket,
    waiting: dict[int, socket.socket],
    become: Callable[[], int],
    own_group: bool,
) -> int:
    """Fork a child that runs ``become`` and exits with its status; the child's pid.

    Stop signals are blocked across the fork (see _STOP_SIGNALS) until the child has its own
    handlers. A group of its own is set on both sides of the fork, so it exists before anyone
    learns the pid."""
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            if own_group:
                with contextlib.suppress(OSError):
                    os.setpgid(0, 0)
            connection.close()
            for other in waiting.values():
                other.close()
            status = become()
        finally:
            os._exit(status)
    if own_group:
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # the server's own: ignored, as before
    return pid


def _fork_runner(
    connection: socket.socket, request: dict[str, Any], waiting: dict[int, socket.socket]
) -> None:
    """A job's runner, as ``python -m accelerator.local._execution._runner`` would start, in a
    session of its own (so its process group can be stopped, as a cold runner's is)."""
    pid = _fork(connection, waiting, lambda: _runner_child(request), own_group=False)  # it calls setsid
    _runners.add(pid)
    _send(connection, {"pid": pid})
    connection.close()


def _runner_child(request: dict[str, Any]) -> int:
    global attached
    os.setsid()
    argv = [str(arg) for arg in request["runner"]]
    _leave_server([sys.executable, "-m", RUNNER_MODULE, *argv])
    log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    _fresh_signals()
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    _streams(False)
    attached = Attached(_daemon["address"], os.getppid(), Path(_daemon["bin"]))
    runner = importlib.import_module(RUNNER_MODULE)
    sys.argv = [runner.__file__ or RUNNER_MODULE, *argv]
    code = 1
    try:
        code = runner.main(argv)
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
    return code


def _fork_tracking(connection: socket.socket, workspace_dir: Path, waiting: dict[int, socket.socket]) -> None:
    """A child that answers the runner's MLflow calls (see _tracking.py) until the runner hangs up."""
    pid = os.fork()
    if pid == 0:
        try:
            die_with_parent()
            signal.set_wakeup_fd(-1)
            for fd in _server_fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            for other in waiting.values():
                other.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            from accelerator.local._execution._tracking import serve_tracking

            _send(connection, {"tracking": True})
            serve_tracking(connection, workspace_dir)
        finally:
            os._exit(0)
    connection.close()


def _reap(waiting: dict[int, socket.socket]) -> None:
    """Tell each shim whose child has exited its wait status (and reap the tracking children)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _runners.discard(pid)
        connection = waiting.pop(pid, None)
        if connection is not None:
            # What the script left running in its group goes with it, as the guard stops what a
            # cold python leaves in the job's group. (The group only: the pid itself is reaped.)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            _send(connection, {"status": status})
            connection.close()


def socket_address(address: str) -> str:
    """``@name`` is Linux's abstract namespace (a leading NUL byte)."""
    return "\0" + address[1:] if address.startswith("@") else address


def _same_user(connection: socket.socket) -> bool:
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", credentials)
    return uid == os.getuid()


def serve(address: str, parent: int, bin: str) -> None:
    """A runner's server (``parent``: the runner's pid) or, with parent 0, the store's daemon."""
    # The server stays single-threaded (it forks); a SIGCHLD wakes its select to report exits.
    if parent:
        die_with_parent()
        if os.getppid() != parent:  # the runner died before the line above took effect
            return
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(socket_address(address))
    except OSError:
        return  # another daemon of this store took the address first: the clients use that one
    listener.listen(64)
    if not parent:
        _daemon.update(address=address, bin=bin)
    # Clients that connect meanwhile wait in the backlog: a runner forked before MLflow is in
    # would import it itself, beside the server importing it too.
    for module in PRELOAD_FIRST:
        _preload(module)
    idle = list(PRELOAD_IDLE)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    _server_fds.extend([listener.fileno(), wake_read, wake_write])
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    # A cancelled job's group gets SIGTERM: its scripts stop, while the server and the runner's
    # tracking child stay for the runner's last bookkeeping; they go when the runner does.
    # (The daemon is in a session of its own: no job's group includes it, and SIGTERM stops it.)
    if parent:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    waiting: dict[int, socket.socket] = {}
    import select

    idle_for = idle_seconds()
    busy_at = time.monotonic()
    try:
        while True:
            if parent and os.getppid() != parent:
                break  # gone with the runner that started it
            if not parent:
                if waiting or _runners:
                    busy_at = time.monotonic()
                elif time.monotonic() - busy_at > idle_for and not select.select([listener], [], [], 0)[0]:
                    break  # the daemon's idle time is up, and no client is at the door
            _serve_ready(
                listener, wake_read, waiting, select.select, 0.0 if idle else min(1.0, idle_for or 1.0)
            )
            if idle and not select.select([listener], [], [], 0)[0]:
                _preload(idle.pop(0))
    finally:
        for pid in waiting:  # a job's processes never outlive its server
            _kill_group(pid, signal.SIGKILL)


def _serve_ready(
    listener: socket.socket, wake_read: int, waiting: dict[int, socket.socket], wait: Any, timeout: float
) -> None:
    """One turn of the server: shims gone, children exited, new shims."""
    shims = {connection: pid for pid, connection in waiting.items()}
    ready, _, _ = wait([listener, wake_read, *shims], [], [], timeout)
    for connection in ready:
        # A shim sends nothing after its request: readable means it is gone (killed, even by
        # kill -9), and its child goes with it, as a process goes with its own interpreter.
        if connection in shims and not _peek(connection):
            _kill_group(shims[connection], signal.SIGKILL)
    if wake_read in ready:
        with contextlib.suppress(BlockingIOError):
            os.read(wake_read, 512)
    _reap(waiting)
    if listener not in ready:
        return
    connection, _ = listener.accept()
    if not _same_user(connection):
        connection.close()
        return
    try:
        _serve_one(connection, waiting)
    except Exception:
        with contextlib.suppress(OSError):
            connection.close()


def _kill_group(pid: int, signum: int) -> None:
    """Signal a child's process group; the child alone if it has none (it set none yet)."""
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _peek(connection: socket.socket) -> bytes:
    try:
        return connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) or b""
    except BlockingIOError:
        return b"?"
    except OSError:
        return b""


if __name__ == "__main__":
    # Served by the package's module, not this __main__ copy: the runners it forks import the
    # package's and must find the daemon's state (``attached``) there.
    from accelerator.local._execution import _warm

    _warm.serve(sys.argv[1], int(sys.argv[2]), sys.argv[3])  # sys.argv[4]: room for children's command lines
