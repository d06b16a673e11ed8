"""etcd data directories on tmpfs, and the sweeping of ones a killed run left behind.

etcd's data lives on tmpfs (``/dev/shm``): on a disk every fsync makes each write several times
slower, and nothing here needs to survive a reboot. The price is memory: etcd 3.4 preallocates
two 64 MiB WAL segments, so each data directory holds about 128 MiB of RAM until removed.
``ControlPlane.stop`` removes its own; a run that was SIGKILLed cannot, so every new control
plane first sweeps directories that no running etcd uses and that are not brand new (a
concurrent start may have created one a moment ago and not launched its etcd yet).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

TMPFS = Path("/dev/shm")
PREFIX = "syncpipe-etcd-"
# Older than any start takes to go from creating the directory to launching etcd, younger
# than anyone would leave an etcd killed on purpose (fault-injection tests restart it in
# seconds); directories of this process's control planes are never swept anyway.
STALE_AFTER_SECONDS = 300.0

_lock = threading.Lock()
_ours: set[Path] = set()


def make_etcd_data_dir(name: str, *, fallback: Path) -> Path:
    """A fresh directory for etcd's data: on tmpfs if the machine has one, else ``fallback``."""
    if not TMPFS.is_dir():
        log.warning("no %s: etcd data goes to %s and writes will be slower", TMPFS, fallback)
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback
    sweep_stale_etcd_dirs()
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{name}-", dir=TMPFS))
    with _lock:
        _ours.add(path)
    return path


def remove_etcd_data_dir(path: Path) -> None:
    """Delete a data directory (after its etcd stopped)."""
    shutil.rmtree(path, ignore_errors=True)
    with _lock:
        _ours.discard(path)


def sweep_stale_etcd_dirs(
    *,
    root: Path = TMPFS,
    in_use: set[Path] | None = None,
    now: float | None = None,
) -> list[Path]:
    """Remove leftover data directories under ``root``; return the removed ones."""
    in_use = etcd_data_dirs_in_use() if in_use is None else in_use
    now = time.time() if now is None else now
    with _lock:
        keep = in_use | _ours
    removed = []
    for path in root.glob(f"{PREFIX}*"):
        try:
            age = now - path.stat().st_mtime
        except OSError:
            continue  # removed meanwhile by someone else
        if path in keep or age < STALE_AFTER_SECONDS:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    if removed:
        log.info("removed %d stale etcd data directories from %s", len(removed), root)
    return removed


def etcd_data_dirs_in_use() -> set[Path]:
    """The ``--data-dir`` of every running process on this machine that has one."""
    used = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue  # the process exited, or is not ours to read
        for arg in args:
            if arg.startswith(b"--data-dir="):
                used.add(Path(arg.removeprefix(b"--data-dir=").decode(errors="replace")))
    return used
