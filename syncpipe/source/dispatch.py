"""Hand events to handlers on a thread of their own, and drive periodic resync.

The store calls ``put`` while holding its lock, from the watch thread; ``put`` only appends to an
unbounded queue, so neither the store nor the watch ever waits for a handler. One dispatch thread
per source calls the handlers, in order, one event at a time: handlers of one source never run
concurrently and see events in the order the cache applied them.

A handler that raises is logged with its traceback and counted; the next handler and the next
event go on. The same thread fires the periodic resync, so a resync never overlaps a handler.

Deliberately not done here: deduplication or coalescing of events (the runtime's work queue keeps
keys, not events, and dedups there), bounding the queue (handlers are expected to be fast — they
enqueue keys — and dropping events would lose deletes), and replaying the cache to handlers added
after start (call the source's ``resync()`` for that).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

import attrs

from syncpipe.model.events import Event

log = logging.getLogger(__name__)

Handler = Callable[[Event], None]
"""A handler receives each ``Event`` of a source, on the source's dispatch thread."""

# How long ``stop()`` waits for the dispatch thread: one handler call in progress is let finish.
STOP_JOIN_TIMEOUT = 10.0  # seconds

_STOP = object()  # the sentinel that wakes the thread on stop()


@attrs.frozen(kw_only=True)
class DispatchStatistics:
    """A snapshot of a dispatcher: its backlog and what it delivered."""

    handlers: int
    pending: int  # events queued, not yet handed to handlers
    dispatched: int  # events handed to all handlers
    handler_errors: int
    resyncs: int  # periodic resyncs fired


class EventDispatcher:
    """One thread that calls every handler for every event ``put`` on it.

    ``resync`` is called every ``resync_period`` seconds (``None``: never) from the dispatch
    thread. The period is measured in real time: it is a thread wait, which an injected clock
    cannot shorten; tests call the source's ``resync()`` directly instead.
    """

    def __init__(
        self,
        *,
        name: str = "dispatch",
        resync: Callable[[], object] | None = None,
        resync_period: float | None = None,
    ) -> None:
        if resync_period is not None and resync_period <= 0:
            raise ValueError(f"resync_period must be positive, not {resync_period}")
        self.name = name
        self._periodic = (
            (resync, resync_period) if resync is not None and resync_period is not None else None
        )
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._handlers: tuple[Handler, ...] = ()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._dispatched = self._handler_errors = self._resyncs = 0

    def add_handler(self, handler: Handler) -> None:
        """Call ``handler(event)`` for every later event (see the module docstring)."""
        with self._lock:
            self._handlers = (*self._handlers, handler)

    def put(self, event: Event) -> None:
        """Queue ``event`` for the handlers; never blocks (the store's listener)."""
        self._queue.put(event)

    def start(self) -> None:
        """Start the dispatch thread (once)."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name}: already started")
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_JOIN_TIMEOUT) -> bool:
        """Stop after the handler call in progress; queued events are dropped. ``False`` if the
        thread is still running after ``timeout``."""
        self._stopping.set()
        self._queue.put(_STOP)
        if self._thread is None or self._thread is threading.current_thread():
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def statistics(self) -> DispatchStatistics:
        """A snapshot of counters (each written only by the dispatch thread)."""
        return DispatchStatistics(
            handlers=len(self._handlers),
            pending=self._queue.qsize(),
            dispatched=self._dispatched,
            handler_errors=self._handler_errors,
            resyncs=self._resyncs,
        )

    def _run(self) -> None:
        periodic = self._periodic
        next_resync = time.monotonic() + periodic[1] if periodic is not None else None
        while not self._stopping.is_set():
            wait = None if next_resync is None else max(0.0, next_resync - time.monotonic())
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                item = None
            if self._stopping.is_set():
                return
            if isinstance(item, Event):
                self._dispatch(item)
            if periodic is not None and next_resync is not None and time.monotonic() >= next_resync:
                resync, period = periodic
                next_resync = time.monotonic() + period
                self._fire_resync(resync)

    def _dispatch(self, event: Event) -> None:
        for handler in self._handlers:
            try:
                handler(event)
            except Exception:  # the handler boundary: one bad handler must not stop the others
                self._handler_errors += 1
                log.exception(
                    "%s: handler %r failed on %s %s",
                    self.name,
                    handler,
                    event.type.value,
                    event.key,
                )
        self._dispatched += 1

    def _fire_resync(self, resync: Callable[[], object]) -> None:
        self._resyncs += 1
        try:
            resync()
        except Exception:  # a failed resync must not end dispatching
            log.exception("%s: periodic resync failed", self.name)
