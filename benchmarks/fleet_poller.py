"""KubeStellar-Syncer 0.14's main loop, simulated per edge for ``fleet.py``'s request counts.

No syncpipe inside: one thread per edge does, every ``interval`` seconds (the original's 15 s),
what the original's ``runSync`` tick did for a SyncerConfig selecting one namespace and a few
resources (see /work/shared/reference/kubestellar-syncer-0.14.md, sections 1.4, 2.5, 2.6, 2.12):

1. a full discovery of both sides (``/api``, ``/apis`` and every group version: ``Refresh``
   calls ``ServerGroupsAndResources`` on each side on every tick, without a cache);
2. downsync of the Namespace (``SyncOne``: GET both sides) and of every resource in it
   (``SyncMany``: LIST upstream, LIST downstream, create what is missing, full-object PUT);
3. status return of the same entries (``BackStatusOne``/``BackStatusMany``: GET/LIST both
   sides again, PUT ``/status`` upstream).

Writes: the original PUT every object and every status on every tick, changed or not
(``always_write``); by default this simulation gives it the benefit of a diff and writes
only when the labels, spec/data or status differ, so at rest its cost is its reads.

Departures, for the benchmark's sake: the copies go to their own downstream namespace
(``Edge.poller_ns``), not to the upstream's name (the original had no namespace mapping; the
syncpipe copies of the same objects live under the upstream's name with the edge's prefix);
the original's informers on its SyncerConfig/EdgeSyncConfig (two watches upstream) are left
out. A failed request is counted and the tick goes on (the original aborted the entry).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from syncpipe import errors
from syncpipe.clients.rest import RestClient
from syncpipe.model.resources import GroupVersionResource

NS = GroupVersionResource("", "v1", "namespaces")
DOWNSYNCED = "edge.kubestellar.io/downsynced"  # the original's mark on its copies


@dataclass
class PollerStats:
    """Ticks one edge's poller completed, and what they cost it."""

    ticks: int = 0
    failed_requests: int = 0
    writes: int = 0
    late_ticks: int = 0  # a tick that took longer than the interval
    tick_seconds: list[float] = field(default_factory=list)


