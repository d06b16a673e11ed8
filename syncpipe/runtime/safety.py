"""The guards on what the syncer writes: the deletion circuit breaker and the fight guard.

The deletion circuit breaker: deletions inferred from a suspicious view are held.

A deletion is *explicit* when the upstream object was seen deleted (a watch DELETED event) or
a SyncerConfig stopped selecting it. It is *inferred* when a relist merely no longer shows the
object: an upstream list that suddenly comes back empty (RBAC revoked, wrong workspace, a
restored etcd) would otherwise wipe the edge cluster. A deletion *vetoed* by a plugin (its
``syncpipe_select`` excludes what the configs select) is counted like an inferred one: one
buggy plugin release must not empty an edge cluster either. Counted deletions beyond a
fraction of the owned objects within one window are refused and retried later; the breaker
tripping is logged loudly in one line, each further held deletion quietly (at info level).
Once tripped the breaker stays tripped for this process: held deletions are re-examined (an
object that reappears upstream is simply no longer deleted) but not carried out until an
operator restarts the syncer with ``--confirm-held-deletions``. The SyncerConfig condition
``DeletionsHeld`` says how many are waiting, and which plugins' vetoes caused some.

The fight guard (``FightGuard``): another writer that keeps changing fields this syncer owns on
a copy is not fought in a hot loop; past a threshold each further patch waits longer.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Hashable

from syncpipe import errors
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject, meta

log = logging.getLogger(__name__)

# Held deletions are re-examined this often (the operator may have fixed the upstream view).
HELD_RETRY_SECONDS = 60.0


class DeletionGuard:
    """Counts inferred deletions per window and refuses them past the threshold."""

    def __init__(
        self,
        *,
        owned_count: Callable[[], int],
        max_fraction: float,
        min_held: int,
        window: float,
        confirmed: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._owned_count = owned_count
        self._max_fraction = max_fraction
        self._min_held = min_held
        self._window = window
        self._confirmed = confirmed
        self._clock = clock
        self._lock = threading.Lock()
        self._window_start = clock()
        self._inferred_in_window = 0
        self.held: set[Hashable] = set()
        # Held deletions caused by a plugin's veto: which plugin(s).
        self.vetoes: dict[Hashable, str] = {}
        self.tripped = False
        if confirmed:
            log.warning(
                "--confirm-held-deletions: the deletion circuit breaker is off for this run "
                "(every deletion goes through); restart without it once the held deletions "
                "are done"
            )

    def check(self, key: Hashable, *, inferred: bool, vetoed_by: str = "") -> None:
        """Return if ``key`` may be deleted now; raise ``RetryableError`` to hold it.

        ``inferred``: the source object merely went missing from a relist; ``vetoed_by``: the
        plugin(s) whose selection veto excludes it. Both count; other deletions always pass.
        """
        if not (inferred or vetoed_by) or self._confirmed:
            return
        with self._lock:
            now = self._clock()
            if now - self._window_start > self._window:
                self._window_start = now
                self._inferred_in_window = 0
            limit = max(self._min_held, int(self._owned_count() * self._max_fraction))
            if self.tripped or self._inferred_in_window >= limit:
                why = f"vetoed by plugin {vetoed_by}" if vetoed_by else "inferred from a relist"
                if not self.tripped:
                    log.error(
                        "deletion circuit breaker tripped: %d deletions inferred from relists or "
                        "vetoed by plugins this window (limit %d); holding the deletion of %s "
                        "(%s) and every further one. The upstream view or a plugin may be "
                        "wrong; restart with --confirm-held-deletions to let them through",
                        self._inferred_in_window,
                        limit,
                        key,
                        why,
                    )
                elif key not in self.held:
                    log.info("deletion circuit breaker: holding the deletion of %s (%s)", key, why)
                self.tripped = True
                self.held.add(key)
                if vetoed_by:
                    self.vetoes[key] = vetoed_by
                raise errors.RetryableError(
                    "deletion held by the circuit breaker", delay=HELD_RETRY_SECONDS
                )
            self._inferred_in_window += 1
            self.held.discard(key)
            self.vetoes.pop(key, None)

    def vetoes_held(self) -> tuple[tuple[str, int], ...]:
        """Per plugin whose veto has deletions held now: how many (for ``DeletionsHeld``)."""
        with self._lock:
            counts = collections.Counter(self.vetoes[k] for k in self.held if k in self.vetoes)
        return tuple(sorted(counts.items()))


class FieldFight(errors.RetryableError):
    """Another writer keeps changing fields this syncer owns on a copy: back off and say who."""

    def __init__(self, message: str, *, delay: float, managers: tuple[str, ...]) -> None:
        self.managers = managers
        super().__init__(message, delay=delay)


# A copy patched this many times within the window is being fought over.
FIGHT_PATCHES = 5
FIGHT_WINDOW_SECONDS = 60.0
# Backoff while fighting: doubling from the first delay up to the cap, so a fight costs at most
# a write every few minutes instead of a hot loop.
FIGHT_FIRST_DELAY = 5.0
FIGHT_MAX_DELAY = 300.0


class FightGuard:
    """Counts our patches per copy; past the threshold each further patch waits longer.

    Only patches that put back the *same* desired state count: a new version of the source
    object (its resourceVersion changed) is a legitimate update, not a fight, and resets the
    count. What is left is a copy changed away from one desired state again and again.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._patches: dict[ObjectKey, collections.deque[float]] = {}
        self._fights: dict[ObjectKey, int] = {}
        self._next_allowed: dict[ObjectKey, float] = {}
        self._source_version: dict[ObjectKey, str] = {}

    def check(self, key: ObjectKey, live: RawObject, source_version: str = "") -> None:
        """Raise ``FieldFight`` when ``key`` may not be patched yet; else record the patch."""
        now = self._clock()
        with self._lock:
            if self._source_version.get(key) != source_version:
                self._source_version[key] = source_version
                self._patches.pop(key, None)
                self._fights.pop(key, None)
                self._next_allowed.pop(key, None)
            times = self._patches.setdefault(key, collections.deque())
            while times and now - times[0] > FIGHT_WINDOW_SECONDS:
                times.popleft()
            calm_since = self._next_allowed.get(key, 0.0)
            if not times and now - calm_since > FIGHT_WINDOW_SECONDS:
                self._fights.pop(key, None)  # a quiet window after the last backoff: forgiven
            waiting = self._next_allowed.get(key, 0.0) - now
            if waiting > 0:
                raise FieldFight(
                    f"{key}: still backing off from a field fight", delay=waiting, managers=()
                )
            if len(times) >= FIGHT_PATCHES:
                count = self._fights.get(key, 0) + 1
                self._fights[key] = count
                delay = min(FIGHT_FIRST_DELAY * 2 ** (count - 1), FIGHT_MAX_DELAY)
                self._next_allowed[key] = now + delay
                times.clear()
                managers = other_managers(live)
                raise FieldFight(
                    f"{key} was changed back {FIGHT_PATCHES} times within "
                    f"{FIGHT_WINDOW_SECONDS:.0f}s; fields syncpipe owns are being fought over by "
                    f"{', '.join(managers) or 'an unknown writer'}; backing off {delay:.0f}s",
                    delay=delay,
                    managers=managers,
                )
            times.append(now)


def other_managers(live: RawObject) -> tuple[str, ...]:
    """Field managers of ``live`` other than syncpipe (from ``metadata.managedFields``)."""
    entries = meta(live).get("managedFields") or ()
    names = {
        str(e.get("manager"))
        for e in entries
        if isinstance(e, dict) and e.get("manager") and e.get("manager") != "syncpipe"
    }
    return tuple(sorted(names))
