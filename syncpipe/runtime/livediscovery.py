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
        """Discovery of both sides in ``groups`` (``None``: all); returns what appeared."""
        self.requested = False
        with concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="discover") as pool:
            futures = {
                side: pool.submit(discovery.discover, self._clients[side], groups=groups)
                for side in (Side.UPSTREAM, Side.DOWNSTREAM)
            }
            found = {side: future.result() for side, future in futures.items()}
        before = {side: result.by_gvr() for side, result in self.results.items()}
        self.results = found
        self.scope = groups
        self._indexes = {side: IndexedDiscovery.of(result) for side, result in found.items()}
        self._last = now
        self.retry_due = None
        for side, watch in self.api_watches.items():
            watch.ensure(found[side])
        missing = set().union(
            *(watch.missing_apis(found[side], groups) for side, watch in self.api_watches.items())
        )
        if not missing:
            self._pending_retries = 0
        elif self._pending_retries < apiwatch.PENDING_MAX_RETRIES:
            self._pending_retries += 1
            self.retry_due = now + apiwatch.PENDING_RETRY_SECONDS
        elif self._pending_retries == apiwatch.PENDING_MAX_RETRIES:
            self._pending_retries += 1
            log.warning("established CRDs not in discovery (until the next sweep): %s", missing)
        return {
            side: [i for i in result.resources if i.gvr not in before.get(side, {})]
            for side, result in found.items()
        }

    def api_informers(self) -> list[EventSource]:
        """The CRD and APIService watches of both sides."""
        return [i for watch in self.api_watches.values() for i in watch.informers.values()]
