# The `python` of a job whose runner keeps a warm server (see _warm.py). It runs isolated (-IS) and
# imports only what it needs from the standard library, so it starts in milliseconds. It sends its
# arguments, working folder, environment and standard streams to the server, forwards signals to the
# child the server forks, and exits as that child exited. Anything unexpected: exec the real python.
import array
import contextlib
import json
import os
import signal
import socket
import struct
import sys
import time

# The signals that stop a job. They stay blocked until the child's pid is known: a stop that arrives
# while the server is still forking (a job's timeout, a cancel) is then forwarded to the child
# rather than ending this shim alone and leaving the child to run on.
STOPS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def cold():
    real = os.environ.get("ACCELERATOR_REAL_PYTHON") or "/usr/bin/python3"
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)  # exec keeps the mask: the real python must not
    os.execv(real, [real, *sys.argv[1:]])


def connect(address):
    """The server's socket; while the server is still starting (alive, not yet listening), wait."""
    server = int(os.environ.get("ACCELERATOR_WARM_PID") or 0)
    deadline = time.monotonic() + 300  # its imports take seconds; a zombie never answers
    while server > 0 and time.monotonic() < deadline:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(address)
            return connection
        except OSError:
            connection.close()
        try:
            os.kill(server, 0)
        except (OSError, ValueError):
            cold()  # no server (any more): run the real interpreter
        time.sleep(0.02)
    cold()


def main():
    path = os.environ.get("ACCELERATOR_WARM_SOCKET")
    if not path or os.environ.get("ACCELERATOR_WARM_PROCESSES", "1").lower() in ("0", "false", "no", "off"):
        cold()
    signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    connection = connect("\0" + path[1:] if path.startswith("@") else path)
    # The store's daemon has a known address: only a server of this user gets the job's environment.
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    if struct.unpack("3i", credentials)[1] != os.getuid():
        cold()
    # A python started with signals ignored (nohup's SIGHUP, a background job's SIGINT) keeps them
    # ignored: so must the child, and this shim forwards only the others.
    ignored = [int(signum) for signum in STOPS if signal.getsignal(signum) == signal.SIG_IGN]
    request = {"argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ), "ignored": ignored}
    body = json.dumps(request).encode()
    fds = array.array("i", [0, 1, 2])
    header = struct.pack("!I", len(body))
    first = header + body[: 1 << 16]
    connection.sendmsg([first], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
    if len(first) < len(header) + len(body):
        connection.sendall(body[1 << 16 :])
    reader = connection.makefile("rb")
    line = reader.readline()
    if not line:
        cold()
    answer = json.loads(line)
    if answer.get("fallback"):
        cold()
    child = answer["pid"]

    def forward(signum, frame):
        # To the child's process group (the server made it one): what the script started goes too,
        # as a job's whole group does when its python is the real one.
        try:
            os.killpg(child, signum)
        except ProcessLookupError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    for signum in STOPS:
        if int(signum) not in ignored:
            signal.signal(signum, forward)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)  # a stop that came meanwhile goes to the child
    line = reader.readline()
    if not line:  # the server died: the child went with it (same process group) or is orphaned
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child, signal.SIGTERM)
        sys.exit(1)
    status = json.loads(line)["status"]
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    sys.exit(os.waitstatus_to_exitcode(status) if not os.WIFSIGNALED(status) else 128 + os.WTERMSIG(status))


main()
