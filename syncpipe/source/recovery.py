"""Reflectors of one API server retry together once it answers again.

When a server goes away (restarted, upgraded, a network blip), every reflector watching it
fails and backs off on its own, jittered and capped (``source.backoff``): after an outage of
ten seconds some wait half a minute more before they try again, and their part of the cache
stays stale that long, while writes to the same server already succeed. So the reflectors of
one server share a ``ServerRecovery``: the first to reach the server again after failing
wakes the others out of their backoff waits; each then retries after a short jitter of its
own (``RECOVERY_JITTER``), which still spreads a syncer's few dozen reconnects apart.

client-go's reflectors back off independently; this is syncpipe's addition, because a
syncer's watches all go to the same two servers and recover together.
"""

from __future__ import annotations

import threading

# Longest extra wait of a woken reflector, seconds (drawn uniformly from [0, this)).
RECOVERY_JITTER = 0.5


class ServerRecovery:
    """Wakes the reflectors waiting out a backoff on one server (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: set[threading.Event] = set()
        self.wakeups = 0  # reflectors woken early, for statistics and tests

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        """Wait up to ``seconds`` for ``wake`` (set by ``recovered`` or by its owner, e.g. on
        stop); ``True`` when woken early."""
        with self._lock:
            self._waiting.add(wake)
        try:
            return wake.wait(seconds)
        finally:
            with self._lock:
                self._waiting.discard(wake)

    def recovered(self) -> int:
        """The server answered again: wake every reflector waiting; how many were."""
        with self._lock:
            waiting = list(self._waiting)
            self.wakeups += len(waiting)
        for wake in waiting:
            wake.set()
        return len(waiting)
