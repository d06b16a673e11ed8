"""Work queues in virtual time, with the live controller's retry decisions.

The live syncer has one rate-limited work queue per controller and worker threads; delays
(status return's settle window, "retry in 1 s", per-key exponential backoff) pass in real
time. A replay has the same queues, but time is the snapshot's: ``now`` only moves forward
when the engine says so, and delayed keys become due at a virtual instant. Keys are taken
from a queue in sorted order, so every run does the same work in the same order.

``failed`` classifies an error exactly as ``runtime.controller.Controller.handle_error``
does (by type, never by message): conflicts are retried at once a few times, ``Retryable``
errors after their delay, terminal errors (``TerminalError``, ``ApiInvalid``,
``ObjectHookError``: a plugin failing on the object) are rejections, anything else backs off
exponentially. Once ``finishing`` (after the last record), a key is retried at most
``RETRIES_AFTER_END`` more times and then reported as pending instead of being retried forever.
"""

from __future__ import annotations

import heapq
import logging

from syncpipe import errors
from syncpipe.model.keys import ObjectKey
from syncpipe.replay.plan import Pending, Rejection
from syncpipe.runtime.ratelimit import ItemExponentialRateLimiter

log = logging.getLogger(__name__)

# The live controller retries a conflicting write at once this often before backing off.
IMMEDIATE_CONFLICT_RETRIES = 3
# After the last record, a key that keeps failing is retried this many more times.
RETRIES_AFTER_END = 5

Item = tuple[str, ObjectKey]


def _order(key: ObjectKey) -> tuple[str, str, str, str, str]:
    """``ObjectKey``'s own order as one tuple, built once per key: sorting with attrs'
    generated comparisons builds two tuples per comparison, which showed in profiles."""
    gvr = key.gvr
    return (gvr.group, gvr.version, gvr.resource, key.namespace, key.name)


class Scheduler:
    """Named keyed queues (sets: a key queued twice is reconciled once) and a delay heap."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.now = 0.0
        self.finishing = False
        self._queues: dict[str, set[ObjectKey]] = {name: set() for name in names}
        self._delayed: dict[Item, float] = {}
        # (due, sequence, queue, key): the sequence breaks ties without comparing keys; keys
        # released together are sorted when taken, so it does not decide the order.
        self._heap: list[tuple[float, int, str, ObjectKey]] = []
        self._pushed = 0
        self._backoff = ItemExponentialRateLimiter()
        self._conflicts: dict[Item, int] = {}
        self._final_attempts: dict[Item, int] = {}
        self.rejected: list[Rejection] = []
        self.pending: list[Pending] = []

    # -- queueing ------------------------------------------------------------------------------

    def queue(self, name: str) -> ScheduledQueue:
        """Queue ``name`` as the pipeline sees a work queue (``runtime.pipeline.Queue``)."""
        return ScheduledQueue(self, name)

    def add(self, name: str, key: ObjectKey) -> None:
        self._queues[name].add(key)

    def add_after(self, name: str, key: ObjectKey, delay: float) -> None:
        """Queue ``key`` at ``now + delay``; an earlier pending due time wins (client-go)."""
        due = self.now + max(0.0, delay)
        current = self._delayed.get((name, key))
        if current is None or due < current:
            self._delayed[(name, key)] = due
            self._pushed += 1
            heapq.heappush(self._heap, (due, self._pushed, name, key))

    @property
    def busy(self) -> bool:
        """Whether a queue holds a key now."""
        return any(self._queues.values())

    def take(self, name: str) -> list[ObjectKey]:
        """Every key of queue ``name``, sorted, and the queue emptied."""
        keys = sorted(self._queues[name], key=_order)
        self._queues[name].clear()
        return keys

    def next_due(self) -> float | None:
        """When the earliest delayed key is due (``None``: nothing delayed)."""
        while self._heap:
            due, _, name, key = self._heap[0]
            if self._delayed.get((name, key)) == due:
                return due
            heapq.heappop(self._heap)  # superseded by an earlier due time
        return None

    def release_next(self, until: float) -> bool:
        """Queue the delayed keys of the earliest due time if it is ``<= until``, and move
        ``now`` there; ``False`` when nothing is due by then."""
        due = self.next_due()
        if due is None or due > until:
            return False
        while self._heap and self._heap[0][0] == due:
            _, _, name, key = heapq.heappop(self._heap)
            if self._delayed.get((name, key)) == due:
                del self._delayed[(name, key)]
                self.add(name, key)
        self.now = max(self.now, due)
        return True

    def abandon_queued(self, *, error_type: str, message: str) -> None:
        """Report every queued key as pending and empty the queues."""
        for name in self.names:
            for key in self.take(name):
                self.pending.append(
                    Pending(flow=name, key=key, error_type=error_type, message=message)
                )

    # -- outcomes ------------------------------------------------------------------------------

    def succeeded(self, name: str, key: ObjectKey) -> None:
        item = (name, key)
        self._backoff.forget(item)
        self._conflicts.pop(item, None)

    def failed(self, name: str, key: ObjectKey, exc: Exception) -> bool:
        """Requeue as the live controller would; ``True`` when the live syncer would report
        the error (a rejection, kept in ``rejected``, or a field fight naming its writers)."""
        item = (name, key)
        if isinstance(exc, errors.TerminalError | errors.ApiInvalid | errors.ObjectHookError):
            rejection = Rejection(
                t=self.now, flow=name, key=key, error_type=type(exc).__name__, message=str(exc)
            )
            self.rejected.append(rejection)
            self._backoff.forget(item)
            return True
        if isinstance(exc, errors.ApiConflict):
            count = self._conflicts.get(item, 0) + 1
            self._conflicts[item] = count
            if count <= IMMEDIATE_CONFLICT_RETRIES:
                self._retry(item, 0.0, exc)
                return False
        if isinstance(exc, errors.ApiTooManyRequests) and exc.retry_after:
            self._retry(item, exc.retry_after, exc)
        elif isinstance(exc, errors.RetryableError) and exc.delay is not None:
            self._retry(item, exc.delay, exc)
            return bool(getattr(exc, "managers", None))  # a field fight, with its writers
        else:
            if not isinstance(exc, errors.SyncpipeError):
                log.error("replay: unexpected error on %s %s", name, key, exc_info=exc)
            self._retry(item, self._backoff.when(item), exc)
        return False

    def _retry(self, item: Item, delay: float, exc: Exception) -> None:
        name, key = item
        if self.finishing:
            attempts = self._final_attempts.get(item, 0) + 1
            self._final_attempts[item] = attempts
            if attempts > RETRIES_AFTER_END:
                self.pending.append(
                    Pending(flow=name, key=key, error_type=type(exc).__name__, message=str(exc))
                )
                return
        if delay <= 0.0:
            self.add(name, key)
        else:
            self.add_after(name, key, delay)


class ScheduledQueue:
    """One of a ``Scheduler``'s queues, with a work queue's ``add`` and ``add_after``."""

    def __init__(self, scheduler: Scheduler, name: str) -> None:
        self._scheduler = scheduler
        self._name = name

    def add(self, key: ObjectKey) -> None:
        self._scheduler.add(self._name, key)

    def add_after(self, key: ObjectKey, delay: float) -> None:
        """At a virtual time ``delay`` from now; now (not on the delay heap) if ``<= 0``."""
        if delay > 0:
            self._scheduler.add_after(self._name, key, delay)
        else:
            self._scheduler.add(self._name, key)
