"""The work queue between sources and workers: keys, deduplicated, never processed twice at once.

client-go's workqueue semantics, on an injected clock:

- **Keys, not events.** A key waiting in the queue is queued once however many times it is added:
  the worker reads the current state from the cache, so ten events for one object are one
  reconcile.
- **Stingy.** A key a worker is processing is never handed to a second worker. Added again
  meanwhile, it is remembered ("dirty") and queued when the first worker calls ``done(key)``, so
  the change that arrived during processing is not lost.
- **Fair.** Keys come out in the order they were first added (FIFO).
- **Delayed and rate-limited adds.** ``add_after`` parks a key until ``clock() + delay`` (a heap;
  the earlier of two delays for one key wins); ``add_rate_limited`` takes the delay from the rate
  limiter (per-key exponential backoff and a global bucket); ``forget`` resets a key's backoff
  after success.
- **Graceful shutdown.** ``shutdown(drain=True)`` stops accepting keys, makes ``get`` return
  ``None`` at once and waits until every key being processed is ``done``. Keys still queued or
  parked are dropped: the queue is level-triggered state that the next start rebuilds from its
  initial lists, so nothing is lost by not finishing it.

No timer thread: delayed keys become ready inside ``get`` (and ``len``, ``statistics``), which
compares the heap with the injected clock, so unit tests advance a fake clock and call
``get(timeout=0)`` without sleeping. A worker blocked in ``get`` sleeps (real time) until the
earliest parked key is due or a key arrives; only that wait, and ``get``'s ``timeout``, are real
time, because a thread wait cannot be faked.

Deliberately not done here: calling workers (``runtime/controller.py`` runs the loop) and deciding
what is retried (the controller's error handler does, by error type).
"""

from __future__ import annotations

import collections
import heapq
import itertools
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import attrs

from syncpipe.runtime import ratelimit

K = TypeVar("K", bound=Hashable)


@attrs.frozen(kw_only=True)
class QueueStatistics:
    """A snapshot of a work queue."""

    name: str
    depth: int  # keys ready for a worker
    waiting: int  # keys parked by add_after / add_rate_limited, not yet due
    processing: int  # keys handed to workers, not yet done
    adds: int  # keys accepted by add (including ones that were already queued)
    deduplicated: int  # adds absorbed because the key was already queued or being processed
    retries: int  # add_rate_limited calls
    longest_running: float  # seconds the oldest key in processing has been worked on
    shutting_down: bool


