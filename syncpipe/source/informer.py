"""The informer: a reflector filling a store, and handlers told about every change.

Wiring, as in client-go's shared informer but without the DeltaFIFO: the reflector thread writes
into the ``Store``; the store turns each change into an ``Event`` and puts it on the
``EventDispatcher``; the dispatch thread calls the handlers. So a slow handler delays other
handlers, never the watch, and the cache is always at least as new as the events handlers see —
which is what level-triggered workers need: they take the key from the event and read the
*current* object from ``informer.store``.

``resync()`` replays every cached object as a ``RESYNC`` event from the local cache — it never
calls the server (unlike the Python client's ``SharedInformer``); with ``resync_period`` the
dispatch thread does it periodically, so drift on the other side gets re-checked.

``NamespacedInformer`` watches one resource in a few namespaces (a reflector each) into one
store, for selections that name their namespaces.

Deliberately not done here: sharing one informer among consumers (the runtime owns one per
resource and side and fans out through handlers), starting and stopping informers as selections
change (``source/registry.py``), and filtering (the hooks decide what is synced).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

import attrs

from syncpipe.model.events import Event, Side
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import GroupVersionResource
from syncpipe.source import dispatch, reflector, store
from syncpipe.source.recovery import ServerRecovery

Handler = dispatch.Handler


class EventSource(Protocol):
    """What the runtime needs of a source; ``Informer`` and ``PollingSource`` both provide it."""

    @property
    def store(self) -> store.Store: ...

    def add_handler(self, handler: Handler) -> None:
        """Call ``handler(event)`` on the dispatch thread for every later event."""

    def start(self) -> None:
        """Start the source's threads."""

    def stop(self, timeout: float = ...) -> bool:
        """Stop the threads; ``False`` if one is still running after ``timeout``."""
        ...

    def has_synced(self) -> bool:
        """Whether the store holds a complete first list."""
        ...

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Block until synced (``True``) or ``timeout`` seconds passed (``False``)."""
        ...

    def resync(self) -> int:
        """Emit ``RESYNC`` for every cached object; returns how many."""
        ...


@attrs.frozen(kw_only=True)
class InformerStatistics:
    """Snapshots of an informer's three parts."""

    reflector: reflector.ReflectorStatistics
    store: store.StoreStatistics
    dispatch: dispatch.DispatchStatistics


class Informer:
    """List+watch one resource on one side into a store, and notify handlers of each change.

    ``lister_watcher`` is scoped to the resource (and namespace, if any) by its maker;
    ``gvr`` and ``side`` label keys and events; ``resync_period`` (seconds, ``None`` = never) is
    the periodic resync; ``settings``, ``clock``, ``sleep`` and ``rng`` go to the ``Reflector``
    (``clock`` also stamps ``Event.observed_at``).
    """

    def __init__(
        self,
        *,
        gvr: GroupVersionResource,
        side: Side,
        lister_watcher: reflector.ListerWatcher,
        name: str = "",
        settings: reflector.WatchSettings | None = None,
        resync_period: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        rng: random.Random | None = None,
        recovery: ServerRecovery | None = None,
    ) -> None:
        self.name = name or f"{side.value}:{gvr}"
        self._dispatcher = dispatch.EventDispatcher(
            name=f"{self.name}:dispatch", resync=self.resync, resync_period=resync_period
        )
        self._store = store.Store(gvr=gvr, side=side, listener=self._dispatcher.put, clock=clock)
        self.reflector = reflector.Reflector(
            lister_watcher=lister_watcher,
            store=self._store,
            name=f"{self.name}:reflector",
            settings=settings,
            clock=clock,
            sleep=sleep,
            rng=rng,
            recovery=recovery,
        )

    @property
    def store(self) -> store.Store:
        """The cache: read the current object of a key here, never keep events' objects."""
        return self._store

    def add_handler(self, handler: Handler) -> None:
        """Call ``handler(event)`` for every later event, on the dispatch thread.

        Add handlers before ``start()`` to see the initial list; a handler added later sees only
        later changes (call ``resync()`` to replay the cache).
        """
        self._dispatcher.add_handler(handler)

    def start(self) -> None:
        """Start the dispatch thread, then the reflector thread."""
        self._dispatcher.start()
        self.reflector.start()

    def stop(self, timeout: float = reflector.STOP_JOIN_TIMEOUT) -> bool:
        """Stop the reflector (closing its watch) and the dispatcher; ``False`` if either hangs."""
        reflector_stopped = self.reflector.stop(timeout)
        dispatcher_stopped = self._dispatcher.stop(timeout)
        return reflector_stopped and dispatcher_stopped

    def has_synced(self) -> bool:
        """Whether the first list is in the store (its events may still be on their way)."""
        return self.reflector.has_synced()

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Block until ``has_synced()`` (``True``) or ``timeout`` seconds passed (``False``)."""
        return self.reflector.wait_for_sync(timeout)

    def resync(self) -> int:
        """Emit ``RESYNC`` for every cached object from the cache; 0 before the first list."""
        if not self.has_synced():
            return 0
        return self._store.resync()

    @property
    def last_error(self) -> BaseException | None:
        """The reflector's most recent failure, ``None`` while healthy."""
        return self.reflector.last_error

    def statistics(self) -> InformerStatistics:
        """Snapshots of the reflector, store and dispatcher."""
        return InformerStatistics(
            reflector=self.reflector.statistics(),
            store=self._store.statistics(),
            dispatch=self._dispatcher.statistics(),
        )


