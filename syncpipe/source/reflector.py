"""The reflector: keep a store equal to one API collection by list, then watch.

One thread per reflector runs client-go's loop on raw dicts:

1. **list** (paginated inside the ``ListerWatcher``) and ``store.replace(items, rv)``;
2. **watch** from that resourceVersion with bookmarks, applying ADDED/MODIFIED/DELETED to the
   store and remembering the resourceVersion of every event (bookmarks only advance it);
3. when the server ends the watch (its timeout), **re-watch** from the last resourceVersion —
   no relist, nothing missed;
4. on ``410 Gone`` (``ApiResourceExpired``) the resourceVersion is too old to watch from:
   **relist** at the latest state; ``replace`` then turns keys that vanished meanwhile into
   deletes flagged ``final_state_unknown``;
5. on any other failure wait with capped, jittered exponential backoff and **reconnect** —
   re-watch from the last resourceVersion after a watch failure, retry the list after a list
   failure, relist after an unexpected (non-API) exception since the cache may be inconsistent.

Deliberately not done here: notifying handlers (the informer owns a dispatch thread, so a slow
handler never stalls the watch), resync (from the cache, the informer's job), translating client
exceptions (``syncpipe.clients`` raises ``syncpipe.errors.Api*``), and any Kubernetes import: the
``ListerWatcher`` and ``WatchStream`` protocols below are all the reflector needs of a client, and
``syncpipe.clients`` and ``syncpipe.replay`` satisfy them structurally.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

import attrs

from syncpipe import errors
from syncpipe.model import objects
from syncpipe.model.objects import RawObject
from syncpipe.source import backoff
from syncpipe.source.recovery import RECOVERY_JITTER, ServerRecovery

log = logging.getLogger(__name__)

# The server closes each watch after ``timeoutSeconds``; client-go picks it at random in
# [5, 10) min so that the watches of many clients do not all reconnect in the same second.
WATCH_TIMEOUT_MIN = 300  # seconds
WATCH_TIMEOUT_MAX = 600  # seconds

# How long ``stop()`` waits for the reflector thread. A list in flight cannot be interrupted
# (only a watch stream can be closed), so this bounds how long shutdown can hang on one.
STOP_JOIN_TIMEOUT = 10.0  # seconds


class WatchStream(Protocol):
    """One open watch: ``(type, object)`` pairs until the server ends it or ``close()`` is called.

    ``type`` is ``ADDED``, ``MODIFIED``, ``DELETED`` or ``BOOKMARK`` (a bookmark's object carries
    only ``metadata.resourceVersion``). Iteration raises ``ApiResourceExpired`` on 410 — also when
    the server sends it as an ``ERROR`` event inside the stream — and another ``ApiError`` for
    other failures. Iteration simply ends when the server closes the watch.
    """

    def __iter__(self) -> Iterator[tuple[str, RawObject]]: ...

    def close(self) -> None:
        """Stop the stream; callable from another thread, and makes a blocked iteration end."""


class ListerWatcher(Protocol):
    """The subset of an API client the reflector uses, for one resource (and namespace)."""

    def list(self, *, resource_version: str = "") -> tuple[list[RawObject], str]:
        """All objects (complete, each with ``apiVersion``/``kind``) and the list's
        resourceVersion; paginates internally. ``""`` asks for the latest state."""
        ...

    def watch(
        self, *, resource_version: str, timeout_seconds: int, allow_bookmarks: bool
    ) -> WatchStream:
        """Open a watch starting after ``resource_version``."""
        ...


class ReflectorStore(Protocol):
    """What the reflector writes into (``syncpipe.source.store.Store`` satisfies it)."""

    def add(self, obj: RawObject) -> None: ...
    def update(self, obj: RawObject) -> None: ...
    def delete(self, obj: RawObject) -> None: ...
    def replace(self, items: Iterable[RawObject], resource_version: str) -> None: ...


@attrs.frozen(kw_only=True)
class WatchSettings:
    """How a reflector watches; the defaults are client-go's, reasons in ``source.backoff``."""

    backoff_initial: float = attrs.field(
        default=backoff.BACKOFF_INITIAL, validator=attrs.validators.gt(0)
    )
    backoff_max: float = attrs.field(default=backoff.BACKOFF_MAX, validator=attrs.validators.gt(0))
    backoff_reset_after: float = attrs.field(
        default=backoff.BACKOFF_RESET_AFTER, validator=attrs.validators.gt(0)
    )
    jitter: float = attrs.field(default=backoff.BACKOFF_JITTER, validator=attrs.validators.ge(0))
    # Bookmarks let a quiet watch advance its resourceVersion, so a reconnect after the
    # server's timeout does not fall behind the watch cache's window and hit 410.
    bookmarks: bool = True
    watch_timeout_min: int = attrs.field(
        default=WATCH_TIMEOUT_MIN, validator=attrs.validators.gt(0)
    )
    watch_timeout_max: int = attrs.field(
        default=WATCH_TIMEOUT_MAX, validator=attrs.validators.gt(0)
    )

    def backoff_policy(self) -> backoff.BackoffPolicy:
        return backoff.BackoffPolicy(
            initial=self.backoff_initial,
            maximum=self.backoff_max,
            reset_after=self.backoff_reset_after,
            jitter=self.jitter,
        )


