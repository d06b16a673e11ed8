"""Informers over a memory store: the ``EventSource`` a replay hands the pipeline.

A ``MemoryInformer`` is to ``MemoryApi`` what ``syncpipe.source.informer.Informer`` is to a
server: it fills a ``syncpipe.source.store.Store`` with one resource's objects (optionally
only those matching a label selector, as the owned-copy informers ask) and tells its handlers
about every change. The difference is time: there is no reflector thread and no dispatch
thread. ``start()`` lists the memory store into the cache, and every later change of the
memory store reaches the cache and the handlers synchronously, before the write that caused
it returns — which is what makes a replay deterministic.

As with a watch with a label selector, an object that stops matching the selector leaves the
cache as a ``DELETED`` event.
"""

from __future__ import annotations

from collections.abc import Callable

from syncpipe.model.events import Event, EventType, Side
from syncpipe.model.objects import RawObject, labels_of
from syncpipe.model.resources import GroupVersionResource
from syncpipe.replay import selectors
from syncpipe.replay.memstore import MemoryApi
from syncpipe.source.store import Store

Handler = Callable[[Event], None]


class MemoryInformer:
    """One resource of one memory store, cached and announced (satisfies ``EventSource``)."""

    def __init__(
        self,
        *,
        api: MemoryApi,
        gvr: GroupVersionResource,
        label_selector: str = "",
        namespaces: tuple[str, ...] = (),
        clock: Callable[[], float],
    ) -> None:
        self.api = api
        self.gvr = gvr
        self.name = f"{api.side.value}:{gvr}"
        self._matches = selectors.parse(label_selector)
        # As the live syncer's watches of a few named namespaces: only those (empty: all);
        # Namespaces themselves by name.
        self._namespaces = frozenset(namespaces)
        # A watch of the whole collection sees every object: no per-object check then.
        self._filtered = bool(label_selector.strip() or namespaces)
        self._handlers: list[Handler] = []
        self._store = Store(gvr=gvr, side=api.side, listener=self._dispatch, clock=clock)
        self._started = False

    @property
    def side(self) -> Side:
        return self.api.side

    @property
    def store(self) -> Store:
        return self._store

    def add_handler(self, handler: Handler) -> None:
        self._handlers.append(handler)

    def start(self) -> None:
        """List the memory store into the cache (``ADDED`` events), then follow its changes."""
        if self._started:
            return
        self._started = True
        items = [o for o in self.api.objects(self.gvr) if not self._filtered or self._in_view(o)]
        self._store.replace(items, self.api.resource_version)
        self.api.subscribe(self._on_change, resource=(self.gvr.group, self.gvr.resource))

    def stop(self, timeout: float = 0.0) -> bool:
        """Stop following the memory store (the cache keeps what it has)."""
        self.api.unsubscribe(self._on_change)
        return True

    def has_synced(self) -> bool:
        """Whether the snapshot's initial list of this resource has been read completely."""
        return self._started and self.api.has_synced(self.gvr)

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        return self.has_synced()

    def resync(self) -> int:
        return self._store.resync()

    def _on_change(self, gvr: GroupVersionResource, event: EventType, obj: RawObject) -> None:
        if event is EventType.DELETED:
            if self._store.key_of(obj) in self._store:
                self._store.delete(obj, final_state_unknown=self.api.delivering_inferred_delete)
        elif not self._filtered or self._in_view(obj):
            self._store.update(obj)
        elif self._store.key_of(obj) in self._store:
            self._store.delete(obj)  # no longer matches the selector: gone from this view

    def _in_view(self, obj: RawObject) -> bool:
        """Whether ``obj`` is one this informer's watch would see."""
        if self._namespaces and self._store.key_of(obj).watch_namespace not in self._namespaces:
            return False
        return self._matches(labels_of(obj))

    def _dispatch(self, event: Event) -> None:
        for handler in self._handlers:
            handler(event)
