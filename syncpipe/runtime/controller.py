"""The worker loop: key → reconcile → forget or requeue, with error handling in one place.

Errors are classified by type, never by message: conflicts are retried at once (with fresh
state), throttling, server errors, unreachable servers and ``RetryableError`` are requeued with
per-key backoff, RBAC/credential errors are requeued too (they get fixed from outside) and
reported, ``TerminalError``/``ApiInvalid``/``ObjectHookError`` (a plugin failing on the
object, e.g. ``TransformError``) are reported and forgotten until
the object changes again. An unknown exception is a bug: it is logged with its traceback and
requeued with backoff, never allowed to kill a worker.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from syncpipe import errors
from syncpipe.runtime import metrics, ratelimit
from syncpipe.runtime.workqueue import WorkQueue

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)

Reconcile = Callable[[K], None]
Reporter = Callable[[K, Exception], None]

# How long a worker waits in ``get`` before checking for shutdown again.
WORKER_POLL_SECONDS = 0.5
# Retries while the other side is unavailable: 0.5 s doubling to 10 s per key, jittered.
UNAVAILABLE_BASE_DELAY = 0.5
UNAVAILABLE_MAX_DELAY = 10.0
# A conflicting write is retried at once a few times before falling back to backoff.
IMMEDIATE_CONFLICT_RETRIES = 3
# A key that has waited this long (an API not served yet, a cache not synced) is logged at
# INFO once: its retries are DEBUG, and a wait that does not end must still be visible.
LONG_WAIT_SECONDS = 30.0


class Controller(Generic[K]):
    """``workers`` threads draining ``queue`` into ``reconcile``."""

    def __init__(
        self,
        *,
        name: str,
        queue: WorkQueue[K],
        reconcile: Reconcile[K],
        workers: int = 4,
        on_rejected: Reporter[K] | None = None,
        on_success: Callable[[K], None] | None = None,
    ) -> None:
        self.name = name
        self.queue = queue
        self._reconcile = reconcile
        self._workers = workers
        self._on_rejected = on_rejected
        self._on_success = on_success
        # A side that is down (unreachable, 5xx) is retried per key with its own capped
        # backoff, not through the shared token bucket: after an outage every pending key must
        # not queue behind a 10/s allowance (300 keys took 22 s to recover that way).
        self._unavailable = ratelimit.ItemExponentialRateLimiter(
            base=UNAVAILABLE_BASE_DELAY, cap=UNAVAILABLE_MAX_DELAY
        )
        self._threads: list[threading.Thread] = []
        self._conflicts: dict[K, int] = {}
        # Keys retrying a RetryableError: since when, and whether the long wait was logged.
        self._waiting: dict[K, tuple[float, bool]] = {}
        self._lock = threading.Lock()
        self.reconciles = 0
        self.failures = 0

    def start(self) -> None:
        for i in range(self._workers):
            thread = threading.Thread(target=self._run, name=f"{self.name}-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> bool:
        """Drain: no new keys, in-flight reconciles finish (within ``timeout``)."""
        drained = self.queue.shutdown(drain=True, timeout=timeout)
        for thread in self._threads:
            thread.join(timeout=1.0)
        return drained

    def _run(self) -> None:
        while not self.queue.shutting_down:
            key = self.queue.get(timeout=WORKER_POLL_SECONDS)
            if key is None:
                continue
            try:
                self._process(key)
            finally:
                self.queue.done(key)

    def _process(self, key: K) -> None:
        started = time.monotonic()
        try:
            self._reconcile(key)
        except Exception as exc:  # noqa: BLE001 - classified below, never kills the worker
            with self._lock:
                self.failures += 1
            metrics.ERRORS.labels(self.name, type(exc).__name__).inc()
            self.handle_error(key, exc)
        else:
            resource = getattr(getattr(key, "gvr", None), "group_resource", "")
            metrics.reconcile_seconds(self.name, resource).observe(time.monotonic() - started)
            with self._lock:
                self.reconciles += 1
                self._conflicts.pop(key, None)
                self._waiting.pop(key, None)
            self.queue.forget(key)
            self._unavailable.forget(key)
            if self._on_success is not None:
                self._on_success(key)

    def handle_error(self, key: K, exc: Exception) -> None:
        """Decide, by the error's type, whether ``key`` is retried and how soon."""
        if isinstance(exc, errors.ApiConflict):
            with self._lock:
                count = self._conflicts.get(key, 0) + 1
                self._conflicts[key] = count
            if count <= IMMEDIATE_CONFLICT_RETRIES:
                log.debug("%s: conflict on %s, retrying with fresh state", self.name, key)
                self.queue.add(key)
            else:
                self.queue.add_rate_limited(key)
            return
        if isinstance(exc, errors.ApiTooManyRequests) and exc.retry_after:
            self.queue.add_after(key, exc.retry_after)
            return
        if isinstance(exc, errors.RetryableError) and exc.delay is not None:
            if getattr(exc, "managers", None):
                log.warning("%s: %s", self.name, exc)
                self._report(key, exc)
            else:
                log.debug("%s: %s: %s (retry in %.2fs)", self.name, key, exc, exc.delay)
                self._note_wait(key, exc)
            self.queue.add_after(key, exc.delay)
            return
        if isinstance(exc, errors.TerminalError | errors.ApiInvalid | errors.ObjectHookError):
            log.warning("%s: %s rejected: %s", self.name, key, exc)
            self._report(key, exc)
            self.queue.forget(key)
            with self._lock:
                self._waiting.pop(key, None)
            return
        if isinstance(exc, errors.ApiUnreachable | errors.ApiServerError):
            delay = self._unavailable.when(key) * (1 + random.random() / 2)  # noqa: S311 - jitter
            log.info("%s: %s: %s (retry in %.1fs)", self.name, key, exc, delay)
            self.queue.add_after(key, delay)
            return
        if isinstance(exc, errors.ApiUnauthorized | errors.ApiForbidden):
            log.warning("%s: %s: access denied, will retry: %s", self.name, key, exc)
            self._report(key, exc)
        elif isinstance(exc, errors.SyncpipeError):
            log.info("%s: %s: %s (will retry)", self.name, key, exc)
        else:
            log.error("%s: unexpected error on %s", self.name, key, exc_info=exc)
        self.queue.add_rate_limited(key)

    def _note_wait(self, key: K, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            since, logged = self._waiting.setdefault(key, (now, False))
            if logged or now - since < LONG_WAIT_SECONDS:
                return
            self._waiting[key] = (since, True)
        log.info("%s: %s still waiting after %.0fs: %s", self.name, key, now - since, exc)

    def _report(self, key: K, exc: Exception) -> None:
        if self._on_rejected is None:
            return
        try:
            self._on_rejected(key, exc)
        except Exception:
            log.exception("%s: reporting the failure of %s failed", self.name, key)
