"""The keyed cache and the events its changes produce."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from syncpipe.model.events import Event, EventType, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import GroupVersionResource
from syncpipe.source.store import HOT_OBJECTS, Store

from .fakes import CONFIGMAPS, FakeClock, configmap

NAMESPACES = GroupVersionResource("", "v1", "namespaces")


def make_store() -> tuple[Store, list[Event]]:
    events: list[Event] = []
    return Store(
        gvr=CONFIGMAPS, side=Side.UPSTREAM, listener=events.append, clock=FakeClock(42.0)
    ), events


def key(name: str, namespace: str = "default") -> ObjectKey:
    return ObjectKey(CONFIGMAPS, namespace, name)


def test_add_update_delete_keep_the_cache_and_emit_events_in_order():
    store, events = make_store()
    store.add(configmap("a", "1"))
    store.update(configmap("a", "2", x="y"))
    store.add(configmap("b", "3"))
    store.delete(configmap("a", "4"))

    assert [(e.type, e.key.name, e.resource_version) for e in events] == [
        (EventType.ADDED, "a", "1"),
        (EventType.MODIFIED, "a", "2"),
        (EventType.ADDED, "b", "3"),
        (EventType.DELETED, "a", "4"),
    ]
    assert all(e.side is Side.UPSTREAM and e.observed_at == 42.0 for e in events)
    assert store.keys() == [key("b")]
    assert store.get(key("a")) is None
    assert store.list() == [configmap("b", "3")]
    assert len(store) == 1
    assert key("b") in store


def test_an_added_event_for_a_cached_key_is_a_modification():
    store, events = make_store()
    store.add(configmap("a", "1"))
    store.add(configmap("a", "2"))
    assert [e.type for e in events] == [EventType.ADDED, EventType.MODIFIED]


def test_updates_are_applied_in_the_order_given_whatever_their_resource_versions():
    # resourceVersions are opaque: "9" after "10" is not "older" to a client.
    store, _ = make_store()
    store.update(configmap("a", "10"))
    store.update(configmap("a", "9"))
    assert store.get(key("a")) == configmap("a", "9")


def test_deleting_an_unknown_key_still_emits_a_delete():
    store, events = make_store()
    store.delete(configmap("ghost", "7"))
    assert [(e.type, e.final_state_unknown) for e in events] == [(EventType.DELETED, False)]


def test_replace_diffs_the_list_against_the_cache():
    store, events = make_store()
    store.replace([configmap("keep", "1"), configmap("change", "2"), configmap("gone", "3")], "10")
    events.clear()

    store.replace([configmap("keep", "1"), configmap("change", "5"), configmap("new", "6")], "20")

    assert [(e.type, e.key.name) for e in events] == [
        (EventType.REPLACED, "keep"),
        (EventType.MODIFIED, "change"),
        (EventType.ADDED, "new"),
        (EventType.DELETED, "gone"),
    ]
    gone = events[-1]
    assert gone.final_state_unknown
    assert gone.obj == configmap("gone", "3")
    assert gone.resource_version == "20"
    assert store.resource_version == "20"
    assert sorted(k.name for k in store) == ["change", "keep", "new"]


def test_replace_can_stay_silent_about_unchanged_objects():
    store, events = make_store()
    store.replace([configmap("a", "1")], "10")
    events.clear()
    store.replace([configmap("a", "1")], "11", report_unchanged=False)
    assert events == []


def test_objects_without_a_resource_version_are_compared_by_value():
    store, events = make_store()
    plain = {"metadata": {"name": "a", "namespace": "default"}, "data": {"k": "v"}}
    store.replace([plain], "")
    events.clear()
    store.replace([dict(plain)], "", report_unchanged=False)
    assert events == []
    store.replace([{**plain, "data": {"k": "w"}}], "", report_unchanged=False)
    assert [e.type for e in events] == [EventType.MODIFIED]


def test_cluster_scoped_objects_are_keyed_without_a_namespace():
    store = Store(gvr=NAMESPACES, side=Side.DOWNSTREAM)
    store.add({"metadata": {"name": "team-a", "resourceVersion": "1"}})
    assert store.keys() == [ObjectKey(NAMESPACES, "", "team-a")]


def test_resync_emits_every_cached_object_from_the_cache():
    store, events = make_store()
    store.replace([configmap("a", "1"), configmap("b", "2")], "10")
    events.clear()

    assert store.resync() == 2
    assert sorted((e.type, e.key.name) for e in events) == [
        (EventType.RESYNC, "a"),
        (EventType.RESYNC, "b"),
    ]
    assert store.statistics().resyncs == 1


def test_statistics_count_changes_by_kind():
    store, _ = make_store()
    store.replace([configmap("a", "1"), configmap("b", "1")], "10")
    store.update(configmap("a", "2"))
    store.delete(configmap("a", "3"))
    store.replace([], "20")
    stats = store.statistics()
    assert (stats.objects, stats.added, stats.modified, stats.deleted) == (0, 2, 1, 1)
    assert (stats.inferred_deletes, stats.replaces, stats.resource_version) == (1, 2, "20")


names = st.sets(st.sampled_from("abcdefgh"))


@given(before=names, after=names)
def test_replace_deletes_exactly_the_keys_missing_from_the_new_list(before, after):
    store, events = make_store()
    store.replace([configmap(n, "1") for n in before], "1")
    events.clear()
    store.replace([configmap(n, "2") for n in after], "2")

    deleted = {e.key.name for e in events if e.type is EventType.DELETED}
    added = {e.key.name for e in events if e.type is EventType.ADDED}
    assert deleted == before - after
    assert added == after - before
    assert all(e.final_state_unknown == (e.type is EventType.DELETED) for e in events)
    assert {k.name for k in store} == after


def full_object(name: str, rv: str) -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": "default",
            "resourceVersion": rv,
            "labels": {"app": name},
            "managedFields": [{"manager": "kubectl", "operation": "Update"}],
        },
        "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c"}]}}},
        "status": {"readyReplicas": 1, "conditions": [{"type": "Available"}]},
    }


def test_objects_come_back_equal_after_many_others_pushed_them_out_of_the_hot_set():
    store, _ = make_store()
    originals = [full_object(f"o{i}", str(i)) for i in range(HOT_OBJECTS * 3)]
    for obj in originals:
        store.update(obj)
    for obj in originals:
        assert store.get(key(obj["metadata"]["name"])) == obj  # type: ignore[index]
    assert sorted(store.list(), key=str) == sorted(originals, key=str)
    without_status = {k: v for k, v in originals[0].items() if k != "status"}
    store.update(without_status)
    for other in originals[1:]:
        store.update(other)
    assert store.get(key("o0")) == without_status


def test_modifications_say_whether_content_or_status_changed():
    store, events = make_store()
    store.update(full_object("a", "1"))
    bookkeeping_only = full_object("a", "2")
    bookkeeping_only["metadata"]["managedFields"] = []  # type: ignore[index]
    store.update(bookkeeping_only)
    status_only = full_object("a", "3")
    status_only["status"] = {"readyReplicas": 2}
    store.update(status_only)
    content = full_object("a", "4")
    content["spec"] = {"replicas": 3}
    store.update(content)
    changes = [(e.content_changed, e.status_changed) for e in events]
    assert changes == [(None, None), (False, False), (False, True), (True, True)]


def test_a_relist_with_the_same_resource_versions_keeps_the_cache_and_says_nothing_changed():
    store, events = make_store()
    store.replace([full_object("a", "1"), full_object("b", "1")], "5")
    events.clear()
    store.replace([full_object("a", "1"), full_object("b", "2")], "6", report_unchanged=False)
    assert [(e.type, e.key.name, e.content_changed) for e in events] == [
        (EventType.MODIFIED, "b", False)
    ]
    assert store.get(key("b")) == full_object("b", "2")


def test_a_relist_reports_the_last_known_state_of_what_vanished():
    store, events = make_store()
    store.replace([full_object(f"o{i}", "1") for i in range(HOT_OBJECTS * 2)], "5")
    events.clear()
    store.replace([], "6")
    deleted = {e.key.name: e.obj for e in events if e.type is EventType.DELETED}
    assert deleted == {f"o{i}": full_object(f"o{i}", "1") for i in range(HOT_OBJECTS * 2)}


def test_the_cache_holds_compact_json_not_python_objects():
    """Memory: what is kept per object is about its JSON size, not the 3-5x of dicts."""
    import sys

    import orjson

    store, _ = make_store()
    objects = [full_object(f"o{i:04d}", str(i)) for i in range(200)]
    for obj in objects:
        store.update(obj)
    json_bytes = sum(len(orjson.dumps(o)) for o in objects)
    packed = [store._items[key(o["metadata"]["name"])] for o in objects]  # type: ignore[index]
    held = sum(sys.getsizeof(p) + sum(sys.getsizeof(f) for f in p) for p in packed)
    # The JSON itself plus a fixed overhead per object (the tuple, the bytes headers, the
    # resourceVersion string), whatever the object's size.
    assert held <= json_bytes + 250 * len(objects)


def test_a_listed_object_is_handed_out_as_listed_once_then_the_store_lets_it_go():
    """The reconcile each list item's event queues reads it without decoding it again."""
    store, _ = make_store()
    listed = [full_object(f"o{i}", "1") for i in range(HOT_OBJECTS * 3)]
    store.replace(listed, "5")
    assert len(store._fresh) == len(listed)
    for obj in listed:
        assert store.get(key(obj["metadata"]["name"])) is obj  # type: ignore[index]
    assert store._fresh == {}  # each first read released its object
    # Later reads decode the compact form like any other (equal, no longer the list's dict).
    assert store.get(key("o0")) == listed[0]
    assert store.get(key("o0")) is not listed[0]


