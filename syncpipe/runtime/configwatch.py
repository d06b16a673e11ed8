"""The live syncer's watches of its configs upstream: SyncerConfigs and EdgeSyncConfigs.

The API server filters them by ``--syncer-config-selector``: a config relabelled out of it is
a DELETED event, one relabelled into it an ADDED one. Every change wakes the control loop,
which merges them into the selection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection

from syncpipe.clients.rest import RestClient
from syncpipe.clients.watching import CollectionListerWatcher
from syncpipe.config import configapi
from syncpipe.model.events import Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import GroupVersionResource
from syncpipe.source.informer import Informer
from syncpipe.source.recovery import ServerRecovery

log = logging.getLogger(__name__)


class ConfigWatch:
    """One informer per config resource served upstream (see the module docstring)."""

    def __init__(
        self,
        *,
        upstream: RestClient,
        label_selector: str,
        on_change: Callable[[], None],
        recovery: ServerRecovery | None = None,
    ) -> None:
        self._upstream = upstream
        self._recovery = recovery
        self._label_selector = label_selector
        self._on_change = on_change
        self.informers: dict[GroupVersionResource, Informer] = {}

    def ensure(self, served: Collection[GroupVersionResource]) -> None:
        """Watch each config resource in ``served`` (upstream) not watched yet."""
        for gvr in configapi.CONFIG_GVRS:
            if gvr in served and gvr not in self.informers:
                informer = Informer(
                    gvr=gvr,
                    side=Side.UPSTREAM,
                    lister_watcher=CollectionListerWatcher(
                        self._upstream, gvr, label_selector=self._label_selector
                    ),
                    name=f"upstream:{gvr.resource}",
                    recovery=self._recovery,
                )
                informer.add_handler(lambda _event: self._on_change())
                informer.start()
                self.informers[gvr] = informer
        if configapi.SYNCER_CONFIGS not in served and not self.informers:
            log.warning(
                "the SyncerConfig API (%s) is not served upstream yet; install it with "
                "`syncpipe crds | kubectl apply -f -` (waiting)",
                configapi.SYNCER_CONFIGS,
            )

    def synced(self, *, wait: float = 0.0) -> bool:
        """Whether every config informer has listed (waiting up to ``wait`` s for each)."""
        if wait:
            for informer in self.informers.values():
                informer.wait_for_sync(timeout=wait)
        return bool(self.informers) and all(i.has_synced() for i in self.informers.values())

    def configs(self) -> list[RawObject]:
        """Every config watched now."""
        return [obj for informer in self.informers.values() for obj in informer.store.list()]

    def syncer_configs(self) -> list[RawObject]:
        """The SyncerConfigs watched now (those carry the syncer's status)."""
        informer = self.informers.get(configapi.SYNCER_CONFIGS)
        return [] if informer is None else informer.store.list()

    def get(self, key: ObjectKey) -> RawObject | None:
        """The config of ``key`` as cached, if it is there."""
        informer = self.informers.get(key.gvr)
        return None if informer is None else informer.store.get(key)
