"""The polling fallback: periodic lists diffed against the store."""

from __future__ import annotations

import pytest

from syncpipe import errors
from syncpipe.model.events import Event, EventType, Side
from syncpipe.source.informer import EventSource
from syncpipe.source.polling import PollingSource

from .fakes import CONFIGMAPS, FakeListerWatcher, configmap, wait_for

HOUR = 3600.0  # long enough that the poll thread never polls again by itself during a test


def test_polls_emit_only_what_changed_and_flag_deletes_as_inferred():
    lw = FakeListerWatcher(
        lists=[
            ([configmap("a", "1"), configmap("b", "2")], "10"),
            ([configmap("a", "3"), configmap("c", "4")], "20"),
            ([configmap("a", "3"), configmap("c", "4")], "30"),
        ]
    )
    source = PollingSource(gvr=CONFIGMAPS, side=Side.UPSTREAM, lister=lw, interval=HOUR)
    events: list[Event] = []
    source.add_handler(events.append)
    source.start()
    try:
        assert source.wait_for_sync(timeout=5)
        assert source.poll_once()
        assert source.poll_once()
        wait_for(lambda: source.statistics().dispatch.pending == 0 and len(events) >= 5)
    finally:
        assert source.stop(timeout=5)

    assert [(e.type, e.key.name, e.final_state_unknown) for e in events] == [
        (EventType.ADDED, "a", False),
        (EventType.ADDED, "b", False),
        (EventType.MODIFIED, "a", False),
        (EventType.ADDED, "c", False),
        (EventType.DELETED, "b", True),
    ]
    assert source.statistics().polls == 3
    assert lw.list_calls == ["", "", ""]


def test_a_failed_poll_keeps_the_cache_and_is_retried_at_the_next_interval():
    lw = FakeListerWatcher(
        lists=[([configmap("a", "1")], "10"), errors.ApiServerError("boom"), ([], "30")]
    )
    sleeps: list[float] = []
    sources: list[PollingSource] = []

    def sleep_and_stop_after_three(seconds: float) -> None:
        sleeps.append(seconds)
        source = sources[0]
        if len(sleeps) == 2:
            assert len(source.store) == 1  # the failure did not empty the cache
            assert isinstance(source.last_error, errors.ApiServerError)
        if len(sleeps) == 3:
            source.stop()

    source = PollingSource(
        gvr=CONFIGMAPS,
        side=Side.UPSTREAM,
        lister=lw,
        interval=7.0,
        sleep=sleep_and_stop_after_three,
    )
    sources.append(source)
    source.run()  # synchronously: the fake sleep stops it

    assert sleeps == [7.0, 7.0, 7.0]
    assert len(source.store) == 0
    assert source.last_error is None
    stats = source.statistics()
    assert (stats.polls, stats.poll_failures) == (2, 1)


def test_resync_replays_the_cache_without_listing():
    lw = FakeListerWatcher(lists=[([configmap("a", "1")], "10")])
    source: EventSource = PollingSource(
        gvr=CONFIGMAPS, side=Side.UPSTREAM, lister=lw, interval=HOUR
    )
    events: list[Event] = []
    source.add_handler(events.append)
    source.start()
    try:
        assert source.wait_for_sync(timeout=5)
        assert source.resync() == 1
        wait_for(lambda: len(events) == 2)
    finally:
        assert source.stop(timeout=5)
    assert [e.type for e in events] == [EventType.ADDED, EventType.RESYNC]
    assert lw.list_calls == [""]


def test_the_interval_must_be_positive():
    with pytest.raises(ValueError, match="interval"):
        PollingSource(
            gvr=CONFIGMAPS, side=Side.UPSTREAM, lister=FakeListerWatcher(lists=[]), interval=0
        )
