"""The reflector's list → watch → re-watch / relist loop, against a scripted server."""

from __future__ import annotations

import random
import threading

import pytest

from syncpipe import errors
from syncpipe.model.events import Event, EventType, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.source.reflector import Reflector, WatchSettings
from syncpipe.source.store import Store

from .fakes import (
    CONFIGMAPS,
    FakeClock,
    FakeListerWatcher,
    RecordingSleep,
    bookmark,
    configmap,
    wait_for,
)

NO_JITTER = WatchSettings(jitter=0.0)


def key(name: str) -> ObjectKey:
    return ObjectKey(CONFIGMAPS, "default", name)


class Harness:
    """A reflector over a scripted server, run synchronously until the script is used up."""

    def __init__(self, lw: FakeListerWatcher, settings: WatchSettings = NO_JITTER) -> None:
        self.lw = lw
        self.clock = FakeClock()
        self.sleep = RecordingSleep(self.clock)
        self.events: list[Event] = []
        self.store = Store(
            gvr=CONFIGMAPS, side=Side.UPSTREAM, listener=self.events.append, clock=self.clock
        )
        self.reflector = Reflector(
            lister_watcher=lw,
            store=self.store,
            settings=settings,
            clock=self.clock,
            sleep=self.sleep,
            rng=random.Random(7),  # noqa: S311 - seeded: exact jitter, not security
        )
        lw.on_exhausted = self.reflector.stop

    def run(self) -> Harness:
        self.reflector.run()
        return self

    def types(self) -> list[tuple[EventType, str]]:
        return [(e.type, e.key.name) for e in self.events]


def test_first_list_fills_the_store_and_marks_synced():
    lw = FakeListerWatcher(lists=[([configmap("a", "5"), configmap("b", "6")], "10")])
    h = Harness(lw)
    assert not h.reflector.has_synced()
    h.run()

    assert h.reflector.has_synced()
    assert lw.list_calls == [""]  # the first list asks for the latest state
    assert h.types() == [(EventType.ADDED, "a"), (EventType.ADDED, "b")]
    assert h.store.resource_version == "10"
    assert lw.watch_calls[0]["resource_version"] == "10"
    assert lw.watch_calls[0]["allow_bookmarks"] is True
    assert 300 <= lw.watch_calls[0]["timeout_seconds"] <= 600


def test_watch_events_are_applied_in_order_and_advance_the_resource_version():
    lw = FakeListerWatcher(
        lists=[([configmap("a", "5")], "10")],
        watches=[
            [
                ("ADDED", configmap("b", "11")),
                ("MODIFIED", configmap("a", "12", x="1")),
                ("DELETED", configmap("b", "13")),
            ]
        ],
    )
    h = Harness(lw).run()

    assert h.types() == [
        (EventType.ADDED, "a"),
        (EventType.ADDED, "b"),
        (EventType.MODIFIED, "a"),
        (EventType.DELETED, "b"),
    ]
    assert h.store.keys() == [key("a")]
    assert h.store.get(key("a")) == configmap("a", "12", x="1")
    assert h.reflector.resource_version == "13"
    assert h.reflector.statistics().events == 3


def test_relist_after_410_emits_deletes_missed_while_disconnected():
    a, b, c = configmap("a", "5"), configmap("b", "6"), configmap("c", "7")
    lw = FakeListerWatcher(
        lists=[
            ([a, b, c], "10"),
            # While the watch was gone: b deleted, c changed, d created; a untouched.
            ([a, configmap("c", "15", x="1"), configmap("d", "16")], "20"),
        ],
        watches=[[errors.ApiResourceExpired("too old", status=410)]],
    )
    h = Harness(lw).run()

    assert lw.list_calls == ["", ""]  # the relist asks for the latest state, not the expired rv
    after_relist = h.events[3:]
    assert [(e.type, e.key.name) for e in after_relist] == [
        (EventType.REPLACED, "a"),
        (EventType.MODIFIED, "c"),
        (EventType.ADDED, "d"),
        (EventType.DELETED, "b"),
    ]
    deleted = after_relist[-1]
    assert deleted.final_state_unknown
    assert deleted.obj == b  # the last state we knew
    assert deleted.resource_version == "20"
    assert not any(e.final_state_unknown for e in after_relist[:-1])
    assert sorted(k.name for k in h.store) == ["a", "c", "d"]
    assert lw.watch_calls[1]["resource_version"] == "20"
    stats = h.reflector.statistics()
    assert (stats.lists, stats.expired) == (2, 1)
    assert h.sleep.delays == []  # a 410 is not a failure: relist at once


def test_410_sent_as_an_error_event_also_relists():
    status = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
    lw = FakeListerWatcher(
        lists=[([configmap("a", "5")], "10"), ([], "20")],
        watches=[[("ERROR", status)]],
    )
    h = Harness(lw).run()

    assert len(lw.list_calls) == 2
    assert h.events[-1].type is EventType.DELETED
    assert h.events[-1].final_state_unknown


def test_bookmarks_advance_the_resource_version_without_events():
    lw = FakeListerWatcher(
        lists=[([configmap("a", "5")], "10")],
        watches=[[bookmark("15"), bookmark("18")]],
    )
    h = Harness(lw).run()

    assert h.types() == [(EventType.ADDED, "a")]  # only the initial list
    assert [w["resource_version"] for w in lw.watch_calls] == ["10", "18"]
    assert h.reflector.statistics().bookmarks == 2
    assert h.reflector.statistics().events == 0


