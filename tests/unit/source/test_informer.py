"""The informer: events reach handlers on their own thread; resync comes from the cache."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from syncpipe import errors
from syncpipe.model.events import Event, EventType, Side
from syncpipe.source.informer import EventSource, Informer
from syncpipe.source.reflector import WatchSettings

from .fakes import CONFIGMAPS, FakeListerWatcher, configmap, wait_for


@pytest.fixture
def started() -> Iterator[list[Informer]]:
    """Informers appended here are stopped after the test, whatever happens."""
    informers: list[Informer] = []
    yield informers
    for informer in informers:
        assert informer.stop(timeout=5)


def make_informer(lw: FakeListerWatcher, **kw: object) -> Informer:
    return Informer(gvr=CONFIGMAPS, side=Side.UPSTREAM, lister_watcher=lw, **kw)  # type: ignore[arg-type]


def test_informer_is_an_event_source():
    informer: EventSource = make_informer(FakeListerWatcher(lists=[]))
    assert informer.store.gvr == CONFIGMAPS


def test_handlers_are_called_on_the_dispatch_thread_not_the_watch_thread(started):
    lw = FakeListerWatcher(
        lists=[([configmap("a", "1")], "10")], watches=[[("ADDED", configmap("b", "11"))]]
    )
    informer = make_informer(lw, name="cm")
    seen: list[tuple[str, EventType, str]] = []
    informer.add_handler(
        lambda e: seen.append((threading.current_thread().name, e.type, e.key.name))
    )
    informer.start()
    started.append(informer)

    assert informer.wait_for_sync(timeout=5)
    wait_for(lambda: len(seen) == 2)
    assert seen == [
        ("cm:dispatch", EventType.ADDED, "a"),
        ("cm:dispatch", EventType.ADDED, "b"),
    ]


def test_a_slow_handler_does_not_stall_the_watch(started):
    lw = FakeListerWatcher(
        lists=[([], "10")],
        watches=[[("ADDED", configmap(f"cm-{i}", str(11 + i))) for i in range(50)]],
    )
    informer = make_informer(lw)
    release = threading.Event()
    handled: list[str] = []

    def slow_handler(event: Event) -> None:
        release.wait(timeout=5)
        handled.append(event.key.name)

    informer.add_handler(slow_handler)
    informer.start()
    started.append(informer)

    # The watch got through all 50 events and into its next watch while the handler is stuck.
    wait_for(lw.exhausted.is_set)
    assert len(informer.store) == 50
    assert len(handled) == 0
    release.set()
    wait_for(lambda: len(handled) == 50)


def test_handler_exceptions_do_not_kill_the_dispatch_thread(started):
    lw = FakeListerWatcher(
        lists=[([configmap("a", "1"), configmap("b", "2")], "10")],
        watches=[[("MODIFIED", configmap("a", "11"))]],
    )
    informer = make_informer(lw)
    good: list[str] = []

    def bad_handler(event: Event) -> None:
        raise ValueError(f"cannot handle {event.key}")

    informer.add_handler(bad_handler)
    informer.add_handler(lambda e: good.append(e.key.name))
    informer.start()
    started.append(informer)

    wait_for(lambda: len(good) == 3)
    assert good == ["a", "b", "a"]
    assert informer.statistics().dispatch.handler_errors == 3


def test_resync_emits_from_the_cache_without_calling_list(started):
    lw = FakeListerWatcher(lists=[([configmap("a", "1"), configmap("b", "2")], "10")])
    informer = make_informer(lw)
    events: list[Event] = []
    informer.add_handler(events.append)
    assert informer.resync() == 0  # nothing to resync before the first list
    informer.start()
    started.append(informer)
    assert informer.wait_for_sync(timeout=5)
    wait_for(lambda: len(events) == 2)

    assert informer.resync() == 2
    wait_for(lambda: len(events) == 4)
    assert sorted((e.type, e.key.name) for e in events[2:]) == [
        (EventType.RESYNC, "a"),
        (EventType.RESYNC, "b"),
    ]
    assert lw.list_calls == [""]


def test_periodic_resync_is_driven_by_the_dispatch_thread(started):
    lw = FakeListerWatcher(lists=[([configmap("a", "1")], "10")])
    informer = make_informer(lw, resync_period=0.01)
    resyncs: list[str] = []
    informer.add_handler(
        lambda e: (
            resyncs.append(threading.current_thread().name) if e.type is EventType.RESYNC else None
        )
    )
    informer.start()
    started.append(informer)

    wait_for(lambda: len(resyncs) >= 2)
    assert informer.statistics().dispatch.resyncs >= 2
    assert lw.list_calls == [""]


def test_wait_for_sync_times_out_while_the_list_keeps_failing(started):
    lw = FakeListerWatcher(lists=[errors.ApiUnreachable("refused")] * 100)
    quick = WatchSettings(backoff_initial=0.01, backoff_max=0.01)
    informer = make_informer(lw, settings=quick)
    informer.start()
    started.append(informer)

    assert not informer.wait_for_sync(timeout=0.05)
    assert not informer.has_synced()
    assert isinstance(informer.last_error, errors.ApiUnreachable)
