"""The memory store's own behaviour (what the contract suite cannot show on a real server)."""

from __future__ import annotations

import pytest

from syncpipe import errors
from syncpipe.model.events import EventType, Side
from syncpipe.model.resources import GroupVersionResource
from syncpipe.replay import selectors
from syncpipe.replay.memstore import MemoryApi
from syncpipe.replay.patching import apply_json_patch
from syncpipe.replay.served import ServedResources
from syncpipe.replay.sources import MemoryInformer
from tests.unit.replay.factories import (
    CM,
    CRDS,
    DISCOVERY,
    NS,
    PREFERRED,
    configmap,
    crd,
    namespace,
)

WIDGETS = GroupVersionResource("example.com", "v1", "widgets")


def memory(now: float = 1_767_225_600.0) -> MemoryApi:
    return MemoryApi(
        side=Side.DOWNSTREAM, served=ServedResources(DISCOVERY, PREFERRED), now=lambda: now
    )


def test_recorded_objects_keep_their_resource_versions_and_later_writes_go_above():
    api = memory()
    shop = namespace("shop")
    api.apply_recorded(
        NS, EventType.ADDED, {**shop, "metadata": {**shop["metadata"], "resourceVersion": "5000"}}
    )
    cm = configmap("shop", "a", {})
    recorded = {**cm, "metadata": {**cm["metadata"], "resourceVersion": "7000"}}
    api.apply_recorded(CM, EventType.ADDED, recorded)
    assert api.get(CM, "shop", "a") is recorded
    created = api.create(
        CM, "shop", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}
    )
    assert int(created["metadata"]["resourceVersion"]) == 7001
    assert api.resource_version == "7001"


def test_uids_and_timestamps_come_from_counters_and_the_clock():
    first, second = memory(), memory()
    for api in (first, second):
        api.create(NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}})
    assert first.get(NS, "", "a")["metadata"] == second.get(NS, "", "a")["metadata"]
    assert first.get(NS, "", "a")["metadata"]["creationTimestamp"] == "2026-01-01T00:00:00Z"


def test_listeners_hear_every_change_in_order():
    api = memory()
    heard = []
    api.subscribe(
        lambda gvr, event, obj: heard.append((event, gvr.resource, obj["metadata"]["name"]))
    )
    api.create(NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    api.create(CM, "shop", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})
    api.json_patch(CM, "shop", "a", [{"op": "add", "path": "/data", "value": {"k": "v"}}])
    api.delete(NS, "", "shop")
    assert heard == [
        (EventType.ADDED, "namespaces", "shop"),
        (EventType.ADDED, "configmaps", "a"),
        (EventType.MODIFIED, "configmaps", "a"),
        (EventType.DELETED, "configmaps", "a"),  # a namespace takes its contents with it
        (EventType.DELETED, "namespaces", "shop"),
    ]


def test_a_crd_serves_its_resource_while_it_exists():
    api = memory()
    assert api.served.by_gvr(WIDGETS) is None
    api.create(CRDS, "", crd("example.com", "widgets", "Widget", as_served=False))
    info = api.served.by_gvr(WIDGETS)
    assert info is not None
    assert info.namespaced
    assert info.status_subresource
    assert api.served.find_kind("example.com", "Widget") == info
    api.delete(CRDS, "", "widgets.example.com")
    assert api.served.by_gvr(WIDGETS) is None
    with pytest.raises(errors.ApiNotFound):
        api.list(WIDGETS)


def test_a_json_patch_copies_only_what_it_changes():
    obj = {
        "metadata": {"name": "a", "labels": {"x": "1"}},
        "data": {"k": "v"},
        "spec": {"big": [1, 2]},
    }
    patched = apply_json_patch(obj, [{"op": "add", "path": "/metadata/labels/y", "value": "2"}])
    assert patched["metadata"]["labels"] == {"x": "1", "y": "2"}
    assert obj["metadata"]["labels"] == {"x": "1"}  # the input is untouched
    assert patched["data"] is obj["data"]
    assert patched["spec"] is obj["spec"]


