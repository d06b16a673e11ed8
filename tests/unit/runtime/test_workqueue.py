"""The work queue: dedup, stingy processing, delayed and rate-limited adds, graceful shutdown."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime.ratelimit import ItemExponentialRateLimiter
from syncpipe.runtime.workqueue import WorkQueue

CONFIGMAPS = GroupVersionResource("", "v1", "configmaps")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_queue() -> tuple[WorkQueue[str], FakeClock]:
    clock = FakeClock()
    return WorkQueue(clock=clock, rate_limiter=ItemExponentialRateLimiter()), clock


def drain(queue: WorkQueue[str]) -> list[str]:
    keys = []
    while (key := queue.get(timeout=0)) is not None:
        keys.append(key)
        queue.done(key)
    return keys


def test_a_key_added_many_times_while_waiting_is_queued_once():
    queue, _ = make_queue()
    for key in ["a", "b", "a", "a", "c", "b"]:
        queue.add(key)
    assert len(queue) == 3
    assert drain(queue) == ["a", "b", "c"]  # first-added first
    stats = queue.statistics()
    assert (stats.adds, stats.deduplicated) == (6, 3)


def test_object_keys_and_tuples_are_keys():
    queue: WorkQueue[object] = WorkQueue()
    queue.add(ObjectKey(CONFIGMAPS, "ns", "a"))
    queue.add(ObjectKey(CONFIGMAPS, "ns", "a"))
    queue.add(("downsync", "ns/a"))
    assert len(queue) == 2


def test_get_times_out_with_none_when_empty():
    queue, _ = make_queue()
    assert queue.get(timeout=0) is None
    assert queue.get(timeout=0.01) is None


def test_a_key_added_while_processing_is_queued_again_after_done():
    queue, _ = make_queue()
    queue.add("a")
    assert queue.get(timeout=0) == "a"
    queue.add("a")
    queue.add("a")
    assert queue.get(timeout=0) is None  # not handed to a second worker
    assert queue.statistics().processing == 1
    queue.done("a")
    assert queue.get(timeout=0) == "a"  # once, however often it was re-added
    queue.done("a")
    assert queue.get(timeout=0) is None


def test_done_without_a_re_add_does_not_requeue():
    queue, _ = make_queue()
    queue.add("a")
    queue.done(queue.get(timeout=0) or "")
    assert len(queue) == 0


def test_one_key_is_never_processed_by_two_workers_at_once():
    queue: WorkQueue[str] = WorkQueue()
    keys = ["a", "b", "c"]
    active: Counter[str] = Counter()
    max_active: Counter[str] = Counter()
    processed: Counter[str] = Counter()
    lock = threading.Lock()

    def worker() -> None:
        while (key := queue.get()) is not None:
            with lock:
                active[key] += 1
                max_active[key] = max(max_active[key], active[key])
            time.sleep(0.0005)  # hold the key so that re-adds land while it is processing
            with lock:
                active[key] -= 1
                processed[key] += 1
            queue.done(key)

    workers = [threading.Thread(target=worker) for _ in range(8)]
    for thread in workers:
        thread.start()
    for i in range(600):
        queue.add(keys[i % 3])
        if i % 50 == 0:
            time.sleep(0.001)
    deadline = time.monotonic() + 5
    while (len(queue) or queue.statistics().processing) and time.monotonic() < deadline:
        time.sleep(0.001)
    assert queue.shutdown(drain=True, timeout=5)
    for thread in workers:
        thread.join(timeout=5)

    assert max(max_active.values()) == 1
    assert set(processed) == set(keys)
    assert sum(processed.values()) < 600  # re-adds were coalesced


def test_add_after_releases_keys_in_due_order_on_the_injected_clock():
    queue, clock = make_queue()
    queue.add_after("late", 3.0)
    queue.add_after("soon", 1.0)
    queue.add_after("middle", 2.0)
    assert queue.get(timeout=0) is None
    assert queue.statistics().waiting == 3

    clock.advance(1.5)
    assert drain(queue) == ["soon"]
    clock.advance(2.0)
    assert drain(queue) == ["middle", "late"]
    assert queue.statistics().waiting == 0


def test_add_after_keeps_the_earlier_due_time_of_one_key():
    queue, clock = make_queue()
    queue.add_after("a", 10.0)
    queue.add_after("a", 2.0)
    queue.add_after("a", 5.0)
    clock.advance(2.0)
    assert drain(queue) == ["a"]
    clock.advance(10.0)
    assert drain(queue) == []  # the superseded due times add nothing


def test_add_after_with_no_delay_adds_at_once():
    queue, _ = make_queue()
    queue.add_after("a", 0)
    assert queue.get(timeout=0) == "a"


def test_a_blocked_get_wakes_for_a_delayed_key_due_in_real_time():
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("a", 0.01)
    assert queue.get(timeout=5) == "a"


def test_a_blocked_get_wakes_when_another_thread_adds():
    queue: WorkQueue[str] = WorkQueue()
    got: list[str | None] = []
    waiter = threading.Thread(target=lambda: got.append(queue.get(timeout=5)))
    waiter.start()
    queue.add("a")
    waiter.join(timeout=5)
    assert got == ["a"]


def test_rate_limited_adds_back_off_per_key_until_forgotten():
    queue, clock = make_queue()
    queue.add_rate_limited("a")
    assert queue.get(timeout=0) is None
    clock.advance(0.005)
    assert drain(queue) == ["a"]

    queue.add_rate_limited("a")  # second failure: 10 ms
    clock.advance(0.009)
    assert queue.get(timeout=0) is None
    clock.advance(0.001)
    assert drain(queue) == ["a"]
    assert queue.retries("a") == 2

    queue.forget("a")
    assert queue.retries("a") == 0
    queue.add_rate_limited("a")
    clock.advance(0.005)
    assert drain(queue) == ["a"]
    assert queue.statistics().retries == 3


def test_shutdown_drains_in_flight_keys_and_then_get_returns_none():
    queue, _ = make_queue()
    queue.add("a")
    queue.add("b")
    assert queue.get(timeout=0) == "a"
    finished: list[bool] = []
    closer = threading.Thread(target=lambda: finished.append(queue.shutdown(drain=True)))
    closer.start()
    while not queue.shutting_down:
        time.sleep(0.001)

    assert queue.get(timeout=0) is None  # "b" is never handed out after shutdown
    queue.add("c")  # not accepted
    assert finished == []  # still waiting for "a"
    queue.done("a")
    closer.join(timeout=5)
    assert finished == [True]
    assert queue.get() is None  # does not block after shutdown


def test_shutdown_wakes_blocked_workers():
    queue: WorkQueue[str] = WorkQueue()
    got: list[str | None] = ["unset"]
    waiter = threading.Thread(target=lambda: got.__setitem__(0, queue.get()))
    waiter.start()
    time.sleep(0.005)
    assert queue.shutdown()
    waiter.join(timeout=5)
    assert got == [None]


def test_shutdown_without_drain_returns_at_once():
    queue, _ = make_queue()
    queue.add("a")
    queue.get(timeout=0)
    assert queue.shutdown(drain=False) is False
    assert queue.shutdown(drain=True, timeout=0.01) is False
    queue.done("a")
    assert queue.get(timeout=0) is None  # a re-added key is not requeued after shutdown


def test_delayed_and_rate_limited_adds_are_dropped_after_shutdown():
    queue, clock = make_queue()
    queue.add_after("a", 1.0)
    queue.shutdown()
    queue.add_after("b", 1.0)
    queue.add_rate_limited("c")
    clock.advance(5.0)
    stats = queue.statistics()
    assert (stats.depth, stats.waiting, stats.retries) == (0, 0, 0)


def test_statistics_report_depth_and_the_longest_running_key():
    queue, clock = make_queue()
    queue.add("a")
    queue.add("b")
    queue.add_after("c", 60)
    assert queue.get(timeout=0) == "a"
    clock.advance(2.0)
    assert queue.get(timeout=0) == "b"
    clock.advance(1.5)
    stats = queue.statistics()
    assert (stats.depth, stats.waiting, stats.processing) == (0, 1, 2)
    assert stats.longest_running == pytest.approx(3.5)
    queue.done("a")
    assert queue.statistics().longest_running == pytest.approx(1.5)
