"""Target namespaces: verified once under a mapping, created once however many workers ask."""

from __future__ import annotations

import threading
from typing import Any

import attrs
import pytest

from syncpipe import errors
from syncpipe.builtin import ownership
from syncpipe.builtin.namespaces import UPSTREAM_NAMESPACE_ANNOTATION
from syncpipe.hooks.context import SyncContext
from syncpipe.model.actions import Action, Create
from syncpipe.model.events import Direction
from syncpipe.model.keys import ObjectKey
from syncpipe.runtime.targetnamespaces import TargetNamespaces
from syncpipe.sink import planner
from syncpipe.sink.reconcileplan import NamespacePrerequisite, namespace_key

MAPPED = NamespacePrerequisite(name="edge-shop", mapped=True, upstream_namespace="shop")
CTX = SyncContext(syncer_name="edge-1")


class Server:
    """Namespaces on the target side; counts reads and creates."""

    def __init__(self, *existing: dict[str, Any]) -> None:
        self.objects = {namespace_key(o["metadata"]["name"]): o for o in existing}
        self.reads = 0
        self.creates: list[Create] = []
        self._lock = threading.Lock()

    def get(self, key: ObjectKey) -> dict[str, Any] | None:
        self.reads += 1
        return self.objects.get(key)

    def apply(self, action: Action) -> dict[str, Any]:
        assert isinstance(action, Create)
        with self._lock:
            if action.key in self.objects:
                raise errors.ApiAlreadyExists("exists")
            self.creates.append(action)
            self.objects[action.key] = action.body
        return action.body


def namespaces(server: Server, **copies: Any) -> TargetNamespaces:
    return TargetNamespaces(
        direction=Direction.DOWN, get=server.get, apply=server.apply, ctx=lambda: CTX, **copies
    )


def namespace(locator: str | None) -> dict[str, Any]:
    annotations = {} if locator is None else {UPSTREAM_NAMESPACE_ANNOTATION: locator}
    return {"metadata": {"name": "edge-shop", "annotations": annotations}}


def test_a_missing_mapped_namespace_is_created_marked_and_located_then_never_read_again():
    server = Server()
    target = namespaces(server)
    for _ in range(3):
        target.prepare(MAPPED)
    assert len(server.creates) == 1
    body = server.creates[0].body
    assert ownership.is_owned(body, syncer_name="edge-1")
    assert body["metadata"]["annotations"][UPSTREAM_NAMESPACE_ANNOTATION] == "shop"
    assert server.reads == 1


@pytest.mark.parametrize("locator", ["other", None])
def test_a_mapped_namespace_without_our_locator_is_refused(locator):
    target = namespaces(Server(namespace(locator)))
    with pytest.raises(errors.OwnershipConflict, match="refusing to put objects into it"):
        target.prepare(MAPPED)


def test_an_unmapped_namespace_is_not_checked_before_a_create():
    server = Server()
    namespaces(server).prepare(NamespacePrerequisite(name="shop"))
    assert (server.reads, server.creates) == (0, [])


def test_workers_finding_a_namespace_missing_at_once_create_it_once():
    server = Server()
    target = namespaces(server)
    workers = [
        threading.Thread(target=target.ensure, args=(NamespacePrerequisite(name="shop"),))
        for _ in range(8)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(server.creates) == 1


def test_a_missing_namespace_selected_upstream_is_created_once_as_its_copy_through_create_copy():
    server = Server()
    copy = ownership.mark_downsynced(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": "edge-shop",
                "labels": {"team": "a"},
                "annotations": {
                    ownership.SOURCE_ANNOTATION: "namespaces//shop",
                    UPSTREAM_NAMESPACE_ANNOTATION: "shop",
                },
            },
        },
        CTX,
    )
    asked: list[str] = []
    copies: list[Create] = []

    def selected_copy(name: str) -> dict[str, Any] | None:
        asked.append(name)
        return copy

    def create_copy(create: Create) -> dict[str, Any]:
        copies.append(create)
        return server.apply(create)

    target = namespaces(server, selected_copy=selected_copy, create_copy=create_copy)
    for _ in range(3):
        target.prepare(attrs.evolve(MAPPED, source_namespace="shop"))
    assert asked == ["shop"]
    assert server.creates == copies
    assert len(copies) == 1
    assert copies[0].body == planner.with_record(copy)


def test_a_namespace_not_selected_upstream_is_created_bare_through_apply():
    server = Server()
    target = namespaces(
        server,
        selected_copy=lambda _name: None,
        create_copy=lambda _create: pytest.fail("an implicit namespace is not a copy"),
    )
    target.ensure(NamespacePrerequisite(name="shop", source_namespace="shop"))
    (create,) = server.creates
    assert ownership.SOURCE_ANNOTATION not in create.body["metadata"].get("annotations", {})
    assert ownership.is_owned(create.body, syncer_name="edge-1")
