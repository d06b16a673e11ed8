"""The live driver's watches: one collection of one side, opened over REST.

What kind of source a collection gets: a watch another part of the syncer already keeps open
for itself (CRDs, APIServices, upstream Namespaces) is lent (``SharedSource``); a few named
namespaces get one reflector each into one store (``NamespacedInformer``; Namespaces
themselves are watched by name); ``--source poll``
or a resource without the watch verb is polled (``PollingSource``); anything else gets an
``Informer`` (list, then watch).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from syncpipe.clients.rest import RestClient
from syncpipe.clients.watching import CollectionListerWatcher
from syncpipe.config.settings import Settings
from syncpipe.model.events import Side
from syncpipe.model.resources import NAMESPACE_GVR, GroupVersionResource, ResourceInfo
from syncpipe.source.informer import EventSource, Informer, NamespacedInformer, SharedSource
from syncpipe.source.polling import PollingSource
from syncpipe.source.recovery import ServerRecovery

# The informer already watching all of a collection for the syncer's own needs, if any.
RunningWatch = Callable[[Side, GroupVersionResource], Informer | None]


class RestSources:
    """Opens (does not start) the live syncer's sources (see the module docstring)."""

    def __init__(
        self,
        *,
        settings: Settings,
        clients: Mapping[Side, RestClient],
        running_watch: RunningWatch,
    ) -> None:
        self._settings = settings
        self._clients = clients
        self._running_watch = running_watch
        # The watches of one side retry together once its server answers again.
        self.recoveries = {side: ServerRecovery() for side in clients}

    def open(
        self,
        side: Side,
        info: ResourceInfo,
        label_selector: str = "",
        namespaces: tuple[str, ...] = (),
    ) -> EventSource:
        """A source of ``info`` on ``side`` filtered by ``label_selector``, in ``namespaces``
        (empty: all of them)."""
        rest = self._clients[side]
        if not (label_selector or namespaces):
            watching = self._running_watch(side, info.gvr)
            if watching is not None:
                return SharedSource(watching)  # one watch serves both
        if namespaces:
            return NamespacedInformer(
                gvr=info.gvr,
                side=side,
                lister_watchers={
                    ns: _in_namespace(rest, info, ns, label_selector) for ns in namespaces
                },
                resync_period=self._settings.resync_period,
                recovery=self.recoveries[side],
            )
        return self.unshared(
            side, info, CollectionListerWatcher(rest, info.gvr, label_selector=label_selector)
        )

    def unshared(
        self, side: Side, info: ResourceInfo, lister_watcher: CollectionListerWatcher
    ) -> EventSource:
        """An informer of its own, or a polling source where watching is off or not offered."""
        if self._settings.source_mode == "poll" or not info.watchable:
            return PollingSource(
                gvr=info.gvr,
                side=side,
                lister=lister_watcher,
                name=f"{side.value}:{info.gvr}",
                interval=self._settings.poll_interval,
                resync_period=self._settings.resync_period,
            )
        return Informer(
            gvr=info.gvr,
            side=side,
            lister_watcher=lister_watcher,
            resync_period=self._settings.resync_period,
            recovery=self.recoveries[side],
        )


def _in_namespace(
    rest: RestClient, info: ResourceInfo, namespace: str, label_selector: str
) -> CollectionListerWatcher:
    """The lister-watcher of ``info``'s objects in ``namespace``: a Namespace is in itself,
    so Namespaces are listed and watched by name (``fieldSelector=metadata.name=...``)."""
    if not info.namespaced and info.gvr.group_resource == NAMESPACE_GVR.group_resource:
        return CollectionListerWatcher(
            rest, info.gvr, name=namespace, label_selector=label_selector
        )
    return CollectionListerWatcher(
        rest, info.gvr, namespace=namespace, label_selector=label_selector
    )
