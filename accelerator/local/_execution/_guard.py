"""Keep a job's command alive exactly as long as its runner: ``_guard.py <runner pid> <command...>``.

The runner starts this (standard library only, run with ``python -S``: it starts in milliseconds)
in place of the command. It asks the kernel for SIGTERM when the runner dies (``PR_SET_PDEATHSIG``,
so a ``kill -9`` of the runner counts), runs the command in a process group of its own, and on
SIGTERM (the runner gone, the job cancelled, or its timeout) stops that whole group: the shell, the
script and anything the script started. On Azure ML a job's processes end with its node; here they
end with their runner, so a job reported Failed never keeps running (or registering a model).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time

_PR_SET_PDEATHSIG = 1
_GRACE_SECONDS = 10.0


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: list[str]) -> int:
    runner, command = int(argv[0]), argv[1:]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != runner:  # the runner died before the request took effect
        return 128 + signal.SIGTERM
    stop_requested = False

    def on_term(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True  # acted on in the loop below: a handler must not wait

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    child = subprocess.Popen(command, process_group=0)
    code: int | None = None
    kill_at: float | None = None
    while True:
        if code is None:
            code = child.poll()
        if stop_requested and kill_at is None:
            kill_at = time.monotonic() + _GRACE_SECONDS
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
        if code is not None and not stop_requested:
            # The command ended: anything it left running in its group goes with it, as on a node.
            stop_requested = True
            continue
        if kill_at is not None and time.monotonic() > kill_at:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
        if code is not None and (kill_at is None or not _group_exists(child.pid)):
            break
        time.sleep(0.05)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
