"""Child processes of a control plane: start, signal, stop, and read their logs.

Each binary runs in its own session (and so its own process group): a Ctrl-C in the terminal
that runs pytest or ``syncpipe dev`` reaches only the Python process, which then stops the
children in order, instead of the children dying half-way through a test's teardown. The flip
side is that nobody else cleans them up, so every process started here is stopped by pid:
``ManagedProcess.stop`` for processes this Python process started, ``stop_pid`` for those a
previous ``syncpipe dev up`` left running.

Free ports come from the kernel (bind to port 0). Between choosing a port and the binary binding
it another program could take it; ``free_ports`` at least never hands the same port out twice
within this process, which is what matters when two control planes start concurrently.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import attrs

# How long a process gets to exit after SIGTERM before SIGKILL: etcd and the API server shut
# down in well under a second when idle; a few seconds covers a busy machine.
TERM_GRACE_SECONDS = 5.0

_ports_lock = threading.Lock()
_ports_handed_out: set[int] = set()


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct loopback TCP ports that were free a moment ago."""
    with _ports_lock, contextlib.ExitStack() as stack:
        ports: list[int] = []
        while len(ports) < count:
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
            if port not in _ports_handed_out:
                ports.append(port)
                _ports_handed_out.add(port)
        return ports


@attrs.frozen(kw_only=True)
class ProcessRecord:
    """What is needed to find a detached process again: its pid and its executable."""

    name: str
    pid: int
    executable: str


class ManagedProcess:
    """One binary of a control plane, restartable with the same arguments and log file."""

    def __init__(self, *, name: str, argv: Sequence[str], log_path: Path) -> None:
        self.name = name
        self.argv = tuple(argv)
        self.log_path = log_path
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The pid of the current run, ``None`` before the first start."""
        return self._popen.pid if self._popen is not None else None

    def start(self) -> None:
        """Start (or start again) the binary, appending its output to the log file."""
        if self.alive():
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"=== syncpipe: starting {' '.join(self.argv)}\n".encode())
            log.flush()
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )

    def alive(self) -> bool:
        """Whether the current run has not exited yet."""
        return self._popen is not None and self._popen.poll() is None

    def returncode(self) -> int | None:
        """The exit status of the last run, ``None`` while running or never started."""
        return None if self._popen is None else self._popen.poll()

    def kill(self, sig: int = signal.SIGKILL, *, wait: float = TERM_GRACE_SECONDS) -> None:
        """Send ``sig`` and wait up to ``wait`` seconds for the process to exit.

        Fault-injection tests use this with SIGKILL (a crash) or SIGSTOP (a hang); for signals
        that do not end a process pass ``wait=0``.
        """
        if self._popen is None or not self.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._popen.pid, sig)
        if wait > 0:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(wait)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period; reap the process. Safe to repeat."""
        if self._popen is None:
            return
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                # A stopped (SIGSTOP) process would never act on SIGTERM.
                os.kill(self._popen.pid, signal.SIGCONT)
            self.kill(signal.SIGTERM)
        if self.alive():
            self.kill(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(TERM_GRACE_SECONDS)

    def detach(self) -> ProcessRecord:
        """Forget the process without stopping it (for ``syncpipe dev up``); return its record."""
        if self._popen is None:
            raise RuntimeError(f"{self.name} was never started")
        record = ProcessRecord(name=self.name, pid=self._popen.pid, executable=self.argv[0])
        # Marking it reaped keeps Popen's destructor from warning about a running child; the
        # process is reparented (and reaped) by init once we exit.
        self._popen.returncode = 0
        self._popen = None
        return record

    def record(self) -> ProcessRecord | None:
        """The pid and executable of the current run, if one is running."""
        if self._popen is None or not self.alive():
            return None
        return ProcessRecord(name=self.name, pid=self._popen.pid, executable=self.argv[0])

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the log file, for error messages."""
        return tail(self.log_path, lines)


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a text file, or a note if it cannot be read."""
    try:
        with path.open("rb") as handle:
            # Only the end matters and logs can be large: read the last 64 KiB at most.
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 65536))
            data = handle.read()
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    last = collections.deque(data.decode(errors="replace").splitlines(), maxlen=lines)
    return "\n".join(last)


def pid_runs(record: ProcessRecord) -> bool:
    """Whether ``record``'s pid is alive and still runs ``record``'s executable.

    Checking the executable keeps ``syncpipe dev down`` from signalling an unrelated process that
    got the pid after ours exited. Zombies count as gone: their work is over, only their parent
    (possibly init, which may be slow or absent in a container) has not reaped them.
    """
    proc = Path("/proc") / str(record.pid)
    try:
        cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state in {"Z", "X"}:
        return False
    return bool(cmdline) and cmdline[0].decode(errors="replace") == record.executable


def stop_pid(record: ProcessRecord, *, grace: float = TERM_GRACE_SECONDS) -> None:
    """Stop a process this Python process did not start: SIGTERM, then SIGKILL."""
    for sig in (signal.SIGCONT, signal.SIGTERM):
        if not pid_runs(record):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, sig)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not pid_runs(record):
            return
        time.sleep(0.05)
    if pid_runs(record):
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while pid_runs(record) and time.monotonic() < deadline:
        time.sleep(0.05)
