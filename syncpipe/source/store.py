"""The local cache of one resource on one side, and the events its changes produce.

A ``Store`` maps ``ObjectKey`` → the latest object seen, like client-go's thread-safe store, and
tells a listener about every change as an ``Event``. The listener is called while the store's
lock is held, so listeners see changes in exactly the order the cache applied them; it must
therefore only hand the event on (the informer puts it on its dispatch queue) and never block.

``replace(items, rv)`` is the relist path: it diffs a complete list against the cache, so keys
that vanished while the watch was disconnected come out as ``DELETED`` with
``final_state_unknown=True`` (client-go's ``DeletedFinalStateUnknown``).

Deliberately not done here:

- No resourceVersion ordering between objects. RVs are opaque strings to clients; the server
  delivers events in order, so the store applies them in the order given. RVs are only ever
  compared for *equality* (same RV ⇒ same content).
- No copying: objects are never mutated once in the pipeline, so the cache and the events
  share the dicts they were given.
- No indexes beyond the key (no label or namespace indexes): nothing in syncpipe needs them yet.
"""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable, Iterable, Iterator

import attrs

from syncpipe.model import objects
from syncpipe.model.events import Event, EventType, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import GroupVersionResource

EventListener = Callable[[Event], None]


def _discard(event: Event) -> None:
    """The default listener: a store used as a plain cache."""


@attrs.frozen(kw_only=True)
class StoreStatistics:
    """A snapshot of a store's size and the number of changes it applied, by kind."""

    objects: int
    resource_version: str
    added: int
    modified: int
    deleted: int
    inferred_deletes: int
    replaces: int
    resyncs: int


def unchanged(old: RawObject, new: RawObject) -> bool:
    """Whether a relisted object is the one already cached.

    Equal non-empty resourceVersions mean equal content (a server guarantee), which is cheap;
    objects without one (some aggregated APIs) are compared by value.
    """
    old_rv = objects.resource_version_of(old)
    if old_rv and old_rv == objects.resource_version_of(new):
        return True
    return old == new


@attrs.define
class _Counters:
    added: int = 0
    modified: int = 0
    deleted: int = 0
    inferred_deletes: int = 0
    replaces: int = 0
    resyncs: int = 0


