"""Capped exponential backoff with jitter that resets after a healthy period.

The reflector uses it between failed lists and watches, the way client-go's reflector uses
``wait.NewExponentialBackoffManager``: each failure doubles the delay up to a cap, jitter spreads
reconnects of many watches apart, and a quiet period without failures resets the delay, so a
server that recovered is not punished for an outage long past.

It deliberately does not sleep: ``next_delay()`` only says how long to wait, and the caller sleeps
with whatever (interruptible, or fake in tests) sleep it owns. It is not thread-safe; one
reflector thread owns one instance. A library (tenacity, backoff) was not used because both own
the sleeping and the retry loop, and the reflector needs neither: its loop is list → watch →
relist, not "call f until it works".
"""

from __future__ import annotations

import random
from collections.abc import Callable

import attrs

# client-go's reflector defaults (tools/cache/reflector.go), kept so syncpipe behaves like every
# other controller against a struggling API server.
BACKOFF_INITIAL = 0.8  # seconds; long enough that a restarting server is not hammered
BACKOFF_MAX = 30.0  # seconds; with full jitter the wait stays in [30, 60) s, never minutes
BACKOFF_RESET_AFTER = 120.0  # seconds without a failure means the server is healthy again
BACKOFF_FACTOR = 2.0  # doubling: few tries to reach the cap, still quick on a blip
BACKOFF_JITTER = 1.0  # up to +100 %: reflectors that failed together do not retry together


@attrs.frozen(kw_only=True)
class BackoffPolicy:
    """The shape of a backoff: start, cap, growth, jitter and when to forget past failures."""

    initial: float = attrs.field(default=BACKOFF_INITIAL, validator=attrs.validators.gt(0))
    maximum: float = attrs.field(default=BACKOFF_MAX, validator=attrs.validators.gt(0))
    factor: float = attrs.field(default=BACKOFF_FACTOR, validator=attrs.validators.ge(1))
    jitter: float = attrs.field(default=BACKOFF_JITTER, validator=attrs.validators.ge(0))
    reset_after: float = attrs.field(default=BACKOFF_RESET_AFTER, validator=attrs.validators.gt(0))


class Backoff:
    """Stateful delays for one retry loop: ``next_delay()`` after each failure.

    The base delay grows ``initial, initial*factor, ...`` up to ``maximum``; the returned delay adds
    ``base * jitter * U[0, 1)``. When more than ``reset_after`` seconds passed since the previous
    failure, the base starts over at ``initial``.
    """

    def __init__(
        self,
        policy: BackoffPolicy | None = None,
        *,
        clock: Callable[[], float],
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy or BackoffPolicy()
        self._clock = clock
        # Jitter is not security-sensitive; a seeded Random makes tests exact.
        self._rng = rng or random.Random()  # noqa: S311
        self._base = 0.0  # 0 = no failure yet (or reset)
        self._last_failure_at: float | None = None

    def next_delay(self) -> float:
        """Record a failure now and return how long to wait before the next try."""
        now = self._clock()
        if (
            self._last_failure_at is not None
            and now - self._last_failure_at > self.policy.reset_after
        ):
            self._base = 0.0
        self._last_failure_at = now
        if self._base == 0.0:
            self._base = self.policy.initial
        else:
            self._base = min(self._base * self.policy.factor, self.policy.maximum)
        return self._base + self._base * self.policy.jitter * self._rng.random()

    def reset(self) -> None:
        """Forget past failures: the next delay starts at ``initial`` again."""
        self._base = 0.0
        self._last_failure_at = None
