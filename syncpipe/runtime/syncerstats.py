"""Counters and descriptions of a running syncer: what it syncs, how far the initial sync
is, how many watches it keeps open and how often they restarted (pure over its parts)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from syncpipe.model.events import Direction, Side
from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime.flow import Flow, SourceState
from syncpipe.source.informer import EventSource, SharedSource

WRITE_VERBS = frozenset({"create", "patch", "update", "delete"})


def describe_source(gvr: GroupVersionResource, state: SourceState) -> str:
    """``v1/configmaps (in shop, web; labels app=shop)``: a resource and what its watch asks."""
    scope = [f"in {', '.join(state.namespaces)}"] if state.namespaces else []
    scope += [f"labels {state.label_selector}"] if state.label_selector else []
    return f"{gvr} ({'; '.join(scope)})" if scope else str(gvr)


def describe(flows: Mapping[Direction, Flow]) -> dict[str, list[str]]:
    """The selected resources of each direction, each with the label selector its API server
    filters the watch by, if any."""
    return {
        direction.value: sorted(describe_source(gvr, state) for gvr, state in flow.sources.items())
        for direction, flow in flows.items()
    }


def cached_sources(flows: Mapping[Direction, Flow]) -> int:
    """Objects cached on the source sides."""
    return sum(
        len(s.informer.store)
        for flow in flows.values()
        for s in flow.sources.values()
        if s.informer is not None
    )


def cache_sizes(
    flows: Mapping[Direction, Flow], *, owned: int, upstream_namespaces: EventSource | None
) -> dict[str, int]:
    """Objects cached, by part: source caches (a lent one counted where it is owned), owned
    copies, upstream Namespaces."""
    sources = sum(
        len(s.informer.store)
        for flow in flows.values()
        for s in flow.sources.values()
        if s.informer is not None and not isinstance(s.informer, SharedSource)
    )
    namespaces = 0 if upstream_namespaces is None else len(upstream_namespaces.store)
    return {"sources": sources, "owned copies": owned, "upstream Namespaces": namespaces}


def writes(requests_by_verb: Iterable[Mapping[str, int]]) -> int:
    """Writes so far, over the clients' request counters."""
    return sum(
        n for counts in requests_by_verb for verb, n in counts.items() if verb in WRITE_VERBS
    )


def open_watches(informers: Iterable[EventSource]) -> dict[str, int]:
    """Watches kept open, by side (a lent informer's counted once)."""
    counts = {side.value: 0 for side in Side}
    seen: set[int] = set()
    for source in informers:
        if isinstance(source, SharedSource) or id(source) in seen:
            continue
        seen.add(id(source))
        reflectors = getattr(source, "reflectors", None)
        watches = len(reflectors) if reflectors is not None else int(hasattr(source, "reflector"))
        counts[source.store.side.value] += watches
    return counts


def watch_restarts(informers: Iterable[Any]) -> int:
    """Watch restarts (reconnects and relists) over the informers that have a reflector."""
    total = 0
    for informer in informers:
        reflector = getattr(informer, "reflector", None)
        if reflector is not None:
            stats = reflector.statistics()
            total += stats.restarts + stats.expired
    return total