class _NamespaceSlice:
    """One namespace's share of a store, as its reflector sees it: a relist of the namespace
    replaces that namespace only."""

    def __init__(self, shared: store.Store, namespace: str) -> None:
        self._store = shared
        self._namespace = namespace
        self.add = shared.add
        self.update = shared.update
        self.delete = shared.delete

    def replace(self, items: Iterable[RawObject], resource_version: str) -> None:
        self._store.replace(items, resource_version, namespace=self._namespace)


class NamespacedInformer(Informer):
    """One resource in a few namespaces: a reflector (list + watch) per namespace, one store.

    For a selection that names its namespaces, so that the cache and the API server's work
    follow the selection, not the size of the cluster. ``lister_watchers`` maps each
    namespace to its (namespace-scoped) lister-watcher.
    """

    def __init__(
        self,
        *,
        gvr: GroupVersionResource,
        side: Side,
        lister_watchers: Mapping[str, reflector.ListerWatcher],
        name: str = "",
        resync_period: float | None = None,
        recovery: ServerRecovery | None = None,
    ) -> None:
        self.name = name or f"{side.value}:{gvr}"
        self._dispatcher = dispatch.EventDispatcher(
            name=f"{self.name}:dispatch", resync=self.resync, resync_period=resync_period
        )
        self._store = store.Store(gvr=gvr, side=side, listener=self._dispatcher.put)
        self.reflectors = {
            namespace: reflector.Reflector(
                lister_watcher=lister_watcher,
                store=_NamespaceSlice(self._store, namespace),
                name=f"{self.name}:{namespace}:reflector",
                recovery=recovery,
            )
            for namespace, lister_watcher in sorted(lister_watchers.items())
        }
        # The first namespace's reflector stands for all where one is asked for (statistics).
        self.reflector = next(iter(self.reflectors.values()))

    @property
    def namespaces(self) -> frozenset[str]:
        return frozenset(self.reflectors)

    def start(self) -> None:
        self._dispatcher.start()
        for each in self.reflectors.values():
            each.start()

    def stop(self, timeout: float = reflector.STOP_JOIN_TIMEOUT) -> bool:
        stopped = [each.stop(timeout) for each in self.reflectors.values()]
        return all(stopped) and self._dispatcher.stop(timeout)

    def has_synced(self) -> bool:
        return all(each.has_synced() for each in self.reflectors.values())

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        for each in self.reflectors.values():
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not each.wait_for_sync(left):
                return False
        return True

    @property
    def last_error(self) -> BaseException | None:
        errors = [each.last_error for each in self.reflectors.values() if each.last_error]
        return errors[0] if errors else None


class SharedSource:
    """Another consumer's running informer, lent: ``add_handler`` adds to it, ``start``
    replays its cache to the handlers added (its first list was seen by others), ``stop``
    silences them and leaves the informer to its owner. One watch serves both."""

    def __init__(self, informer: Informer) -> None:
        self._informer = informer
        self._active = True

    @property
    def store(self) -> store.Store:
        return self._informer.store

    @property
    def last_error(self) -> BaseException | None:
        return self._informer.last_error

    def add_handler(self, handler: Handler) -> None:
        def while_lent(event: Event) -> None:
            if self._active:
                handler(event)

        self._informer.add_handler(while_lent)

    def start(self) -> None:
        self._informer.resync()

    def stop(self, timeout: float = reflector.STOP_JOIN_TIMEOUT) -> bool:
        self._active = False
        return True

    def has_synced(self) -> bool:
        return self._informer.has_synced()

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        return self._informer.wait_for_sync(timeout)

    def resync(self) -> int:
        return self._informer.resync()
