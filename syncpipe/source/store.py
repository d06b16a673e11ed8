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
- No decoded objects kept (beyond a few recent ones): each cached object is held as compact
  JSON (see ``_Packed``), about its size on the wire instead of the 3-5 times that Python dicts
  take, and decoded when asked for. Events carry the dict they were given. The exception is a
  list's objects that nobody has read yet (``_fresh``): every one of them is about to be read
  once by the reconcile its event queued, so each is handed out as listed instead of being
  decoded again, and dropped from the store's hands by that first read (or by the next change
  of its key, the next list or the next resync, whichever comes first).
- No indexes beyond the key (no label or namespace indexes): nothing in syncpipe needs them yet.
"""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Final, NamedTuple, TypeVar

import attrs
import orjson

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


# Metadata the API server rewrites on every write; kept apart so that two versions differing
# only there (or in ``.status``) are told apart from a change of content by comparing bytes.
_BOOKKEEPING: Final = ("resourceVersion", "managedFields")
# Decoded objects kept per store (the most recently written or read): the object a handler
# reconciles right after its event is usually one of them. Small, so memory stays compact.
HOT_OBJECTS: Final = 8


class _Packed(NamedTuple):
    """One cached object as compact JSON: its content without ``.status`` and bookkeeping,
    its status, its resourceVersion and managedFields."""

    content: bytes
    status: bytes | None
    resource_version: str
    managed_fields: bytes | None

    @classmethod
    def of(cls, obj: RawObject) -> _Packed:
        meta = obj.get("metadata")
        if type(meta) is not dict:
            meta = {}
        content = {k: v for k, v in obj.items() if k != "status" and k != "metadata"}
        content["metadata"] = {k: v for k, v in meta.items() if k not in _BOOKKEEPING}
        status = obj.get("status", _ABSENT)
        managed = meta.get("managedFields")
        return cls(
            _exact(orjson.dumps(content)),
            None if status is _ABSENT else _exact(orjson.dumps(status)),
            str(meta.get("resourceVersion") or ""),
            None if managed is None else _exact(orjson.dumps(managed)),
        )

    def unpack(self) -> RawObject:
        obj: RawObject = orjson.loads(self.content)
        meta = obj["metadata"]
        if self.resource_version:
            meta["resourceVersion"] = self.resource_version
        if self.managed_fields is not None:
            meta["managedFields"] = orjson.loads(self.managed_fields)
        if self.status is not None:
            obj["status"] = orjson.loads(self.status)
        return obj


_ABSENT: Final = object()


def _exact(encoded: bytes) -> bytes:
    """A copy of ``encoded`` in a block of its own size.

    orjson writes into a buffer of at least 16 KiB and hands that very block out, so a
    700-byte ConfigMap kept as ``orjson.dumps`` output would hold 16 KiB (measured with
    tracemalloc); the copy costs one memcpy.
    """
    return memoryview(encoded).tobytes()


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


_T = TypeVar("_T")


def _split(
    items: dict[ObjectKey, _T], namespace: str
) -> tuple[dict[ObjectKey, _T], dict[ObjectKey, _T]]:
    """``items`` in ``namespace`` (``ObjectKey.watch_namespace``), and the others."""
    inside = {k: v for k, v in items.items() if k.watch_namespace == namespace}
    return inside, {k: v for k, v in items.items() if k.watch_namespace != namespace}


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
        self._items: dict[ObjectKey, _Packed] = {}
        self._hot: dict[ObjectKey, RawObject] = {}  # insertion-ordered: oldest first
        # Listed objects not read yet (see the module docstring): the decoded list items.
        self._fresh: dict[ObjectKey, RawObject] = {}
        self._resource_version = ""
        self._counts = _Counters()

    # -- reading -------------------------------------------------------------------------------

    def key_of(self, obj: RawObject) -> ObjectKey:
        """The key ``obj`` is cached under."""
        return ObjectKey.from_object(self.gvr, obj)

    def get(self, key: ObjectKey) -> RawObject | None:
        """The cached object for ``key``, or ``None`` (shared: never mutate it)."""
        with self._lock:
            obj = self._hot.get(key)
            if obj is not None:
                return obj
            obj = self._fresh.pop(key, None)
            if obj is not None:
                self._remember(key, obj)
                return obj
            packed = self._items.get(key)
        if packed is None:
            return None
        obj = packed.unpack()  # outside the lock: workers and the reflector share it
        with self._lock:
            if self._items.get(key) is packed:
                self._remember(key, obj)
        return obj

    def list(self) -> list[RawObject]:
        """Every cached object, decoded (shared with the cache where recently used)."""
        with self._lock:
            return [
                self._hot.get(key) or self._fresh.get(key) or packed.unpack()
                for key, packed in self._items.items()
            ]

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

    def delete(self, obj: RawObject, *, final_state_unknown: bool = False) -> None:
        """Drop ``obj``'s key and emit ``DELETED`` carrying the object's final state
        (``final_state_unknown``: the delete was inferred, not seen).

        A delete of a key that is not cached is still emitted: the rest of the pipeline is
        level-triggered and treats it as "make sure it is gone", which is harmless when it is.
        """
        key = self.key_of(obj)
        with self._lock:
            self._items.pop(key, None)
            self._hot.pop(key, None)
            self._fresh.pop(key, None)
            self._counts.deleted += 1
            self._emit(
                EventType.DELETED,
                key,
                obj,
                objects.resource_version_of(obj),
                final_state_unknown=final_state_unknown,
            )

    def replace(
        self,
        items: Iterable[RawObject],
        resource_version: str,
        *,
        report_unchanged: bool = True,
        namespace: str | None = None,
    ) -> None:
        """Make the cache exactly ``items`` (a complete list taken at ``resource_version``);
        with ``namespace``, only that namespace's part of the cache (the list of one
        namespace, where one store is filled namespace by namespace) and the rest stays.

        Emits ``ADDED`` for new keys, ``MODIFIED`` for changed objects, ``REPLACED`` for
        objects that did not change (unless ``report_unchanged`` is false, as polling wants), and
        ``DELETED`` with ``final_state_unknown=True`` — carrying the last cached state and the
        list's resourceVersion — for every cached key the list no longer has.
        """
        with self._lock:
            listed: dict[ObjectKey, RawObject] = {self.key_of(obj): obj for obj in items}
            previous = self._items
            previous_hot = self._hot
            previous_fresh = self._fresh
            self._items = {}
            self._hot = {}
            self._fresh = fresh = {}
            if namespace is not None:
                previous, kept = _split(previous, namespace)
                self._items.update(kept)
                self._hot.update(_split(previous_hot, namespace)[1])
                fresh.update(_split(previous_fresh, namespace)[1])
            self._resource_version = resource_version
            self._counts.replaces += 1
            for key, obj in listed.items():
                old = previous.get(key)
                rv = objects.resource_version_of(obj)
                if old is not None and old.resource_version and old.resource_version == rv:
                    self._items[key] = old  # same resourceVersion: same content
                    if report_unchanged:
                        self._emit(EventType.REPLACED, key, obj, rv)
                    continue
                packed = _Packed.of(obj)
                self._items[key] = packed
                fresh[key] = obj
                if old is None:
                    self._counts.added += 1
                    self._emit(EventType.ADDED, key, obj, rv)
                elif old != packed:
                    self._counts.modified += 1
                    self._emit_modified(key, obj, rv, old, packed)
                elif report_unchanged:
                    self._emit(EventType.REPLACED, key, obj, rv)
            for key, gone in previous.items():
                if key not in listed:
                    self._counts.inferred_deletes += 1
                    last = previous_hot.get(key) or previous_fresh.get(key) or gone.unpack()
                    self._emit(
                        EventType.DELETED, key, last, resource_version, final_state_unknown=True
                    )

    def resync(self) -> int:
        """Emit ``RESYNC`` for every cached object, from the cache alone; returns how many."""
        with self._lock:
            self._counts.resyncs += 1
            fresh, self._fresh = self._fresh, {}
            for key, packed in self._items.items():
                obj = self._hot.get(key) or fresh.get(key) or packed.unpack()
                self._emit(EventType.RESYNC, key, obj, packed.resource_version)
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
        packed = _Packed.of(obj)
        with self._lock:
            old = self._items.get(key)
            self._items[key] = packed
            self._hot.pop(key, None)
            self._fresh.pop(key, None)
            self._remember(key, obj)
            if old is not None:
                self._counts.modified += 1
                self._emit_modified(key, obj, packed.resource_version, old, packed)
            else:
                self._counts.added += 1
                self._emit(EventType.ADDED, key, obj, packed.resource_version)

    def _remember(self, key: ObjectKey, obj: RawObject) -> None:
        """Keep ``obj`` decoded among the store's few hot objects (the oldest one goes)."""
        hot = self._hot
        hot[key] = obj
        if len(hot) > HOT_OBJECTS:
            del hot[next(iter(hot))]

    def _emit_modified(
        self, key: ObjectKey, obj: RawObject, rv: str, old: _Packed, new: _Packed
    ) -> None:
        self._emit(
            EventType.MODIFIED,
            key,
            obj,
            rv,
            content_changed=old.content != new.content,
            status_changed=old.status != new.status,
        )

    def _emit(
        self,
        event_type: EventType,
        key: ObjectKey,
        obj: RawObject,
        resource_version: str,
        *,
        final_state_unknown: bool = False,
        content_changed: bool | None = None,
        status_changed: bool | None = None,
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
                content_changed=content_changed,
                status_changed=status_changed,
            )
        )