def test_stream_end_rewatches_from_the_last_resource_version_without_relisting():
    lw = FakeListerWatcher(
        lists=[([], "10")],
        watches=[[("ADDED", configmap("a", "12"))], [("ADDED", configmap("b", "14"))], []],
    )
    h = Harness(lw).run()

    assert lw.list_calls == [""]
    assert [w["resource_version"] for w in lw.watch_calls] == ["10", "12", "14", "14"]
    assert h.sleep.delays == []  # a server-side timeout is routine: no backoff
    assert h.reflector.statistics().watch_ends == 3


def test_watch_errors_back_off_exponentially_up_to_the_cap_and_rewatch_without_relisting():
    failure = errors.ApiServerError("boom", status=500)
    lw = FakeListerWatcher(lists=[([], "10")], watches=[failure] * 8)
    h = Harness(lw).run()

    assert h.sleep.delays == [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]
    assert lw.list_calls == [""]
    assert {w["resource_version"] for w in lw.watch_calls} == {"10"}
    assert h.reflector.statistics().restarts == 8


def test_backoff_jitter_stays_between_the_delay_and_twice_the_delay():
    failure = errors.ApiUnreachable("refused")
    lw = FakeListerWatcher(lists=[([], "10")], watches=[failure] * 8)
    h = Harness(lw, settings=WatchSettings()).run()

    bases = [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]
    assert all(b <= d < 2 * b for b, d in zip(bases, h.sleep.delays, strict=True))
    assert h.sleep.delays != bases  # jitter did something


def test_backoff_resets_after_a_healthy_period():
    failure = errors.ApiServerError("boom", status=500)
    lw = FakeListerWatcher(lists=[([], "10")])
    h = Harness(lw)
    lw.watches = [
        failure,
        failure,
        failure,
        # The next watch works for over two minutes, then fails.
        [("ADDED", configmap("a", "11")), lambda: h.clock.advance(121), failure],
        failure,
    ]
    h.run()

    assert h.sleep.delays == [0.8, 1.6, 3.2, 0.8, 1.6]


def test_list_failures_retry_the_list_with_backoff():
    lw = FakeListerWatcher(
        lists=[errors.ApiUnreachable("refused"), errors.ApiForbidden("no", status=403), ([], "3")]
    )
    h = Harness(lw).run()

    assert h.sleep.delays == [0.8, 1.6]
    assert lw.list_calls == ["", "", ""]
    assert h.reflector.has_synced()
    assert h.reflector.last_error is None
    assert h.reflector.statistics().list_failures == 2


def test_last_error_is_kept_until_the_next_success():
    lw = FakeListerWatcher(lists=[([], "3")], watches=[errors.ApiForbidden("no", status=403)])
    h = Harness(lw).run()
    # The last watch (the hanging one) never delivered anything: the error is still current.
    assert isinstance(h.reflector.last_error, errors.ApiForbidden)
    assert "ApiForbidden" in h.reflector.statistics().last_error


def test_repeated_410_without_any_event_backs_off_instead_of_relisting_hot():
    expired = errors.ApiResourceExpired("too old", status=410)
    lw = FakeListerWatcher(
        lists=[([], "10"), ([], "20"), ([], "30")],
        watches=[[expired], [expired]],
    )
    h = Harness(lw).run()

    assert len(lw.list_calls) == 3
    assert h.sleep.delays == [0.8]  # the first 410 relists at once, the second waits


def test_unexpected_exception_relists_from_the_last_resource_version():
    lw = FakeListerWatcher(
        lists=[([configmap("a", "5")], "10"), ([configmap("a", "5")], "12")],
        watches=[[("MODIFIED", configmap("a", "11")), RuntimeError("bug")]],
    )
    h = Harness(lw).run()

    assert lw.list_calls == ["", "11"]
    assert h.sleep.delays == [0.8]


def test_unknown_event_types_are_ignored():
    lw = FakeListerWatcher(
        lists=[([], "10")], watches=[[("SURPRISE", configmap("a", "11")), bookmark("12")]]
    )
    h = Harness(lw).run()
    assert h.events == []
    assert lw.watch_calls[-1]["resource_version"] == "12"


def test_stop_unblocks_a_hanging_watch():
    lw = FakeListerWatcher(lists=[([configmap("a", "5")], "10")])
    store = Store(gvr=CONFIGMAPS, side=Side.DOWNSTREAM)
    reflector = Reflector(lister_watcher=lw, store=store, name="test-reflector")
    reflector.start()
    assert reflector.wait_for_sync(timeout=5)
    wait_for(lw.exhausted.is_set)  # now blocked in a watch that never ends by itself

    assert reflector.stop(timeout=5)
    assert lw.streams[-1].closed.is_set()
    assert not any(t.name == "test-reflector" for t in threading.enumerate())


def test_stop_cuts_a_backoff_wait_short():
    lw = FakeListerWatcher(lists=[errors.ApiUnreachable("refused")] * 2)
    settings = WatchSettings(backoff_initial=3600.0, backoff_max=3600.0)
    reflector = Reflector(
        lister_watcher=lw, store=Store(gvr=CONFIGMAPS, side=Side.UPSTREAM), settings=settings
    )
    reflector.start()
    wait_for(lambda: reflector.statistics().restarts == 1)
    assert reflector.stop(timeout=5)
    assert lw.list_calls == [""]


def test_a_reflector_starts_once():
    lw = FakeListerWatcher(lists=[([], "1")])
    reflector = Reflector(lister_watcher=lw, store=Store(gvr=CONFIGMAPS, side=Side.UPSTREAM))
    reflector.start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            reflector.start()
    finally:
        reflector.stop()
