"""Status return waits for a downsync backlog, but never longer than its bound."""

from __future__ import annotations

from syncpipe.runtime.statushold import StatusHold


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(backlog: list[int]) -> tuple[StatusHold, Clock]:
    clock = Clock()
    return StatusHold(lambda: backlog[0], threshold=16, max_hold=10.0, clock=clock), clock


def test_no_backlog_means_status_goes_back_at_once():
    hold, _ = make([15])
    assert not hold.should_wait("a")
    assert hold.held == 0


def test_a_backlog_holds_each_key_until_it_clears():
    backlog = [500]
    hold, clock = make(backlog)
    assert hold.should_wait("a")
    clock.now += 3
    assert hold.should_wait("a")
    assert hold.should_wait("b")
    backlog[0] = 0
    assert not hold.should_wait("a")
    assert not hold.should_wait("b")
    assert hold.held == 3


def test_a_backlog_that_never_clears_holds_a_key_for_max_hold_at_most():
    hold, clock = make([10_000])
    assert hold.should_wait("a")
    clock.now += 9.9
    assert hold.should_wait("a")
    clock.now += 0.1
    assert not hold.should_wait("a")  # waited long enough: its status goes back now
    # The next change of that copy's status starts a new bounded wait.
    assert hold.should_wait("a")
    clock.now += 10.0
    assert not hold.should_wait("a")


def test_the_bound_counts_from_the_first_hold_of_each_key():
    hold, clock = make([10_000])
    assert hold.should_wait("a")
    clock.now += 6
    assert hold.should_wait("b")
    clock.now += 4
    assert not hold.should_wait("a")
    assert hold.should_wait("b")
    clock.now += 6
    assert not hold.should_wait("b")
