"""NamespacedSources: one source per namespace, read and driven as one."""

from __future__ import annotations

from collections.abc import Callable

from syncpipe.model.events import Event, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import GroupVersionResource
from syncpipe.source.namespaced import NamespacedSources
from syncpipe.source.store import Store

CM = GroupVersionResource("", "v1", "configmaps")


class OneNamespace:
    """A source of one namespace's objects (what a namespaced list+watch caches)."""

    def __init__(self, namespace: str, names: list[str]) -> None:
        self.handlers: list[Callable[[Event], None]] = []
        self._store = Store(gvr=CM, side=Side.UPSTREAM, listener=self._dispatch)
        self._objects = [configmap(namespace, name) for name in names]
        self.started = self.stopped = False

    @property
    def store(self) -> Store:
        return self._store

    def _dispatch(self, event: Event) -> None:
        for handler in self.handlers:
            handler(event)

    def add_handler(self, handler: Callable[[Event], None]) -> None:
        self.handlers.append(handler)

    def start(self) -> None:
        self.started = True
        self._store.replace(self._objects, "1")

    def stop(self, timeout: float = 0.0) -> bool:
        self.stopped = True
        return True

    def has_synced(self) -> bool:
        return self.started

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        return self.started

    def resync(self) -> int:
        return self._store.resync()


def configmap(ns: str, name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": ns, "name": name}}


def test_the_union_reads_each_key_from_its_namespaces_source_and_handlers_see_every_part():
    a, b = OneNamespace("a", ["1", "2"]), OneNamespace("b", ["3"])
    sources = NamespacedSources({"b": b, "a": a}, name="up:cm")
    seen: list[Event] = []
    sources.add_handler(seen.append)
    assert not sources.has_synced()
    sources.start()
    assert sources.namespaces == ("a", "b")
    assert sources.has_synced()
    store = sources.store
    assert len(store) == 3
    assert sorted(k.name for k in store) == ["1", "2", "3"]
    assert store.get(ObjectKey(CM, "a", "1")) is not None
    assert ObjectKey(CM, "b", "3") in store
    assert store.get(ObjectKey(CM, "c", "1")) is None
    assert ObjectKey(CM, "c", "1") not in store
    assert sorted(o["metadata"]["name"] for o in store.list()) == ["1", "2", "3"]
    assert {e.key.namespace for e in seen} == {"a", "b"}
    assert sources.resync() == 3
    assert sources.last_error is None
    assert sources.stop()
    assert a.stopped
    assert b.stopped
