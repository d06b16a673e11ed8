"""Settings of one syncer process, grouped by concern, each default with its reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

# A downsynced resource selected in at most this many named namespaces is watched in each
# (and syncer-gen grants reads there only): ten watches cost the mailbox less than one
# cluster-wide watch that sends every other edge's objects too.
DEFAULT_MAX_NAMESPACED_WATCHES = 10


@attrs.frozen(kw_only=True)
class Settings:
    """What ``syncpipe run`` was told; immutable once the syncer starts."""

    syncer_name: str
    # The original syncer's --sync-target-uid: only reported (log, SyncerConfig status).
    sync_target_uid: str = ""
    # Periodic re-check of every object from the local caches (no server calls): catches drift
    # that no event announced. Minutes, as client-go controllers do.
    resync_period: float = attrs.field(default=300.0, validator=attrs.validators.gt(0))
    # Writes in flight per side at most: enough to hide API latency, few enough to stay
    # polite on an edge cluster's API server (downsync reconciles on a few more workers).
    write_concurrency: int = attrs.field(default=8, validator=attrs.validators.ge(1))
    # Status return on by default (KubeStellar's "reported state").
    status_return: bool = True
    # Status changes within this window after a status write cost one more upstream write, at
    # its end; the first change of a quiet object is returned at once (runtime.statuspacing).
    status_settle_seconds: float = 0.5
    # The safety sweep of upstream/downstream discovery. New and removed APIs are followed by
    # CRD and APIService events at once (``runtime.apiwatch``); the sweep only catches what
    # no event announced, so it can be slow: every request counts at rest, on every edge.
    discovery_interval: float = attrs.field(default=600.0, validator=attrs.validators.gt(0))
    # "watch" (list+watch informers) or "poll" (list every poll_interval seconds, for servers
    # or proxies where watch does not work). Resources whose discovery lacks the watch verb
    # are polled in either mode.
    source_mode: str = attrs.field(
        default="watch", validator=attrs.validators.in_(("watch", "poll"))
    )
    poll_interval: float = attrs.field(default=15.0, validator=attrs.validators.gt(0))
    # A downsynced resource selected in at most this many named namespaces is listed and
    # watched in each of them, not cluster-wide: the mailbox then sends and the syncer caches
    # only the selected namespaces' objects. Above it, one cluster-wide watch (0: always).
    max_namespaced_watches: int = attrs.field(
        default=DEFAULT_MAX_NAMESPACED_WATCHES, validator=attrs.validators.ge(0)
    )
    # SyncerConfig status heartbeat.
    heartbeat_interval: float = 30.0
    # Deletions inferred from a relist are held once they exceed this fraction of the owned
    # objects (and the minimum count below) within one resync period.
    max_inferred_delete_fraction: float = 0.2
    min_inferred_deletes_held: int = 5
    confirm_held_deletions: bool = False
    # Which SyncerConfigs/EdgeSyncConfigs this syncer merges: a label selector in kubectl's
    # syntax (checked by ``config.selectorsyntax``), "" for all of them as in the original.
    syncer_config_selector: str = ""
    # Plugins
    plugin_settings: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    disabled_plugins: tuple[str, ...] = ()
    transform_order: tuple[str, ...] = ()
    namespace_mapping: str = "identity"
    # Where /healthz, /readyz and /metrics are served ("" disables the server).
    health_address: str = ""