@attrs.frozen(kw_only=True)
class ReflectorStatistics:
    """A snapshot of what a reflector did since it started."""

    name: str
    synced: bool
    resource_version: str
    lists: int  # successful lists (the first one and every relist)
    list_failures: int
    watches: int  # watch requests that opened a stream
    watch_ends: int  # streams the server ended normally (followed by a re-watch, no relist)
    restarts: int  # failures followed by a backoff and a reconnect
    expired: int  # 410 Gone answers, each followed by a relist
    events: int  # ADDED/MODIFIED/DELETED applied to the store
    bookmarks: int
    last_error: str


class Reflector:
    """Runs list → watch → re-watch/relist for one ``ListerWatcher`` into one store, in a thread.

    ``clock`` (monotonic seconds) drives the backoff reset; ``sleep(seconds)`` waits between
    retries and defaults to a wait that ``stop()`` interrupts — tests pass a recording fake so
    they never sleep; ``rng`` draws jitter and watch timeouts. With ``recovery`` (shared by
    the reflectors of one server, ``source.recovery``) a backoff wait also ends when another
    reflector reached the server again, and this one reaching it wakes the others.
    """

    def __init__(
        self,
        *,
        lister_watcher: ListerWatcher,
        store: ReflectorStore,
        name: str = "reflector",
        settings: WatchSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        rng: random.Random | None = None,
        recovery: ServerRecovery | None = None,
    ) -> None:
        self.name = name
        self.settings = settings or WatchSettings()
        self._recovery = recovery
        self._woken = threading.Event()  # set by the recovery of the server, or by stop()
        self._failing = False  # failed since the last time the server answered
        self._lw = lister_watcher
        self._store = store
        self._stopping = threading.Event()
        self._sleep = sleep or self._stopping.wait
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._backoff = backoff.Backoff(self.settings.backoff_policy(), clock=clock, rng=self._rng)
        self._synced = threading.Event()
        self._lock = threading.Lock()  # guards _stream, so stop() can close it from outside
        self._stream: WatchStream | None = None
        self._thread: threading.Thread | None = None
        self._resource_version = ""
        self._last_error: BaseException | None = None
        self._expired_without_events = False  # the last 410 came before any watch event
        self._lists = self._list_failures = self._watches = self._watch_ends = 0
        self._restarts = self._expired = self._events = self._bookmarks = 0

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the reflector thread (once)."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name}: already started")
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_JOIN_TIMEOUT) -> bool:
        """Close the open watch, cut a backoff wait short, join; ``False`` if still running."""
        self._stopping.set()
        self._woken.set()
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()
        if self._thread is None or self._thread is threading.current_thread():
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def has_synced(self) -> bool:
        """Whether the first list has been applied to the store."""
        return self._synced.is_set()

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Block until ``has_synced()`` (``True``) or the timeout (``False``)."""
        return self._synced.wait(timeout)

    @property
    def last_error(self) -> BaseException | None:
        """The most recent failure; cleared by a successful list or watch."""
        return self._last_error

    @property
    def resource_version(self) -> str:
        """The resourceVersion the next watch starts from."""
        return self._resource_version

    def statistics(self) -> ReflectorStatistics:
        """A snapshot of counters (reads are unlocked: each counter is written by one thread)."""
        return ReflectorStatistics(
            name=self.name,
            synced=self.has_synced(),
            resource_version=self._resource_version,
            lists=self._lists,
            list_failures=self._list_failures,
            watches=self._watches,
            watch_ends=self._watch_ends,
            restarts=self._restarts,
            expired=self._expired,
            events=self._events,
            bookmarks=self._bookmarks,
            last_error=repr(self._last_error) if self._last_error else "",
        )

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        """The reflector loop, until ``stop()``; ``start()`` runs it in a thread."""
        need_list = True
        while not self._stopping.is_set():
            if need_list:
                need_list = not self._list()
                continue
            need_list = self._watch()

    def _list(self) -> bool:
        """List and replace the store; ``True`` on success. Failures back off before returning."""
        # After a 410 the old resourceVersion is gone from the server's window: ask for the latest
        # state (""). Otherwise list at least as new as what we have seen.
        try:
            items, resource_version = self._lw.list(resource_version=self._resource_version)
        except errors.ApiResourceExpired as exc:
            self._expired += 1
            self._list_failures += 1
            self._last_error = exc
            if self._resource_version:
                log.info(
                    "%s: list at rv %s expired, listing latest", self.name, self._resource_version
                )
                self._resource_version = ""
                return False  # retry at once: this was not a failure of the server
            self._fail(exc)
            return False
        except Exception as exc:  # noqa: BLE001 - the reflector thread must outlive any failure
            self._list_failures += 1
            self._fail(exc)
            return False
        if self._stopping.is_set():
            return True
        self._store.replace(items, resource_version)
        self._resource_version = resource_version
        self._lists += 1
        self._last_error = None
        self._answered()
        self._synced.set()
        log.debug("%s: listed %d objects at rv %s", self.name, len(items), resource_version)
        return True

    def _watch(self) -> bool:
        """Watch until the stream ends or fails; ``True`` when a relist is needed."""
        timeout = self._rng.randint(
            self.settings.watch_timeout_min,
            max(self.settings.watch_timeout_min, self.settings.watch_timeout_max),
        )
        delivered = 0
        try:
            stream = self._lw.watch(
                resource_version=self._resource_version,
                timeout_seconds=timeout,
                allow_bookmarks=self.settings.bookmarks,
            )
            with self._lock:
                self._stream = stream
            if self._stopping.is_set():  # stop() ran before the stream was visible to it
                stream.close()
                return False
            self._watches += 1
            self._answered()
            try:
                for event_type, obj in stream:
                    if self._stopping.is_set():
                        return False
                    self._apply(event_type, obj)
                    delivered += 1
                    self._expired_without_events = False
                    self._last_error = None
            finally:
                with self._lock:
                    self._stream = None
                stream.close()
        except errors.ApiResourceExpired as exc:
            self._expired += 1
            self._last_error = exc
            if self._stopping.is_set():
                return False
            log.info(
                "%s: watch from rv %s expired (410), relisting", self.name, self._resource_version
            )
            self._resource_version = ""
            if delivered == 0 and self._expired_without_events:
                # Twice in a row a resourceVersion expired before anything arrived: the server
                # churns faster than we list. Back off rather than relist in a hot loop.
                self._fail(exc)
            self._expired_without_events = delivered == 0
            return True
        except errors.ApiError as exc:
            self._watch_failed(exc)
            return False
        except Exception as exc:  # the reflector thread must outlive any failure
            # Not an API answer: possibly a bug while applying an event, so the cache may not
            # match the server any more. Relist to be sure.
            log.exception("%s: unexpected error while watching; will relist", self.name)
            self._watch_failed(exc)
            return True
        if not self._stopping.is_set():
            self._watch_ends += 1
            self._last_error = None
            log.debug("%s: watch ended, re-watching from rv %s", self.name, self._resource_version)
        return False

    def _apply(self, event_type: str, obj: RawObject) -> None:
        resource_version = objects.resource_version_of(obj)
        if event_type == "BOOKMARK":
            self._bookmarks += 1
        elif event_type == "ADDED":
            self._store.add(obj)
            self._events += 1
        elif event_type == "MODIFIED":
            self._store.update(obj)
            self._events += 1
        elif event_type == "DELETED":
            self._store.delete(obj)
            self._events += 1
        elif event_type == "ERROR":
            # The protocol says streams raise instead; be safe with one that passes it through.
            # ``obj`` is then a ``Status``: 410 means our resourceVersion is too old.
            message = f"watch error event: {obj.get('message', obj)}"
            status = obj.get("code")
            if status == 410:
                raise errors.ApiResourceExpired(message, status=410, reason=obj.get("reason", ""))
            raise errors.ApiError(
                message,
                status=status if isinstance(status, int) else 0,
                reason=obj.get("reason", ""),
            )
        else:
            log.warning("%s: ignoring watch event of unknown type %r", self.name, event_type)
            return
        if resource_version:
            self._resource_version = resource_version

    def _watch_failed(self, exc: BaseException) -> None:
        if self._stopping.is_set():  # closing the stream from stop() may surface as an error
            return
        self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        """Record a failure and wait the next backoff delay (``stop()`` cuts the wait short)."""
        self._restarts += 1
        self._last_error = exc
        if self._stopping.is_set():
            return
        self._failing = True
        delay = self._backoff.next_delay()
        log.warning("%s: %r; retrying in %.2fs", self.name, exc, delay)
        if self._recovery is None:
            self._sleep(delay)
            return
        self._woken.clear()
        if self._stopping.is_set():
            return
        if self._recovery.wait(delay, self._woken) and not self._stopping.is_set():
            log.info("%s: the server answered another watch; retrying now", self.name)
            self._sleep(self._rng.uniform(0, RECOVERY_JITTER))

    def _answered(self) -> None:
        """The server answered a list or opened a watch: after failures, wake the reflectors
        of the same server still waiting out a backoff."""
        if self._failing:
            self._failing = False
            if self._recovery is not None:
                self._recovery.recovered()