def _content(obj: dict[str, Any]) -> Any:
    """What a diffing poller compares: labels and everything but metadata and status."""
    body = {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind", "apiVersion")}
    return ((obj.get("metadata") or {}).get("labels") or {}), body


class EdgePoller:
    """One edge's simulated 0.14 syncer (``tick`` = one pass of its main loop)."""

    def __init__(
        self,
        up: RestClient,
        down: RestClient,
        upstream_ns: str,
        downstream_ns: str,
        resources: Sequence[GroupVersionResource],
        always_write: bool = False,
    ) -> None:
        self.up, self.down = up, down
        self.upstream_ns, self.downstream_ns = upstream_ns, downstream_ns
        self.resources = tuple(resources)
        self.always_write = always_write
        self.stats = PollerStats()

    # -- one tick --------------------------------------------------------------------------

    def tick(self) -> None:
        for rest in (self.up, self.down):
            self._discover(rest)
        self._downsync_namespace()
        for gvr in self.resources:
            self._downsync_many(gvr)
        self._return_namespace_status()
        for gvr in self.resources:
            self._return_status_many(gvr)
        self.stats.ticks += 1

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except errors.ApiError:
            self.stats.failed_requests += 1
            return None

    def _discover(self, rest: RestClient) -> None:
        core = self._call(rest.request, "GET", "/api") or {}
        groups = self._call(rest.request, "GET", "/apis") or {}
        paths = [f"/api/{version}" for version in core.get("versions") or ()]
        for group in groups.get("groups") or ():
            paths += [f"/apis/{v['groupVersion']}" for v in group.get("versions") or ()]
        for path in paths:
            self._call(rest.request, "GET", path)

    def _copy(self, source: dict[str, Any], existing: dict[str, Any] | None) -> dict[str, Any]:
        meta = source["metadata"]
        annotations = {**(meta.get("annotations") or {})}
        annotations[DOWNSYNCED] = f"{source['kind']}/{meta.get('namespace', '')}/{meta['name']}"
        copy = {k: v for k, v in source.items() if k not in ("metadata", "status")}
        copy["metadata"] = {
            "name": meta["name"],
            "labels": meta.get("labels") or {},
            "annotations": annotations,
        }
        if meta.get("namespace"):
            copy["metadata"]["namespace"] = self.downstream_ns
        if existing is not None:
            copy["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
            if "status" in existing:
                copy["status"] = existing["status"]
        return copy

    def _write(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        self.stats.writes += 1
        self._call(fn, *args, **kwargs)

    def _downsync_namespace(self) -> None:
        source = self._call(self.up.get_or_none, NS, "", self.upstream_ns)
        existing = self._call(self.down.get_or_none, NS, "", self.downstream_ns)
        if source is None:
            return
        copy = self._copy(source, existing)
        copy["metadata"]["name"] = self.downstream_ns
        copy.pop("spec", None)  # finalizers: the server's own
        if existing is None:
            self._write(self.down.create, NS, "", copy)
        elif self.always_write or _content(copy)[0] != _content(existing)[0]:
            self._write(self.down.replace, NS, "", self.downstream_ns, copy)

    def _downsync_many(self, gvr: GroupVersionResource) -> None:
        listed_up = self._call(self.up.list, gvr, self.upstream_ns)
        listed_down = self._call(self.down.list, gvr, self.downstream_ns)
        if listed_up is None or listed_down is None:
            return
        existing = {o["metadata"]["name"]: o for o in listed_down[0]}
        for source in listed_up[0]:
            name = source["metadata"]["name"]
            copy = self._copy(source, existing.get(name))
            if name not in existing:
                self._write(self.down.create, gvr, self.downstream_ns, copy)
            elif self.always_write or _content(copy) != _content(existing[name]):
                self._write(self.down.replace, gvr, self.downstream_ns, name, copy)

    def _return_namespace_status(self) -> None:
        copy = self._call(self.down.get_or_none, NS, "", self.downstream_ns)
        source = self._call(self.up.get_or_none, NS, "", self.upstream_ns)
        if copy is None or source is None or "status" not in copy:
            return
        if self.always_write or copy["status"] != source.get("status"):
            body = {**source, "status": copy["status"]}
            self._write(self.up.replace, NS, "", self.upstream_ns, body, subresource="status")

    def _return_status_many(self, gvr: GroupVersionResource) -> None:
        listed_down = self._call(self.down.list, gvr, self.downstream_ns)
        listed_up = self._call(self.up.list, gvr, self.upstream_ns)
        if listed_up is None or listed_down is None:
            return
        sources = {o["metadata"]["name"]: o for o in listed_up[0]}
        for copy in listed_down[0]:
            source = sources.get(copy["metadata"]["name"])
            if source is None or not isinstance(copy.get("status"), dict):
                continue
            if self.always_write or copy["status"] != source.get("status"):
                body = {**source, "status": copy["status"]}
                name = source["metadata"]["name"]
                self._write(
                    self.up.replace, gvr, self.upstream_ns, name, body, subresource="status"
                )


class PollerFleet:
    """One thread per edge, each ticking every ``interval`` seconds, spread over the interval."""

    def __init__(self, pollers: Sequence[EdgePoller], interval: float) -> None:
        self.pollers = list(pollers)
        self.interval = interval
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(i, p), daemon=True, name=f"poller-{i}")
            for i, p in enumerate(self.pollers)
        ]

    def start(self) -> PollerFleet:
        for thread in self._threads:
            thread.start()
        return self

    def _run(self, index: int, poller: EdgePoller) -> None:
        # Independent edges do not tick in step: spread their first ticks over one interval.
        if self._stop.wait(self.interval * index / max(1, len(self.pollers))):
            return
        while not self._stop.is_set():
            started = time.monotonic()
            with contextlib.suppress(errors.SyncpipeError):
                poller.tick()
            took = time.monotonic() - started
            poller.stats.tick_seconds.append(took)
            if took > self.interval:
                poller.stats.late_ticks += 1
            self._stop.wait(max(0.0, self.interval - took))

    def ticks(self) -> int:
        return sum(p.stats.ticks for p in self.pollers)

    def min_ticks(self) -> int:
        return min((p.stats.ticks for p in self.pollers), default=0)

    def stop(self, timeout: float = 60.0) -> None:
        """Stop every thread (a tick under way finishes first), waiting ``timeout`` in all."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))
