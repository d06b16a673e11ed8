"""List and watch one collection: the ``ListerWatcher`` the source stage's reflector consumes."""

from __future__ import annotations

from syncpipe.clients.rest import RestClient, WatchStream
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import GroupVersionResource


class CollectionListerWatcher:
    """One collection (optionally one namespace, optionally a label selector, optionally one
    object by name: ``fieldSelector=metadata.name=...``, which RBAC lets ``resourceNames``
    authorize) on one server."""

    def __init__(
        self,
        rest: RestClient,
        gvr: GroupVersionResource,
        *,
        namespace: str = "",
        label_selector: str = "",
        name: str = "",
    ) -> None:
        self.rest = rest
        self.gvr = gvr
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = f"metadata.name={name}" if name else ""

    def list(self, *, resource_version: str = "") -> tuple[list[RawObject], str]:
        return self.rest.list(
            self.gvr,
            self.namespace,
            resource_version=resource_version,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
        )

    def watch(
        self, *, resource_version: str, timeout_seconds: int, allow_bookmarks: bool
    ) -> WatchStream:
        return self.rest.watch(
            self.gvr,
            self.namespace,
            resource_version=resource_version,
            timeout_seconds=timeout_seconds,
            allow_bookmarks=allow_bookmarks,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
        )
