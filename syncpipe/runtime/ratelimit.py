"""Rate limiters: how long a failed key waits before it is retried.

client-go's default controller limiter, on an injected clock: the maximum of a per-key
exponential backoff (5 ms, 10 ms, 20 ms, ... capped at 1000 s, reset by ``forget``) and a global
token bucket (10 per second, bursts of 100) that bounds the overall retry rate when many keys fail
at once. ``when(key)`` is asked once per retry and counts it.

Deliberately not done here: sleeping or queueing (``workqueue.WorkQueue.add_rate_limited`` turns a
delay into a delayed add), honouring a server's ``Retry-After`` (the controller passes it to
``add_after`` directly), and locking — the work queue calls its limiter under its own lock, so a
limiter is used by one thread at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Protocol

# client-go's DefaultControllerRateLimiter values (util/workqueue/default_rate_limiters.go):
# the first retries are nearly immediate — most conflicts clear at once — and a key that keeps
# failing settles at one try per ~17 min instead of burning API calls.
PER_KEY_BASE_DELAY = 0.005  # seconds
PER_KEY_MAX_DELAY = 1000.0  # seconds
# Only an overall brake for mass failures (e.g. the target server down): 10 retries/s sustained,
# 100 at once — far above the retry rate of a healthy syncer.
BUCKET_QPS = 10.0
BUCKET_BURST = 100

# 2**exponent overflows a float near 1024; any exponent this large is past every sane cap already.
_MAX_EXPONENT = 62


class RateLimiter(Protocol):
    """Decides the delay before the next retry of a key."""

    def when(self, key: Hashable) -> float:
        """Seconds to wait before retrying ``key``; counts a retry."""
        ...

    def retries(self, key: Hashable) -> int:
        """How many retries of ``key`` were counted since it was last forgotten."""
        ...

    def forget(self, key: Hashable) -> None:
        """``key`` succeeded (or was given up): start its backoff over."""


class ItemExponentialRateLimiter:
    """Per key: ``base * 2**failures`` seconds, at most ``cap``; ``forget`` resets the key."""

    def __init__(self, *, base: float = PER_KEY_BASE_DELAY, cap: float = PER_KEY_MAX_DELAY) -> None:
        if base <= 0 or cap < base:
            raise ValueError(f"need 0 < base <= cap, got base={base}, cap={cap}")
        self.base = base
        self.cap = cap
        self._failures: dict[Hashable, int] = {}

    def when(self, key: Hashable) -> float:
        exponent = self._failures.get(key, 0)
        self._failures[key] = exponent + 1
        if exponent > _MAX_EXPONENT:
            return self.cap
        return min(self.base * float(2**exponent), self.cap)

    def retries(self, key: Hashable) -> int:
        return self._failures.get(key, 0)

    def forget(self, key: Hashable) -> None:
        self._failures.pop(key, None)


class TokenBucketRateLimiter:
    """Global: a bucket of ``burst`` tokens refilled at ``qps`` per second of ``clock``.

    Each ``when`` takes a token; once the bucket is empty the delay is the time until the token
    this request reserved is refilled (tokens may go negative: later requests queue behind), like
    ``rate.Limiter.Reserve().Delay()``. It tracks no keys, so ``retries`` is 0 and ``forget`` a
    no-op.
    """

    def __init__(
        self,
        *,
        qps: float = BUCKET_QPS,
        burst: int = BUCKET_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError(f"need qps > 0 and burst >= 1, got qps={qps}, burst={burst}")
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated_at = clock()

    def when(self, key: Hashable) -> float:
        now = self._clock()
        elapsed = max(0.0, now - self._updated_at)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.qps)
        self._updated_at = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def retries(self, key: Hashable) -> int:
        return 0

    def forget(self, key: Hashable) -> None:
        return None


class MaxOfRateLimiter:
    """The longest delay of several limiters (each is asked, so each counts the retry)."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        self.limiters = limiters

    def when(self, key: Hashable) -> float:
        return max(limiter.when(key) for limiter in self.limiters)

    def retries(self, key: Hashable) -> int:
        return max(limiter.retries(key) for limiter in self.limiters)

    def forget(self, key: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(key)


def default_controller_rate_limiter(
    *, clock: Callable[[], float] = time.monotonic
) -> MaxOfRateLimiter:
    """Per-key 5 ms → 1000 s exponential, and 10 qps / burst 100 overall (client-go's default)."""
    return MaxOfRateLimiter(ItemExponentialRateLimiter(), TokenBucketRateLimiter(clock=clock))


class RequestThrottle:
    """Client-side request rate limit of one API client (``--qps``/``--burst``): client-go's
    ``flowcontrol.NewTokenBucketRateLimiter`` semantics on a ``TokenBucketRateLimiter``.

    ``wait`` reserves a token under a lock and sleeps outside it, so concurrent callers queue
    behind each other in reservation order without holding the lock while they wait.
    Satisfies ``syncpipe.clients.rest.Throttle``.
    """

    def __init__(
        self,
        *,
        qps: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._bucket = TokenBucketRateLimiter(qps=qps, burst=burst, clock=clock)
        self._sleep = sleep
        self._lock = threading.Lock()

    @property
    def qps(self) -> float:
        return self._bucket.qps

    @property
    def burst(self) -> int:
        return self._bucket.burst

    def wait(self) -> float:
        with self._lock:
            delay = self._bucket.when(None)
        if delay > 0:
            self._sleep(delay)
        return delay