def test_listed_objects_not_read_yet_go_with_a_change_a_delete_a_relist_or_a_resync():
    store, events = make_store()
    store.replace([full_object(f"o{i}", "1") for i in range(5)], "5")
    newer = full_object("o0", "2")
    store.update(newer)
    assert store.get(key("o0")) is newer
    store.delete(full_object("o1", "3"))
    assert store.get(key("o1")) is None
    assert set(store._fresh) == {key("o2"), key("o3"), key("o4")}
    store.replace([full_object("o2", "1"), full_object("o3", "1"), full_object("o4", "4")], "6")
    assert set(store._fresh) == {key("o4")}  # unchanged ones keep their packed form only
    events.clear()
    store.resync()
    assert store._fresh == {}
    assert [e.obj for e in events if e.key == key("o4")] == [full_object("o4", "4")]
    assert store.get(key("o4")) == full_object("o4", "4")


def test_a_relist_of_one_namespace_replaces_that_namespace_only():
    store, events = make_store()
    store.add(configmap("a", "1", namespace="one"))
    store.add(configmap("b", "2", namespace="two"))
    events.clear()
    store.replace([configmap("c", "3", namespace="one")], "9", namespace="one")
    assert sorted(str(k) for k in store) == ["configmaps:one/c", "configmaps:two/b"]
    assert [(e.type, e.key.name, e.final_state_unknown) for e in events] == [
        (EventType.ADDED, "c", False),
        (EventType.DELETED, "a", True),
    ]
    assert store.get(ObjectKey(CONFIGMAPS, "two", "b")) == configmap("b", "2", namespace="two")


def test_a_relist_of_one_namespace_object_by_name_replaces_that_namespace_only():
    """Namespaces watched by name fill one store, each name's list its own slice."""
    events: list[Event] = []
    store = Store(gvr=NAMESPACES, side=Side.UPSTREAM, listener=events.append)

    def namespace(name: str, rv: str) -> dict:
        return {"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": name, "resourceVersion": rv}}  # fmt: skip

    store.replace([namespace("one", "1")], "1", namespace="one")
    store.replace([namespace("two", "2")], "2", namespace="two")
    store.replace([], "3", namespace="one")  # gone while the watch was down
    assert [k.name for k in store] == ["two"]
    assert [(e.type, e.key.name) for e in events] == [
        (EventType.ADDED, "one"),
        (EventType.ADDED, "two"),
        (EventType.DELETED, "one"),
    ]
