"""The deletion circuit breaker holds inferred deletions past its threshold, and stays tripped."""

import logging

import pytest

from syncpipe import errors
from syncpipe.runtime.safety import DeletionGuard


def guard(owned: int = 100, **kw) -> DeletionGuard:
    clock = iter(range(10_000))
    return DeletionGuard(
        owned_count=lambda: owned,
        max_fraction=0.2,
        min_held=5,
        window=300.0,
        clock=lambda: float(next(clock)),
        **kw,
    )


def test_explicit_deletions_always_pass():
    g = guard()
    for i in range(500):
        g.check(i, inferred=False)
    assert not g.tripped


def test_inferred_deletions_beyond_the_fraction_are_held_and_the_breaker_stays_tripped():
    g = guard(owned=100)
    for i in range(20):
        g.check(i, inferred=True)
    with pytest.raises(errors.RetryableError):
        g.check(20, inferred=True)
    assert g.tripped
    assert g.held == {20}
    with pytest.raises(errors.RetryableError):
        g.check(21, inferred=True)
    g.check(22, inferred=False)  # an explicit deletion still goes through


def test_a_small_fleet_gets_the_minimum_allowance():
    g = guard(owned=3)
    for i in range(5):
        g.check(i, inferred=True)
    with pytest.raises(errors.RetryableError):
        g.check(5, inferred=True)


def test_confirmation_lets_held_deletions_through_and_warns_the_breaker_is_off(caplog):
    with caplog.at_level(logging.WARNING, logger="syncpipe.runtime.safety"):
        g = guard(owned=10, confirmed=True)
    (warning,) = caplog.records
    assert "the deletion circuit breaker is off for this run" in warning.getMessage()
    for i in range(50):
        g.check(i, inferred=True)
    assert not g.tripped


def test_deletions_vetoed_by_a_plugin_count_like_inferred_ones_and_name_the_plugin():
    g = guard(owned=100)
    for i in range(20):
        g.check(i, inferred=False, vetoed_by="acme")
    with pytest.raises(errors.RetryableError):
        g.check(20, inferred=False, vetoed_by="acme")
    with pytest.raises(errors.RetryableError):
        g.check(21, inferred=True)
    assert g.tripped
    assert g.held == {20, 21}
    assert g.vetoes_held() == (("acme", 1),)


def test_confirmation_lets_vetoed_deletions_through():
    g = guard(owned=10, confirmed=True)
    for i in range(50):
        g.check(i, inferred=False, vetoed_by="acme")
    assert not g.tripped


def test_tripping_is_one_error_line_naming_the_plugin_further_holds_are_info(caplog):
    g = guard(owned=10)
    for i in range(5):
        g.check(i, inferred=False, vetoed_by="acme")
    with caplog.at_level(logging.INFO, logger="syncpipe.runtime.safety"):
        for _attempt in range(2):  # held deletions are re-examined: said once each
            for i in range(5, 8):
                with pytest.raises(errors.RetryableError):
                    g.check(i, inferred=False, vetoed_by="acme")
    errors_logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors_logged) == 1
    assert "holding the deletion of 5 (vetoed by plugin acme)" in errors_logged[0]
    assert "--confirm-held-deletions" in errors_logged[0]
    assert "\n" not in errors_logged[0]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.INFO] == [
        f"deletion circuit breaker: holding the deletion of {i} (vetoed by plugin acme)"
        for i in (6, 7)
    ]
