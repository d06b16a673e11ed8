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

    ``direction`` is the way data flows (``DOWN``: upstream → downstream); ``resource`` the
    resource of the object in hand (``None`` in calls not about one object); ``selection`` the
    merged SyncerConfig selection (``syncpipe.plugin.Selection``); ``namespace_mapper`` the
    mapping in use; ``plugin_settings`` every plugin's options by plugin name.
    """

    syncer_name: str
    direction: Direction = Direction.DOWN
    resource: ResourceInfo | None = None
    # Typed loosely while the drivers rely on these being set before use: a ``Selection`` and
    # a ``NamespaceMapper`` in every context the host hands a plugin.
    selection: Any = None
    plugin_settings: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    namespace_mapper: Any = None

    def plugin_config(self, plugin: str) -> Mapping[str, Any]:
        """``plugin``'s options (``--plugin-opt NAME.KEY=VALUE``): typed, with defaults, once the
        host has checked them against what the plugin declares."""
        return self.plugin_settings.get(plugin, {})

    def for_resource(self, resource: ResourceInfo, direction: Direction) -> SyncContext:
        return attrs.evolve(self, resource=resource, direction=direction)
