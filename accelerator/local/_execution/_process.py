"""Start, watch and stop the runner's process tree.

The runner starts in a new session, so it outlives the kernel that submitted the job and its whole
tree (the job's shell and the script) can be stopped through its process group. A process is known
by its pid and start time, so a recycled pid is never mistaken for the runner.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

# Runners this process started: polled so they are reaped and never linger as zombies.
_children: list[subprocess.Popen[bytes]] = []


def spawn_runner(workspace_dir: Path, name: str, log: Path, home: Path | None = None) -> tuple[int, float]:
    """Start ``python -m accelerator.local._execution._runner`` for job ``name``; (pid, start time).

    With warm job processes, the store's (``home``) daemon forks it (see _warm.py); else, or when
    the daemon cannot be reached, it starts as a new interpreter."""
    from accelerator.local._execution import _warm

    _reap()
    log.parent.mkdir(parents=True, exist_ok=True)
    pid = _warm.spawn_runner(home, [str(workspace_dir), name], log) if home is not None else None
    if pid is not None:
        with contextlib.suppress(psutil.NoSuchProcess):
            return pid, psutil.Process(pid).create_time()
        return pid, time.time()  # ended already: taken for gone at once, as it is
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "accelerator.local._execution._runner", str(workspace_dir), name],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    _children.append(process)
    return process.pid, psutil.Process(process.pid).create_time()


def track(process: subprocess.Popen[bytes]) -> None:
    """A process of this one's to reap as the runners are (the store's warm daemon)."""
    _children.append(process)


def _reap() -> None:
    _children[:] = [p for p in _children if p.poll() is None]


def is_alive(pid: int | None, started: float | None) -> bool:
    _reap()
    if not pid:
        return False
    try:
        process = psutil.Process(pid)
        if started is not None and abs(process.create_time() - started) > 0.01:
            return False
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def stop_group(pid: int, started: float | None, grace: float = 10.0) -> None:
    """SIGTERM the runner's process group; SIGKILL what is left after ``grace`` seconds."""
    if not is_alive(pid, started):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not is_alive(pid, started):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    _reap()


def stop_tree(process: Any) -> None:
    """SIGTERM one command's process tree (a step's or a trial's guard and what it started)."""
    with contextlib.suppress(psutil.NoSuchProcess):
        parent = psutil.Process(process.pid)
        for child in parent.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                child.terminate()
        parent.terminate()
