"""What one side serves, as the pipeline asks it: the same questions of either driver.

The live syncer answers from API discovery (``IndexedDiscovery``, rebuilt on each refresh);
a replay from the recording's discovery kept current by CRD objects
(``syncpipe.replay.served.ServedResources``). Both satisfy ``ServedView``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

import attrs

from syncpipe.model.resources import GroupVersionResource, ResourceInfo

if TYPE_CHECKING:  # the type only: importing the REST client (kubernetes) would cost every
    # replay, plan and explain a second of start-up for nothing
    from syncpipe.clients import discovery


class ServedView(Protocol):
    """The resources one side serves, and lookups by resource and by kind."""

    @property
    def resources(self) -> Sequence[ResourceInfo]: ...

    @property
    def preferred_versions(self) -> Mapping[str, str]: ...

    def by_gvr(self, gvr: GroupVersionResource) -> ResourceInfo | None: ...

    def find_kind(self, group: str, kind: str, version: str = "") -> ResourceInfo | None:
        """The resource serving ``kind`` in ``group`` at ``version`` (default: preferred)."""
        ...


@attrs.frozen
class IndexedDiscovery:
    """One side's discovery, indexed for the per-object lookups (a ``ServedView``)."""

    resources: tuple[ResourceInfo, ...]
    preferred_versions: Mapping[str, str]
    _by_kind: Mapping[tuple[str, str, str], ResourceInfo]
    _by_gvr: Mapping[GroupVersionResource, ResourceInfo]

    @classmethod
    def of(cls, result: discovery.DiscoveryResult) -> IndexedDiscovery:
        return cls(
            result.resources,
            dict(result.preferred_versions),
            {(i.gvr.group, i.gvr.version, i.kind): i for i in result.resources},
            {i.gvr: i for i in result.resources},
        )

    def by_gvr(self, gvr: GroupVersionResource) -> ResourceInfo | None:
        return self._by_gvr.get(gvr)

    def find_kind(self, group: str, kind: str, version: str = "") -> ResourceInfo | None:
        return self._by_kind.get((group, version or self.preferred_versions.get(group, ""), kind))
