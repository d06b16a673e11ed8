"""The polling helper integration tests wait with."""

from __future__ import annotations

import itertools

import pytest

from syncpipe.testing import WaitTimeout, wait_for


def test_returns_the_first_truthy_value():
    answers = iter([None, [], ["rs-1"]])

    assert wait_for(lambda: next(answers), interval=0) == ["rs-1"]


def test_times_out_with_the_message_and_the_last_value():
    with pytest.raises(WaitTimeout, match=r"no ReplicaSet .*last value \[\]"):
        wait_for(list, timeout=0.05, interval=0.01, message="no ReplicaSet")


def test_a_callable_message_describes_the_state_at_the_end():
    calls = itertools.count()

    with pytest.raises(WaitTimeout, match=r"after \d+ calls"):
        wait_for(
            lambda: next(calls) > 100,
            timeout=0.05,
            interval=0.02,
            message=lambda: f"after {next(calls)} calls",
        )


def test_ignored_exceptions_mean_not_yet_and_are_reported():
    attempts = iter([KeyError("gone"), KeyError("gone"), "found"])

    def probe():
        answer = next(attempts)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert wait_for(probe, interval=0, ignore=(KeyError,)) == "found"
    with pytest.raises(WaitTimeout, match="last error KeyError"):
        wait_for(lambda: {}["x"], timeout=0.02, interval=0.01, ignore=(KeyError,))


def test_other_exceptions_propagate_at_once():
    with pytest.raises(ZeroDivisionError):
        wait_for(lambda: 1 / 0, timeout=10)


def test_the_timeout_error_is_an_assertion_error():
    assert issubclass(WaitTimeout, AssertionError)
