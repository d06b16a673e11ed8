"""Rate limiters: exact delays, as client-go tests its defaults."""

from __future__ import annotations

import pytest

from syncpipe.runtime.ratelimit import (
    ItemExponentialRateLimiter,
    MaxOfRateLimiter,
    TokenBucketRateLimiter,
    default_controller_rate_limiter,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_per_key_delays_double_from_5ms():
    limiter = ItemExponentialRateLimiter()
    assert [limiter.when("k") for _ in range(5)] == [0.005, 0.01, 0.02, 0.04, 0.08]
    assert limiter.retries("k") == 5


def test_per_key_delays_are_capped_at_1000s():
    limiter = ItemExponentialRateLimiter()
    delays = [limiter.when("k") for _ in range(30)]
    assert delays[17] == 0.005 * 2**17  # 655.36 s, the last one under the cap
    assert delays[18:] == [1000.0] * 12
    # Far past any float exponent: still the cap, no overflow.
    for _ in range(2000):
        limiter.when("k")
    assert limiter.when("k") == 1000.0


def test_forget_resets_one_key_only():
    limiter = ItemExponentialRateLimiter()
    for _ in range(3):
        limiter.when("a")
    limiter.when("b")
    limiter.forget("a")
    assert limiter.retries("a") == 0
    assert limiter.when("a") == 0.005
    assert limiter.when("b") == 0.01


def test_custom_base_and_cap():
    limiter = ItemExponentialRateLimiter(base=0.001, cap=0.004)
    assert [limiter.when(("ns", "x")) for _ in range(5)] == [0.001, 0.002, 0.004, 0.004, 0.004]
    with pytest.raises(ValueError, match="base"):
        ItemExponentialRateLimiter(base=1.0, cap=0.5)


def test_token_bucket_allows_a_burst_then_spaces_requests_at_qps():
    clock = FakeClock()
    bucket = TokenBucketRateLimiter(qps=10, burst=100, clock=clock)
    assert [bucket.when(i) for i in range(100)] == [0.0] * 100
    assert bucket.when("x") == pytest.approx(0.1)
    assert bucket.when("y") == pytest.approx(0.2)
    assert bucket.retries("x") == 0


def test_token_bucket_refills_with_time_up_to_the_burst():
    clock = FakeClock()
    bucket = TokenBucketRateLimiter(qps=10, burst=100, clock=clock)
    for i in range(102):
        bucket.when(i)  # 2 tokens in debt
    clock.now += 1.0  # +10 tokens → 8
    assert [bucket.when(i) for i in range(8)] == [0.0] * 8
    assert bucket.when("late") == pytest.approx(0.1)
    clock.now += 3600.0  # refill stops at the burst size
    assert [bucket.when(i) for i in range(100)] == [0.0] * 100
    assert bucket.when("over") == pytest.approx(0.1)


def test_max_of_takes_the_longest_delay_and_forgets_in_all():
    clock = FakeClock()
    limiter = MaxOfRateLimiter(
        ItemExponentialRateLimiter(), TokenBucketRateLimiter(qps=1, burst=2, clock=clock)
    )
    assert limiter.when("k") == 0.005  # bucket has tokens: per-key delay wins
    assert limiter.when("k") == 0.01
    assert limiter.when("k") == pytest.approx(1.0)  # bucket empty: 1 qps wins
    assert limiter.retries("k") == 3
    limiter.forget("k")
    assert limiter.retries("k") == 0


def test_the_default_controller_limiter_is_5ms_per_key_and_10qps_overall():
    clock = FakeClock()
    limiter = default_controller_rate_limiter(clock=clock)
    assert [limiter.when("k") for _ in range(3)] == [0.005, 0.01, 0.02]
    for i in range(97):
        limiter.when(i)  # the burst of 100 is now spent
    assert limiter.when("fresh") == pytest.approx(0.1)


# -- the client-side request throttle (--qps/--burst) ------------------------------------------


def test_the_request_throttle_lets_a_burst_through_then_spaces_requests_at_qps():
    from syncpipe.runtime.ratelimit import RequestThrottle

    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)

    throttle = RequestThrottle(qps=20.0, burst=30, clock=lambda: now[0], sleep=sleep)
    waits = [throttle.wait() for _ in range(32)]
    assert waits[:30] == [0.0] * 30
    assert waits[30:] == pytest.approx([0.05, 0.10])
    assert slept == pytest.approx([0.05, 0.10])
    now[0] = 10.0  # a quiet while refills the bucket to its burst, no further
    assert [throttle.wait() for _ in range(30)] == [0.0] * 30
    assert throttle.wait() == pytest.approx(0.05)
