"""When a status change is returned upstream: at once if the object was quiet, else folded.

Status return used to wait a fixed settle window after every change, so that a burst of
changes cost one upstream write: an isolated change reached the mailbox ~510 ms after it
happened, against a floor of ~2.5 ms (one write and one watch notification). Bursts are
the exception, so the window now applies only to them, as a leading + trailing edge
debounce per key:

* the first change of a quiet key (no status release within ``window``) is released at once;
* a change within ``window`` after a release waits for the end of that window, and every
  further change until then folds into the same trailing release (the queue holds a key
  once; the reconcile reads the latest status).

So a key is released at most once per ``window``: a burst of 20 changes in one second with a
0.5 s window costs at most 3 upstream writes (at 0, 0.5 and 1.0 s), and an isolated change
costs none of the window. The decision is made when the change is seen (the release time
is a delay for the status queue) with an injected clock, so the live syncer and the replay
engine (in virtual time) share it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

# Keys remembered before stale ones (released more than a window ago) are forgotten.
PRUNE_ABOVE = 4096


class StatusPacer:
    """Per key: the delay before the status queue takes a changed key (leading + trailing)."""

    def __init__(self, *, window: float, clock: Callable[[], float]) -> None:
        self._window = window
        self._clock = clock
        # Time of each key's latest release, scheduled or done.
        self._released: dict[Hashable, float] = {}
        # Check-then-act on one key's entry from several informers' dispatch threads.
        self._lock = threading.Lock()

    def delay(self, key: Hashable) -> float:
        """Seconds until ``key``'s status should be returned (0: now)."""
        now = self._clock()
        window = self._window
        with self._lock:
            last = self._released.get(key)
            if last is not None and now < last:
                return last - now  # a trailing release is scheduled: this change joins it
            # Quiet: the leading edge, now; else the trailing edge of the last one's window.
            release = now if last is None or now - last >= window else last + window
            self._released[key] = release
            if len(self._released) > PRUNE_ABOVE:
                self._prune(now)
            return release - now

    def _prune(self, now: float) -> None:
        stale = [k for k, t in self._released.items() if now - t >= self._window]
        for key in stale:
            del self._released[key]
