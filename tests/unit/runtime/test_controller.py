"""The worker loop's error handling: what is retried, how soon, what is reported, what is logged."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from syncpipe import errors
from syncpipe.runtime import controller as controller_module
from syncpipe.runtime.controller import Controller
from syncpipe.runtime.workqueue import WorkQueue
from syncpipe.testing import wait_for


class Scripted:
    """A reconcile that raises the scripted errors in turn, then succeeds."""

    def __init__(self, *outcomes: Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0
        self.succeeded = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, key: str) -> None:
        with self._lock:
            self.calls += 1
            outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        self.succeeded.set()


@pytest.fixture
def reported() -> list[tuple[str, Exception]]:
    return []


@contextmanager
def running(
    reconcile: Scripted, reported: list[tuple[str, Exception]]
) -> Iterator[Controller[str]]:
    queue: WorkQueue[str] = WorkQueue(name="test")
    worker = Controller(
        name="test",
        queue=queue,
        reconcile=reconcile,
        workers=1,
        on_rejected=lambda key, exc: reported.append((key, exc)),
    )
    worker.start()
    try:
        yield worker
    finally:
        worker.stop(timeout=5)


def test_a_retryable_error_is_retried_after_its_delay_until_it_succeeds(reported):
    reconcile = Scripted(
        errors.RetryableError("not yet", delay=0.01), errors.RetryableError("still not", delay=0.01)
    )
    with running(reconcile, reported) as worker:
        worker.queue.add("k")
        assert reconcile.succeeded.wait(5)
        # The worker counts the reconcile once it returned, a moment after it signalled.
        wait_for(lambda: worker.reconciles == 1, timeout=5)
        assert reconcile.calls == 3
        assert worker.failures == 2
    assert reported == []


def test_a_terminal_error_is_reported_and_not_retried(reported):
    reconcile = Scripted(errors.OwnershipConflict("not ours"))
    with running(reconcile, reported) as worker:
        worker.queue.add("k")
        wait_for(lambda: reported, timeout=5)
        wait_for(lambda: worker.queue.statistics().processing == 0, timeout=5)
        stats = worker.queue.statistics()
        assert stats.depth == 0
        assert stats.waiting == 0
    assert reconcile.calls == 1
    assert [(k, type(e)) for k, e in reported] == [("k", errors.OwnershipConflict)]


def test_a_conflict_is_retried_at_once_with_fresh_state(reported):
    reconcile = Scripted(errors.ApiConflict("changed under us"))
    with running(reconcile, reported) as worker:
        worker.queue.add("k")
        assert reconcile.succeeded.wait(2)
        assert worker.queue.statistics().retries == 0  # not through the rate limiter
    assert reconcile.calls == 2


def test_a_long_wait_is_logged_once_at_info_and_a_new_wait_starts_afresh(
    monkeypatch, caplog, reported
):
    """Retries of a RetryableError are DEBUG; one that does not end must still show (once)."""
    monkeypatch.setattr(controller_module, "LONG_WAIT_SECONDS", 0.2)
    caplog.set_level(logging.INFO, logger="syncpipe.runtime.controller")
    waits = [errors.RetryableError("Widget is not served yet", delay=0.02) for _ in range(30)]
    reconcile = Scripted(*waits)
    with running(reconcile, reported) as worker:
        worker.queue.add("k")
        assert reconcile.succeeded.wait(10)
        reconcile.succeeded.clear()
        long_waits = [r for r in caplog.records if "still waiting" in r.getMessage()]
        assert len(long_waits) == 1
        assert long_waits[0].levelno == logging.INFO
        assert "k still waiting after" in long_waits[0].getMessage()
        assert "Widget is not served yet" in long_waits[0].getMessage()

        # After the success the key's wait is over: a short new wait logs nothing.
        reconcile.outcomes = [errors.RetryableError("briefly", delay=0.01)]
        worker.queue.add("k")
        assert reconcile.succeeded.wait(5)
    assert len([r for r in caplog.records if "still waiting" in r.getMessage()]) == 1
