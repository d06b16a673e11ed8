"""The live syncer's view of what both sides serve: API discovery, refreshed when CRD and
APIService events say it changed (``runtime.apiwatch``), in a slow safety sweep, and shortly
again while an established CRD's API is not in discovery yet (a bounded number of times).

What the pipeline asks of it is one ``IndexedDiscovery`` per side; the control loop asks
whether a refresh is due and makes it.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
from collections.abc import Callable, Mapping

from syncpipe.clients import discovery
from syncpipe.clients.rest import RestClient
from syncpipe.model.events import Side
from syncpipe.model.resources import ResourceInfo
from syncpipe.runtime import apiwatch
from syncpipe.runtime.servedview import IndexedDiscovery
from syncpipe.source.informer import EventSource

log = logging.getLogger(__name__)

# A side whose API server is not ready yet is asked again this soon (its last answer stays).
NOT_READY_RETRY_SECONDS = 1.0


class LiveDiscovery:
    """Discovery of both sides and the watches that say when to refresh it."""

    def __init__(
        self,
        *,
        clients: Mapping[Side, RestClient],
        new_source: Callable[[Side, ResourceInfo], EventSource],
        wake: Callable[[], None],
    ) -> None:
        self._clients = clients
        self._wake = wake
        self.requested = True
        # When an established CRD's API is not in discovery yet: ask again at this time.
        self.retry_due: float | None = None
        self._pending_retries = 0
        # The groups discovery covers (None: all; so at the start, for the janitor).
        self.scope: frozenset[str] | None = None
        self.results: dict[Side, discovery.DiscoveryResult] = {}
        # Lookups by kind and by GVR on the per-object path: built once per refresh.
        self._indexes: dict[Side, IndexedDiscovery] = {}
        self._last = 0.0
        # Sides whose server was not ready at the last refresh (logged once per episode).
        self.not_ready: set[Side] = set()
        self.api_watches = {
            side: apiwatch.ApiWatch(
                side=side,
                request_rediscovery=self._api_changed,
                new_source=functools.partial(new_source, side),
            )
            for side in Side
        }

    def served(self, side: Side) -> IndexedDiscovery | None:
        return self._indexes.get(side)

    def request(self) -> None:
        """Refresh at the control loop's next step."""
        self.requested = True
        self._wake()

    def _api_changed(self) -> None:
        """A CRD or APIService changed what is served: rediscover, and allow the retries for
        a new API not in discovery yet again (one stuck API must not use them up for all)."""
        self._pending_retries = 0
        self.request()

    def due(self, now: float, *, sweep_interval: float) -> tuple[bool, bool]:
        """Whether a refresh is due now, and whether it is the safety sweep."""
        sweep = now - self._last > sweep_interval
        retry = self.retry_due is not None and now >= self.retry_due
        return self.requested or sweep or retry, sweep

    def refresh(self, now: float, groups: frozenset[str] | None) -> dict[Side, list[ResourceInfo]]:
        """Discovery of both sides in ``groups`` (``None``: all); returns what appeared.

        A side whose server says it is not ready keeps its last answer: such a server answers
        discovery incompletely without an error (``clients.discovery.server_ready``), and
        taking that answer would make every resource it left out look gone. It is asked
        again in ``NOT_READY_RETRY_SECONDS``.
        """
        self.requested = False
        with concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="discover") as pool:
            futures = {
                side: pool.submit(self._discover, side, groups)
                for side in (Side.UPSTREAM, Side.DOWNSTREAM)
            }
            answers = {side: future.result() for side, future in futures.items()}
        before = {side: result.by_gvr() for side, result in self.results.items()}
        found = {
            side: self.results[side] if answer is None else answer
            for side, answer in answers.items()
        }
        self.results = found
        self.scope = groups
        self._indexes = {side: IndexedDiscovery.of(result) for side, result in found.items()}
        self._last = now
        self.retry_due = now + NOT_READY_RETRY_SECONDS if self.not_ready else None
        for side, watch in self.api_watches.items():
            watch.ensure(found[side])
        missing = set().union(
            *(watch.missing_apis(found[side], groups) for side, watch in self.api_watches.items())
        )
        if not missing:
            self._pending_retries = 0
        elif self._pending_retries < apiwatch.PENDING_MAX_RETRIES:
            self._pending_retries += 1
            self.retry_due = now + apiwatch.PENDING_RETRY_SECONDS  # sooner than a not-ready retry
        elif self._pending_retries == apiwatch.PENDING_MAX_RETRIES:
            self._pending_retries += 1
            log.warning("established CRDs not in discovery (until the next sweep): %s", missing)
        return {
            side: [i for i in result.resources if i.gvr not in before.get(side, {})]
            for side, result in found.items()
        }

    def _discover(
        self, side: Side, groups: frozenset[str] | None
    ) -> discovery.DiscoveryResult | None:
        """``side``'s discovery, or None when its server is not ready and an earlier answer
        exists (at the start there is none: the syncer takes what it gets rather than wait)."""
        rest = self._clients[side]
        if side in self.results and discovery.server_ready(rest) is False:
            if side not in self.not_ready:
                log.info("the %s API server is not ready: keeping its last discovery", side.value)
            self.not_ready.add(side)
            return None
        self.not_ready.discard(side)
        return discovery.discover(rest, groups=groups)

    def api_informers(self) -> list[EventSource]:
        """The CRD and APIService watches of both sides."""
        return [i for watch in self.api_watches.values() for i in watch.informers.values()]
