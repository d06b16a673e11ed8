"""The deletion circuit breaker: deletions inferred from a suspicious view are held.

A deletion is *explicit* when the upstream object was seen deleted (a watch DELETED event) or
a SyncerConfig stopped selecting it. It is *inferred* when a relist merely no longer shows the
object: an upstream list that suddenly comes back empty (RBAC revoked, wrong workspace, a
restored etcd) would otherwise wipe the edge cluster. Inferred deletions beyond a fraction of
the owned objects within one window are refused (``DeletionRefused``), logged loudly and
retried later. Once tripped the breaker stays tripped for this process: held deletions are
re-examined (an object that reappears upstream is simply no longer deleted) but not carried
out until an operator restarts the syncer with ``--confirm-held-deletions``. The SyncerConfig
condition ``DeletionsHeld`` says how many are waiting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable

from syncpipe import errors

log = logging.getLogger(__name__)

# Held deletions are re-examined this often (the operator may have fixed the upstream view).
HELD_RETRY_SECONDS = 60.0


class DeletionGuard:
    """Counts inferred deletions per window and refuses them past the threshold."""

    def __init__(
        self,
        *,
        owned_count: Callable[[], int],
        max_fraction: float,
        min_held: int,
        window: float,
        confirmed: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._owned_count = owned_count
        self._max_fraction = max_fraction
        self._min_held = min_held
        self._window = window
        self._confirmed = confirmed
        self._clock = clock
        self._lock = threading.Lock()
        self._window_start = clock()
        self._inferred_in_window = 0
        self.held: set[Hashable] = set()
        self.tripped = False

    def check(self, key: Hashable, *, inferred: bool) -> None:
        """Return if ``key`` may be deleted now; raise ``RetryableError`` to hold it."""
        if not inferred or self._confirmed:
            return
        with self._lock:
            now = self._clock()
            if now - self._window_start > self._window:
                self._window_start = now
                self._inferred_in_window = 0
            limit = max(self._min_held, int(self._owned_count() * self._max_fraction))
            if self.tripped or self._inferred_in_window >= limit:
                self.tripped = True
                if key not in self.held:
                    log.error(
                        "deletion circuit breaker: holding the deletion of %s: %d deletions "
                        "inferred from relists this window (limit %d). The upstream view may "
                        "be incomplete; restart with --confirm-held-deletions to let them through",
                        key,
                        self._inferred_in_window,
                        limit,
                    )
                self.held.add(key)
                raise errors.RetryableError(
                    "deletion held by the circuit breaker", delay=HELD_RETRY_SECONDS
                )
            self._inferred_in_window += 1
            self.held.discard(key)
