"""A fallback source that lists every few seconds and diffs the result against its store.

For servers or resources where watch does not work (some aggregated APIs, proxies that cut long
requests), ``PollingSource`` offers the informer's interface with list alone: each poll replaces
the store, which emits ``ADDED``/``MODIFIED`` for what changed and ``DELETED`` (flagged
``final_state_unknown``: the object's last state between polls is unknown) for what vanished.
Unchanged objects produce no event, so a poll costs the pipeline only what changed.

Deliberately not done here: backoff beyond the poll interval (a failed poll is simply retried at
the next one; the interval already bounds the load), and choosing between polling and watching
(the registry does, from discovery's verbs or configuration).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import attrs

from syncpipe.model.events import Side
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import GroupVersionResource
from syncpipe.source import dispatch, store

log = logging.getLogger(__name__)

# One full list per resource every 30 s is a light load even on a small control plane, and is
# as quick as a watch reconnect after a few failures would be anyway.
DEFAULT_POLL_INTERVAL = 30.0  # seconds

# How long ``stop()`` waits for the poll thread: a list in flight cannot be interrupted.
STOP_JOIN_TIMEOUT = 10.0  # seconds


class Lister(Protocol):
    """The subset of a client polling needs (every ``ListerWatcher`` is one)."""

    def list(self, *, resource_version: str = "") -> tuple[list[RawObject], str]:
        """All objects and the list's resourceVersion; ``""`` asks for the latest state."""
        ...


@attrs.frozen(kw_only=True)
class PollingStatistics:
    """A snapshot of a polling source."""

    name: str
    synced: bool
    polls: int
    poll_failures: int
    last_error: str
    store: store.StoreStatistics
    dispatch: dispatch.DispatchStatistics


class PollingSource:
    """List one resource every ``interval`` seconds into a store and notify handlers of changes.

    ``sleep(seconds)`` waits between polls (default: a wait ``stop()`` interrupts; tests pass a
    fake); ``clock`` stamps ``Event.observed_at``; ``resync_period`` as for the ``Informer``.
    """

    def __init__(
        self,
        *,
        gvr: GroupVersionResource,
        side: Side,
        lister: Lister,
        name: str = "",
        interval: float = DEFAULT_POLL_INTERVAL,
        resync_period: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, not {interval}")
        self.name = name or f"{side.value}:{gvr}:poll"
        self.interval = interval
        self._lister = lister
        self._dispatcher = dispatch.EventDispatcher(
            name=f"{self.name}:dispatch", resync=self.resync, resync_period=resync_period
        )
        self._store = store.Store(gvr=gvr, side=side, listener=self._dispatcher.put, clock=clock)
        self._stopping = threading.Event()
        self._sleep = sleep or self._stopping.wait
        self._synced = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error: BaseException | None = None
        self._polls = self._poll_failures = 0

    @property
    def store(self) -> store.Store:
        """The cache: read the current object of a key here."""
        return self._store

    def add_handler(self, handler: dispatch.Handler) -> None:
        """Call ``handler(event)`` for every later event, on the dispatch thread."""
        self._dispatcher.add_handler(handler)

    def start(self) -> None:
        """Start the dispatch thread, then the poll thread."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name}: already started")
        self._dispatcher.start()
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_JOIN_TIMEOUT) -> bool:
        """Stop polling and dispatching; ``False`` if a thread still runs after ``timeout``."""
        self._stopping.set()
        poller_stopped = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            poller_stopped = not self._thread.is_alive()
        return self._dispatcher.stop(timeout) and poller_stopped

    def run(self) -> None:
        """Poll until ``stop()``; ``start()`` runs it in a thread."""
        while not self._stopping.is_set():
            self.poll_once()
            if self._stopping.is_set():
                return
            self._sleep(self.interval)

    def poll_once(self) -> bool:
        """List once and apply the difference to the store; ``True`` on success."""
        try:
            items, resource_version = self._lister.list(resource_version="")
        except Exception as exc:  # noqa: BLE001 - a failed poll is retried at the next one
            self._poll_failures += 1
            self._last_error = exc
            log.warning("%s: poll failed: %r; next try in %.1fs", self.name, exc, self.interval)
            return False
        self._store.replace(items, resource_version, report_unchanged=False)
        self._polls += 1
        self._last_error = None
        self._synced.set()
        return True

    def has_synced(self) -> bool:
        """Whether a first poll succeeded."""
        return self._synced.is_set()

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Block until ``has_synced()`` (``True``) or ``timeout`` seconds passed (``False``)."""
        return self._synced.wait(timeout)

    def resync(self) -> int:
        """Emit ``RESYNC`` for every cached object from the cache; 0 before the first poll."""
        if not self.has_synced():
            return 0
        return self._store.resync()

    @property
    def last_error(self) -> BaseException | None:
        """The most recent poll failure, ``None`` after a successful poll."""
        return self._last_error

    def statistics(self) -> PollingStatistics:
        """A snapshot of poll counters, the store and the dispatcher."""
        return PollingStatistics(
            name=self.name,
            synced=self.has_synced(),
            polls=self._polls,
            poll_failures=self._poll_failures,
            last_error=repr(self._last_error) if self._last_error else "",
            store=self._store.statistics(),
            dispatch=self._dispatcher.statistics(),
        )
