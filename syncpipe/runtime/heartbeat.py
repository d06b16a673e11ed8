"""Each SyncerConfig's heartbeat and conditions, written to its status upstream.

The conditions are a pure function of facts (``runtime.conditions``); this module gathers
nothing itself: it is given the configs and a function from a config's name to its
conditions, and writes a status patch where something changed (or every interval).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Sequence

from syncpipe import errors
from syncpipe.clients.rest import RestClient
from syncpipe.config import configapi
from syncpipe.config.settings import Settings
from syncpipe.model.objects import RawObject, name_of
from syncpipe.runtime import configstatus

log = logging.getLogger(__name__)


class Heartbeat:
    """Writes SyncerConfig status: heartbeat, conditions, and what was last written."""

    def __init__(self, *, upstream: RestClient, settings: Settings) -> None:
        self._upstream = upstream
        self._settings = settings
        # What the last status write said per SyncerConfig: conditions are written when it changes.
        self._reported: dict[str, tuple[tuple[str, ...], ...]] = {}

    def write(
        self,
        configs: Sequence[RawObject],
        conditions_for: Callable[[str], list[dict[str, str]]],
        *,
        only_changed: bool = False,
    ) -> None:
        """Write each config's heartbeat and conditions (``only_changed``: only where the
        conditions differ from what was last written)."""
        now = datetime.datetime.now(datetime.UTC)
        # Another syncer's entry counts as alive for three of its heartbeats, or ours.
        stale_after = max(configstatus.STALE_AFTER_SECONDS, 3 * self._settings.heartbeat_interval)
        for gone in self._reported.keys() - {name_of(obj) for obj in configs}:
            del self._reported[gone]
        for obj in configs:
            name = name_of(obj)
            wanted = conditions_for(name)
            summary = tuple(tuple(c.values()) for c in wanted)
            if only_changed and self._reported.get(name) == summary:
                continue
            self._reported[name] = summary
            patch = configstatus.heartbeat_patch(
                syncer_name=self._settings.syncer_name,
                conditions=wanted,
                status=obj.get("status") or {},
                now=now,
                stale_after=stale_after,
                sync_target_uid=self._settings.sync_target_uid,
            )
            try:
                self._upstream.merge_patch(
                    configapi.SYNCER_CONFIGS, "", name, patch, subresource="status"
                )
            except errors.ApiError as exc:
                log.debug("heartbeat on SyncerConfig %s failed: %s", name, exc)
