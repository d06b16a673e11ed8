"""What hooks and transforms are handed: syncer identity, direction, settings, resource."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from syncpipe.model.events import Direction
from syncpipe.model.resources import ResourceInfo


@attrs.frozen(kw_only=True)
class SyncContext:
    """Read-only facts for one hook call.

    ``selection`` is the merged SyncerConfig selection (``syncpipe.config.selection.Selection``)
    typed loosely here so plugins need not import the config package.
    """

    syncer_name: str
    direction: Direction = Direction.DOWN
    resource: ResourceInfo | None = None
    selection: Any = None
    plugin_settings: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    namespace_mapper: Any = None

    def plugin_config(self, plugin: str) -> Mapping[str, Any]:
        """Settings given to ``plugin`` on the command line (``--plugin-opt NAME.KEY=VALUE``)."""
        return self.plugin_settings.get(plugin, {})

    def for_resource(self, resource: ResourceInfo, direction: Direction) -> SyncContext:
        return attrs.evolve(self, resource=resource, direction=direction)
