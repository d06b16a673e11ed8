"""What ``syncpipe_startup`` and ``syncpipe_shutdown`` are shown of the running syncer."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Protocol

import attrs

from syncpipe.config.mergedselection import Selection
from syncpipe.config.settings import Settings


class RunningSyncer(Protocol):
    """The little the host needs of a syncer to describe it to plugins."""

    settings: Settings

    def describe(self) -> dict[str, list[str]]: ...


def _read_only(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class SyncerView:
    """A read-only picture of the syncer for start-up and shut-down hooks.

    ``settings`` holds every setting of the run by name (``resync_period``,
    ``write_concurrency``, ``namespace_mapping``, ...); ``selection`` is the merged SyncerConfig
    selection at the time of the call; ``syncing`` maps each direction (``down``, ``up``) to the
    resources it syncs, as the start-up log lists them.
    """

    syncer_name: str
    settings: Mapping[str, Any] = attrs.field(factory=dict, converter=_read_only)
    selection: Selection = attrs.field(factory=Selection.empty)
    syncing: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, converter=_read_only)

    @classmethod
    def of(cls, syncer: RunningSyncer, *, selection: Selection | None) -> SyncerView:
        settings = syncer.settings
        return cls(
            syncer_name=settings.syncer_name,
            settings=attrs.asdict(settings, recurse=False),
            selection=selection if selection is not None else Selection.empty(),
            syncing={k: tuple(v) for k, v in syncer.describe().items()},
        )
