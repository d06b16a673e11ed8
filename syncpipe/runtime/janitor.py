"""The janitor: finds owned copies of resources nobody selects any more.

A syncer that was down while a config stopped selecting something finds, at its start, owned
copies no source watch leads to. The janitor looks at every resource served at the start and,
later, at each resource that appears (a CRD created, an APIService back, a group discovery
now covers); where one holds copies of ours it has them watched: their informer's first list
queues every copy, and the reconcile finds no selected source and deletes them.

One group/resource is followed at one version only, whatever order the candidates come in:
another version lists the same objects (CRDs at apiextensions.k8s.io v1 and v1beta1), and a
second informer would delete each of them twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from syncpipe import errors
from syncpipe.builtin import namespaces
from syncpipe.config import configapi
from syncpipe.model.events import Direction, Side
from syncpipe.model.objects import RawObject, annotations_of, name_of
from syncpipe.model.resources import NAMESPACE_GVR, GroupVersionResource, ResourceInfo
from syncpipe.runtime.servedview import ServedView

log = logging.getLogger(__name__)

CONFIG_RESOURCES = frozenset(configapi.CONFIG_RESOURCES)


class ClusterReader(Protocol):
    """The reads the janitor makes (``clients.rest.RestClient`` or a memory store)."""

    def list(self, gvr: GroupVersionResource) -> tuple[list[RawObject], str]:
        """Every object of the collection, and the list's resourceVersion."""
        ...

    def any_exists(self, gvr: GroupVersionResource, *, label_selector: str = "") -> bool: ...


def preferred_first(infos: Iterable[ResourceInfo], served: ServedView | None) -> list[ResourceInfo]:
    """``infos`` with each group's preferred version before its others (otherwise in order)."""
    preferred = {} if served is None else served.preferred_versions
    return sorted(infos, key=lambda i: i.gvr.version != preferred.get(i.gvr.group))


class Janitor:
    """See the module docstring. ``followed(direction)``: the group/resources whose owned
    copies are watched already; ``follow(direction, info)`` has them watched."""

    def __init__(
        self,
        *,
        readers: Mapping[Side, ClusterReader],
        served: Callable[[Side], ServedView | None],
        owner_selector: str,
        namespace_mapper: Any,
        followed: Callable[[Direction], set[str]],
        follow: Callable[[Direction, ResourceInfo], object],
    ) -> None:
        self._readers = readers
        self._served = served
        self._owner_selector = owner_selector
        self._mapper = namespace_mapper
        self._followed = followed
        self._follow = follow
        # Once it looked at everything served, it looks only at what appears.
        self.done = False

    def start(self, served: Mapping[Side, Iterable[ResourceInfo]]) -> None:
        """The first look: at everything each side serves; later ones only at what appears."""
        self.look(served)
        self.done = True

    def look(self, candidates: Mapping[Side, Iterable[ResourceInfo]]) -> None:
        """Have the owned copies of ``candidates`` (per side) watched where there are any."""
        self._remember_mapped_namespaces()
        for direction in (Direction.DOWN, Direction.UP):
            side = direction.target
            reader = self._readers[side]
            for info in preferred_first(candidates.get(side, ()), self._served(side)):
                if not (info.listable and info.watchable):
                    continue
                if (info.gvr.group, info.gvr.resource) in CONFIG_RESOURCES:
                    continue
                if info.gvr.group_resource in self._followed(direction):
                    continue
                try:
                    owned = reader.any_exists(info.gvr, label_selector=self._owner_selector)
                except errors.ApiError:
                    continue
                if owned:
                    log.info("found owned %s on %s", info.gvr, side.value)
                    self._follow(direction, info)

    def _remember_mapped_namespaces(self) -> None:
        """Teach a reversible namespace mapper the downstream namespaces made before."""
        index = self._mapper.reverse_index
        if index is None:
            return
        items, _ = self._readers[Side.DOWNSTREAM].list(NAMESPACE_GVR)
        for item in items:
            upstream_ns = annotations_of(item).get(namespaces.UPSTREAM_NAMESPACE_ANNOTATION)
            if upstream_ns:
                index.remember(upstream_ns, name_of(item))
