"""Reflectors of one server retry together: the first to reach it again after failing wakes
the others out of their backoff waits."""

from __future__ import annotations

import threading

from syncpipe import errors
from syncpipe.model.events import Side
from syncpipe.source.recovery import ServerRecovery
from syncpipe.source.reflector import Reflector, WatchSettings
from syncpipe.source.store import Store

from .fakes import CONFIGMAPS, FakeListerWatcher, configmap, wait_for

AN_HOUR = WatchSettings(backoff_initial=3600.0, backoff_max=3600.0)


def reflector(
    lw: FakeListerWatcher, recovery: ServerRecovery, settings: WatchSettings
) -> Reflector:
    return Reflector(
        lister_watcher=lw,
        store=Store(gvr=CONFIGMAPS, side=Side.DOWNSTREAM),
        settings=settings,
        recovery=recovery,
    )


def test_a_reflector_reaching_its_server_again_wakes_the_others_waiting_out_a_backoff():
    recovery = ServerRecovery()
    # Waiting an hour after its first failure; its retry succeeds.
    waiting_lw = FakeListerWatcher(
        lists=[errors.ApiUnreachable("refused"), ([configmap("a", "5")], "10")]
    )
    waiting = reflector(waiting_lw, recovery, AN_HOUR)
    # Fails once and retries quickly: it reaches the server first.
    quick_lw = FakeListerWatcher(lists=[errors.ApiUnreachable("refused"), ([], "10")])
    quick = reflector(quick_lw, recovery, WatchSettings(backoff_initial=0.01, jitter=0.0))
    try:
        waiting.start()
        wait_for(lambda: waiting.statistics().restarts == 1)
        quick.start()
        assert quick.wait_for_sync(timeout=5)
        assert waiting.wait_for_sync(timeout=5)  # long before its hour
        assert waiting_lw.list_calls == ["", ""]
        assert recovery.wakeups == 1
    finally:
        assert waiting.stop(timeout=5)
        assert quick.stop(timeout=5)


def test_a_reflector_that_never_failed_wakes_nobody():
    recovery = ServerRecovery()
    woken = threading.Event()
    healthy_lw = FakeListerWatcher(lists=[([], "10")])
    healthy = reflector(healthy_lw, recovery, AN_HOUR)
    waiter = threading.Thread(target=lambda: recovery.wait(3600.0, woken))
    waiter.start()
    try:
        healthy.start()
        assert healthy.wait_for_sync(timeout=5)
        wait_for(healthy_lw.exhausted.is_set)
        assert not woken.is_set()
        assert recovery.wakeups == 0
    finally:
        woken.set()
        waiter.join(5)
        assert healthy.stop(timeout=5)


def test_stop_still_cuts_a_backoff_wait_short_with_a_shared_recovery():
    recovery = ServerRecovery()
    lw = FakeListerWatcher(lists=[errors.ApiUnreachable("refused")] * 2)
    r = reflector(lw, recovery, AN_HOUR)
    r.start()
    wait_for(lambda: r.statistics().restarts == 1)
    assert r.stop(timeout=5)
    assert lw.list_calls == [""]
    assert recovery.wakeups == 0
