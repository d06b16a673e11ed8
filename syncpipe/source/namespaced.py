"""One resource watched in a few namespaces: a source per namespace behind one ``EventSource``.

A selection that names its namespaces (``namespaceScope.namespaces: [shop]``) needs nothing
outside them, yet a cluster-wide list+watch makes the mailbox send, and the syncer cache,
every object of the resource in every namespace: on a shared mailbox that is every other
edge's workload. ``NamespacedSources`` lists and watches each named namespace instead (the
API's ``/namespaces/<ns>/<resource>`` collections), so traffic and memory follow the
selection; the runtime falls back to one cluster-wide watch above a threshold of namespaces
(``Settings.max_namespaced_watches``), where the many watches would cost more than they save.

The parts are ordinary sources; the caller's handlers are added to each, and ``store`` is a
read-only union that answers from the part of the key's namespace. Each part relists,
backs off and reports errors on its own, as a client-go informer per namespace would.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping

from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject
from syncpipe.source.informer import EventSource, Handler
from syncpipe.source.store import StoreReader


class StoreUnion:
    """The stores of several namespaces' sources, read as one (satisfies ``StoreReader``)."""

    def __init__(self, parts: Mapping[str, EventSource]) -> None:
        self._parts = parts

    def get(self, key: ObjectKey) -> RawObject | None:
        part = self._parts.get(key.namespace)
        return None if part is None else part.store.get(key)

    def list(self) -> builtins.list[RawObject]:
        return [obj for part in self._parts.values() for obj in part.store.list()]

    def keys(self) -> builtins.list[ObjectKey]:
        return [key for part in self._parts.values() for key in part.store]

    def __iter__(self) -> Iterator[ObjectKey]:
        return iter(self.keys())

    def __len__(self) -> int:
        return sum(len(part.store) for part in self._parts.values())

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, ObjectKey):
            return False
        part = self._parts.get(key.namespace)
        return part is not None and key in part.store


class NamespacedSources:
    """One source per namespace of one resource, as one ``EventSource``."""

    def __init__(self, parts: Mapping[str, EventSource], *, name: str) -> None:
        if not parts:
            raise ValueError("NamespacedSources needs at least one namespace")
        self.parts = dict(sorted(parts.items()))
        self.name = name
        self._store = StoreUnion(self.parts)

    @property
    def namespaces(self) -> tuple[str, ...]:
        return tuple(self.parts)

    @property
    def store(self) -> StoreReader:
        return self._store

    def add_handler(self, handler: Handler) -> None:
        for part in self.parts.values():
            part.add_handler(handler)

    def start(self) -> None:
        for part in self.parts.values():
            part.start()

    def stop(self, timeout: float = 5.0) -> bool:
        stopped = [part.stop(timeout) for part in self.parts.values()]
        return all(stopped)

    def has_synced(self) -> bool:
        return all(part.has_synced() for part in self.parts.values())

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        return all(part.wait_for_sync(timeout) for part in self.parts.values())

    def resync(self) -> int:
        return sum(part.resync() for part in self.parts.values())

    @property
    def last_error(self) -> BaseException | None:
        """The error of a namespace's source that cannot read now, if any."""
        for part in self.parts.values():
            error = getattr(part, "last_error", None)
            if error is not None:
                return error  # type: ignore[no-any-return]
        return None
