"""The configuration API the syncer reads: its group, version and resources, named once."""

from __future__ import annotations

from syncpipe.model.resources import GroupVersionResource

GROUP = "edge.kubestellar.io"
VERSION = "v2alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

SYNCER_CONFIGS = GroupVersionResource(GROUP, VERSION, "syncerconfigs")
EDGE_SYNC_CONFIGS = GroupVersionResource(GROUP, VERSION, "edgesyncconfigs")
# Both config resources, SyncerConfigs first (the one the syncer reports its status in).
CONFIG_GVRS = (SYNCER_CONFIGS, EDGE_SYNC_CONFIGS)
# The same as (group, resource): what a collection is, whatever version serves it.
CONFIG_RESOURCES = tuple((gvr.group, gvr.resource) for gvr in CONFIG_GVRS)
# Each config kind's resource.
CONFIG_KINDS = {"SyncerConfig": SYNCER_CONFIGS, "EdgeSyncConfig": EDGE_SYNC_CONFIGS}