class Store:
    """Thread-safe ``ObjectKey`` → object cache for one resource, emitting an ``Event`` per change.

    ``side`` and ``gvr`` label the keys and events; ``clock`` stamps ``Event.observed_at``;
    ``listener`` receives every event (see the module docstring for what it may do).
    """

    def __init__(
        self,
        *,
        gvr: GroupVersionResource,
        side: Side,
        listener: EventListener | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gvr = gvr
        self.side = side
        self._listener = listener or _discard
        self._clock = clock
        self._lock = threading.RLock()
        self._items: dict[ObjectKey, RawObject] = {}
        self._resource_version = ""
        self._counts = _Counters()

    # -- reading -------------------------------------------------------------------------------

    def key_of(self, obj: RawObject) -> ObjectKey:
        """The key ``obj`` is cached under."""
        return ObjectKey.from_object(self.gvr, obj)

    def get(self, key: ObjectKey) -> RawObject | None:
        """The cached object for ``key``, or ``None``."""
        with self._lock:
            return self._items.get(key)

    def list(self) -> list[RawObject]:
        """Every cached object: a new list, but shared objects (never mutate them)."""
        with self._lock:
            return list(self._items.values())

    def keys(self) -> builtins.list[ObjectKey]:
        """Every cached key."""
        with self._lock:
            return list(self._items)

    def __iter__(self) -> Iterator[ObjectKey]:
        """Iterate over a snapshot of the cached keys."""
        return iter(self.keys())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    @property
    def resource_version(self) -> str:
        """The resourceVersion of the last list applied with ``replace`` (``""`` before)."""
        with self._lock:
            return self._resource_version

    # -- writing (the reflector's side) ---------------------------------------------------------

    def add(self, obj: RawObject) -> None:
        """Cache ``obj``: ``ADDED`` if its key is new, ``MODIFIED`` if it replaces a cached one."""
        self._upsert(obj)

    def update(self, obj: RawObject) -> None:
        """Same as ``add``: after a re-watch an ``ADDED`` may name a cached key and vice versa."""
        self._upsert(obj)

    def delete(self, obj: RawObject) -> None:
        """Drop ``obj``'s key and emit ``DELETED`` carrying the object's final state.

        A delete of a key that is not cached is still emitted: the rest of the pipeline is
        level-triggered and treats it as "make sure it is gone", which is harmless when it is.
        """
        key = self.key_of(obj)
        with self._lock:
            self._items.pop(key, None)
            self._counts.deleted += 1
            self._emit(EventType.DELETED, key, obj, objects.resource_version_of(obj))

    def replace(
        self, items: Iterable[RawObject], resource_version: str, *, report_unchanged: bool = True
    ) -> None:
        """Make the cache exactly ``items`` (a complete list taken at ``resource_version``).

        Emits ``ADDED`` for new keys, ``MODIFIED`` for changed objects, ``REPLACED`` for
        objects that did not change (unless ``report_unchanged`` is false, as polling wants), and
        ``DELETED`` with ``final_state_unknown=True`` — carrying the last cached state and the
        list's resourceVersion — for every cached key the list no longer has.
        """
        with self._lock:
            fresh: dict[ObjectKey, RawObject] = {self.key_of(obj): obj for obj in items}
            previous = self._items
            self._items = fresh
            self._resource_version = resource_version
            self._counts.replaces += 1
            for key, obj in fresh.items():
                old = previous.get(key)
                rv = objects.resource_version_of(obj)
                if old is None:
                    self._counts.added += 1
                    self._emit(EventType.ADDED, key, obj, rv)
                elif not unchanged(old, obj):
                    self._counts.modified += 1
                    self._emit(EventType.MODIFIED, key, obj, rv, old=old)
                elif report_unchanged:
                    self._emit(EventType.REPLACED, key, obj, rv)
            for key, old in previous.items():
                if key not in fresh:
                    self._counts.inferred_deletes += 1
                    self._emit(
                        EventType.DELETED, key, old, resource_version, final_state_unknown=True
                    )

    def resync(self) -> int:
        """Emit ``RESYNC`` for every cached object, from the cache alone; returns how many."""
        with self._lock:
            self._counts.resyncs += 1
            for key, obj in self._items.items():
                self._emit(EventType.RESYNC, key, obj, objects.resource_version_of(obj))
            return len(self._items)

    def statistics(self) -> StoreStatistics:
        """A consistent snapshot of the cache's size and change counters."""
        with self._lock:
            return StoreStatistics(
                objects=len(self._items),
                resource_version=self._resource_version,
                **attrs.asdict(self._counts),
            )

    # -- internals ------------------------------------------------------------------------------

    def _upsert(self, obj: RawObject) -> None:
        key = self.key_of(obj)
        with self._lock:
            old = self._items.get(key)
            self._items[key] = obj
            if old is not None:
                self._counts.modified += 1
            else:
                self._counts.added += 1
            event_type = EventType.MODIFIED if old is not None else EventType.ADDED
            self._emit(event_type, key, obj, objects.resource_version_of(obj), old=old)

    def _emit(
        self,
        event_type: EventType,
        key: ObjectKey,
        obj: RawObject,
        resource_version: str,
        *,
        final_state_unknown: bool = False,
        old: RawObject | None = None,
    ) -> None:
        self._listener(
            Event(
                side=self.side,
                type=event_type,
                key=key,
                obj=obj,
                resource_version=resource_version,
                observed_at=self._clock(),
                final_state_unknown=final_state_unknown,
                old=old,
            )
        )
