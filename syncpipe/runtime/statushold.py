"""Status return waits while downsync has a backlog, for a bounded time.

During an initial sync (or any burst of upstream changes) the edge cluster's controllers
start writing status onto the fresh copies at once: a new Deployment's status changes
several times in its first seconds (ReplicaSet created, Pods pending, replicas counted).
Returning each of those upstream while thousands of copies are still to be created costs
the mailbox API server a write per change and the syncer a reconcile, all competing with
the downsync itself; what the upstream wants to see is the status once things settle.

So a status-return key whose turn comes while the downsync queue holds at least
``threshold`` keys is put back for a while (``STATUS_HOLD_RECHECK_SECONDS``) instead, and
the status written later folds all the changes in between into one write. The wait is
bounded per key (``max_hold`` seconds from the first time it was held): under a downsync
load that never ends, status still comes back, only later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

# Downsync keys waiting that count as a backlog (a few per write worker).
STATUS_HOLD_BACKLOG = 16
# A status-return key is held for at most this long, whatever the backlog.
STATUS_MAX_HOLD_SECONDS = 10.0
# A held key looks again this soon (or after the settle window, if that is longer): every
# look is a reconcile of the status queue, so not every half second for every copy.
STATUS_HOLD_RECHECK_SECONDS = 1.0


class StatusHold:
    """Decides whether a status-return key waits for the downsync backlog to clear."""

    def __init__(
        self,
        backlog: Callable[[], int],
        *,
        threshold: int = STATUS_HOLD_BACKLOG,
        max_hold: float = STATUS_MAX_HOLD_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._backlog = backlog
        self._threshold = threshold
        self._max_hold = max_hold
        self._clock = clock
        self._held_since: dict[Hashable, float] = {}
        self._lock = threading.Lock()
        self.held = 0  # how many times a key was put back (for statistics)

    def should_wait(self, key: Hashable) -> bool:
        """True: put ``key`` back for a while; False: return its status now."""
        now = self._clock()
        with self._lock:
            if self._backlog() < self._threshold:
                self._held_since.pop(key, None)
                return False
            since = self._held_since.setdefault(key, now)
            if now - since >= self._max_hold:
                del self._held_since[key]
                return False
            self.held += 1
            return True
