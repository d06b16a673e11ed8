"""The keyed cache and the events its changes produce."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from syncpipe.model.events import Event, EventType, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import GroupVersionResource
from syncpipe.source.store import Store

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