class WorkQueue(Generic[K]):
    """A keyed, deduplicating, stingy FIFO with delayed and rate-limited adds (module docstring).

    ``rate_limiter`` defaults to client-go's controller default on ``clock``; ``clock`` decides
    when parked keys are due and how long keys have been processing.
    """

    def __init__(
        self,
        *,
        name: str = "workqueue",
        rate_limiter: ratelimit.RateLimiter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._clock = clock
        self._limiter = rate_limiter or ratelimit.default_controller_rate_limiter(clock=clock)
        self._cond = threading.Condition(threading.Lock())
        self._queue: collections.deque[K] = collections.deque()
        self._dirty: set[K] = set()  # queued, or re-added while processing
        self._processing: dict[K, float] = {}  # key → when it was handed out
        self._parked: dict[K, float] = {}  # key → when it is due
        self._heap: list[
            tuple[float, int, K]
        ] = []  # (due, tie-breaker, key); stale entries allowed
        self._sequence = itertools.count()
        self._shutting_down = False
        self._adds = self._deduplicated = self._retries = 0

    # -- adding ---------------------------------------------------------------------------------

    def add(self, key: K) -> None:
        """Queue ``key`` unless it is already queued; after shutdown, ignored."""
        with self._cond:
            self._add_locked(key)

    def add_after(self, key: K, delay: float) -> None:
        """Queue ``key`` once ``delay`` seconds of the clock have passed (at once if ``<= 0``)."""
        with self._cond:
            self._add_after_locked(key, delay)

    def add_rate_limited(self, key: K) -> None:
        """Queue ``key`` after the rate limiter's delay for it (and count a retry)."""
        with self._cond:
            if self._shutting_down:
                return
            self._retries += 1
            self._add_after_locked(key, self._limiter.when(key))

    def forget(self, key: K) -> None:
        """``key`` succeeded or was given up: reset its backoff (does not unqueue it)."""
        with self._cond:
            self._limiter.forget(key)

    def retries(self, key: K) -> int:
        """How many rate-limited retries ``key`` had since it was last forgotten."""
        with self._cond:
            return self._limiter.retries(key)

    # -- working --------------------------------------------------------------------------------

    def get(self, timeout: float | None = None) -> K | None:
        """The next ready key, now marked as processing; ``None`` on timeout or after shutdown.

        ``timeout=None`` blocks until a key is ready or the queue shuts down; ``0`` never blocks.
        Every key returned must be given back with ``done(key)``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._shutting_down:
                    return None
                now = self._clock()
                self._release_due_locked(now)
                if self._queue:
                    key = self._queue.popleft()
                    self._dirty.discard(key)
                    self._processing[key] = now
                    return key
                wait = None if deadline is None else deadline - time.monotonic()
                if wait is not None and wait <= 0:
                    return None
                if self._heap:
                    until_due = max(0.0, self._heap[0][0] - now)
                    wait = until_due if wait is None else min(wait, until_due)
                self._cond.wait(wait)

    def done(self, key: K) -> None:
        """A worker finished ``key``; if it was added meanwhile, it is queued again now."""
        with self._cond:
            self._processing.pop(key, None)
            if key in self._dirty and not self._shutting_down:
                self._queue.append(key)
                self._cond.notify()  # one worker for the requeued key, not every idle one
            if self._shutting_down:
                self._cond.notify_all()  # a draining shutdown() waits on the same condition

    def shutdown(self, *, drain: bool = True, timeout: float | None = None) -> bool:
        """Stop accepting keys and make ``get`` return ``None``; with ``drain``, wait until every
        key being processed is done. Returns whether nothing is processing any more."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._shutting_down = True
            self._parked.clear()
            self._heap.clear()
            self._cond.notify_all()
            while drain and self._processing:
                wait = None if deadline is None else deadline - time.monotonic()
                if wait is not None and wait <= 0:
                    break
                self._cond.wait(wait)
            return not self._processing

    @property
    def shutting_down(self) -> bool:
        with self._cond:
            return self._shutting_down

    def __len__(self) -> int:
        """Keys ready for a worker (parked and processing keys not counted)."""
        with self._cond:
            self._release_due_locked(self._clock())
            return len(self._queue)

    def statistics(self) -> QueueStatistics:
        """A consistent snapshot of depth, counters and the longest-running key's age."""
        with self._cond:
            now = self._clock()
            self._release_due_locked(now)
            oldest = min(self._processing.values(), default=now)
            return QueueStatistics(
                name=self.name,
                depth=len(self._queue),
                waiting=len(self._parked),
                processing=len(self._processing),
                adds=self._adds,
                deduplicated=self._deduplicated,
                retries=self._retries,
                longest_running=now - oldest,
                shutting_down=self._shutting_down,
            )

    # -- internals (called with the lock held) -------------------------------------------------

    def _add_locked(self, key: K) -> None:
        if self._shutting_down:
            return
        self._adds += 1
        if key in self._dirty:
            self._deduplicated += 1
            return
        self._dirty.add(key)
        if key in self._processing:
            self._deduplicated += 1  # done() queues it
            return
        self._queue.append(key)
        self._cond.notify()

    def _add_after_locked(self, key: K, delay: float) -> None:
        if self._shutting_down:
            return
        if delay <= 0:
            self._add_locked(key)
            return
        due = self._clock() + delay
        parked = self._parked.get(key)
        if parked is not None and parked <= due:
            return  # already due sooner
        self._parked[key] = due
        heapq.heappush(self._heap, (due, next(self._sequence), key))
        # A worker waiting for a later key must shorten its wait.
        self._cond.notify_all()

    def _release_due_locked(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            due, _, key = heapq.heappop(self._heap)
            if self._parked.get(key) != due:
                continue  # superseded by an earlier due time
            del self._parked[key]
            self._add_locked(key)