def test_an_owned_copy_informer_sees_objects_enter_and_leave_its_selector():
    api = memory()
    api.create(NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    informer = MemoryInformer(api=api, gvr=CM, label_selector="owner=me", clock=lambda: 0.0)
    events = []
    informer.add_handler(lambda event: events.append((event.type, event.key.name)))
    informer.start()
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "labels": {"owner": "me"}},
    }
    api.create(CM, "shop", body)
    api.create(CM, "shop", {**body, "metadata": {"name": "b"}})
    api.json_patch(
        CM, "shop", "a", [{"op": "replace", "path": "/metadata/labels/owner", "value": "you"}]
    )
    assert events == [(EventType.ADDED, "a"), (EventType.DELETED, "a")]
    assert len(informer.store) == 0
    assert informer.has_synced()


def test_label_selectors_read_as_the_server_reads_them():
    labels = {"a": "1", "b": "2"}
    assert selectors.parse("")(labels)
    assert selectors.parse("a=1,b in (2, 3)")(labels)
    assert not selectors.parse("a==1,!b")(labels)
    assert selectors.parse("c notin (x),a")(labels)
    with pytest.raises(errors.ApiError):
        selectors.parse("a in (1")


@pytest.mark.parametrize("deferred", [False, True])
def test_a_recorded_inferred_delete_reaches_informers_as_final_state_unknown(deferred):
    """As a live informer's relist: the delete the recorder inferred says so in its event,
    a watched delete does not (the deletion guard counts only the inferred ones)."""
    api = memory()
    api.deferred = deferred
    cached, seen = configmap("shop", "cached", {"k": "v"}), configmap("shop", "seen", {"k": "v"})
    api.apply_recorded(NS, EventType.ADDED, namespace("shop"))
    api.apply_recorded(CM, EventType.ADDED, cached)
    api.apply_recorded(CM, EventType.ADDED, seen)
    informer = MemoryInformer(api=api, gvr=CM, clock=lambda: 0.0)
    events = []
    informer.add_handler(events.append)
    informer.start()
    api.apply_recorded(CM, EventType.DELETED, cached, inferred=True)
    api.apply_recorded(CM, EventType.DELETED, seen)
    api.deliver()
    deletes = [(e.key.name, e.final_state_unknown) for e in events if e.type is EventType.DELETED]
    assert deletes == [("cached", True), ("seen", False)]
    assert not api.delivering_inferred_delete


def test_an_informer_of_named_namespaces_sees_only_their_objects():
    """As the live syncer's watches of a few named namespaces, one by one."""
    api = memory()
    for ns in ("shop", "web", "other"):
        api.apply_recorded(NS, EventType.ADDED, namespace(ns))
        api.apply_recorded(CM, EventType.ADDED, configmap(ns, "a", {"k": "v"}))
    informer = MemoryInformer(api=api, gvr=CM, namespaces=("shop", "web"), clock=lambda: 0.0)
    events = []
    informer.add_handler(events.append)
    informer.start()
    api.apply_recorded(CM, EventType.ADDED, configmap("other", "b", {"k": "v"}))
    api.apply_recorded(CM, EventType.ADDED, configmap("web", "b", {"k": "v"}))
    assert sorted(key.cache_key for key in informer.store) == ["shop/a", "web/a", "web/b"]
    assert [e.key.cache_key for e in events] == ["shop/a", "web/a", "web/b"]


def test_an_informer_of_named_namespaces_sees_those_namespace_objects_by_name():
    """As the live syncer's watch of upstream Namespaces by name (``metadata.name``)."""
    api = memory()
    for ns in ("shop", "web", "other"):
        api.apply_recorded(NS, EventType.ADDED, namespace(ns))
    informer = MemoryInformer(api=api, gvr=NS, namespaces=("shop", "web"), clock=lambda: 0.0)
    informer.start()
    api.apply_recorded(NS, EventType.DELETED, namespace("web"))
    api.apply_recorded(NS, EventType.ADDED, namespace("more"))
    assert [key.name for key in informer.store] == ["shop"]
