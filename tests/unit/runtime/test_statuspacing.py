"""Status return's leading + trailing edge: quiet changes at once, bursts once per window."""

from __future__ import annotations

import pytest

from syncpipe.runtime.statuspacing import StatusPacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def pacer(window: float = 0.5) -> tuple[StatusPacer, Clock]:
    clock = Clock()
    return StatusPacer(window=window, clock=clock), clock


def test_the_first_change_of_a_quiet_key_is_released_at_once():
    paced, clock = pacer()
    assert paced.delay("a") == 0.0
    clock.now += 0.5
    assert paced.delay("a") == 0.0  # a whole window later: quiet again


def test_changes_within_the_window_wait_for_its_end_together():
    paced, clock = pacer()
    paced.delay("a")
    clock.now += 0.1
    assert paced.delay("a") == pytest.approx(0.4)
    clock.now += 0.2
    assert paced.delay("a") == pytest.approx(0.2)  # the same trailing release


def test_keys_are_paced_independently():
    paced, clock = pacer()
    paced.delay("a")
    clock.now += 0.1
    assert paced.delay("b") == 0.0


def test_a_burst_of_twenty_changes_in_one_second_makes_at_most_three_releases():
    paced, clock = pacer()
    releases = set()
    start = clock.now
    for i in range(20):
        clock.now = start + i * 0.05
        releases.add(round(clock.now + paced.delay("a"), 6))
    assert len(releases) <= 3
    assert min(releases) == start  # the first change was not held


def test_a_change_after_a_trailing_release_waits_a_window_after_it():
    paced, clock = pacer()
    paced.delay("a")
    clock.now += 0.1
    paced.delay("a")  # trailing at +0.5
    clock.now += 0.5  # +0.6: the trailing release happened at +0.5
    assert paced.delay("a") == pytest.approx(0.4)  # next at +1.0
