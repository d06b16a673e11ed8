"""Following what a side serves by events: discovery is asked again when an API changes.

A new CRD (once ``Established``), a deleted one, a CRD whose served versions change, an
APIService that becomes available or goes away: each changes what discovery answers, and each
is an event on a watch the syncer keeps anyway. So instead of sweeping discovery every few
seconds (each sweep is a request per group version, on both sides), the syncer watches
CustomResourceDefinitions and APIServices on each side and asks for rediscovery when the
part of such an object that decides what is served changes (its ``serving_signature``). A
slow sweep (``Settings.discovery_interval``) stays as the safety net.

Discovery itself is asked only for the groups the syncer uses (``discovery_groups``): those
the selection names, those of the copies it follows, and its own (configs, CRDs, APIServices,
namespaces and events in the core group); every group when a config names the group ``"*"``.

One race is handled here: the API server's discovery follows a CRD's ``Established``
condition asynchronously, so a rediscovery made at once may not show the new resource yet.
``missing_apis`` names what established CRDs serve and discovery does not show; the syncer
asks again shortly (``PENDING_RETRY_SECONDS``), a bounded number of times.

Deliberately not done here: discovery requests (``clients.discovery``), and deciding what to
watch from discovery (the syncer's control loop).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from typing import Any

from syncpipe.clients.discovery import DiscoveryResult
from syncpipe.config import configapi
from syncpipe.config.selection import Selection
from syncpipe.model.events import Event, EventType, Side
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import (
    APISERVICE_GVR,
    CRD_GVR,
    GroupVersionResource,
    ResourceInfo,
)
from syncpipe.source.informer import EventSource

log = logging.getLogger(__name__)

CRD_GROUP = CRD_GVR.group
APISERVICE_GROUP = APISERVICE_GVR.group
CONFIG_GROUP = configapi.GROUP
# The syncer's own groups: configs, the two API watches, namespaces and events (core).
OWN_GROUPS = frozenset({"", CRD_GROUP, APISERVICE_GROUP, CONFIG_GROUP})
WILDCARD_GROUP = "*"
# An established CRD that discovery does not show yet is asked for again this soon...
PENDING_RETRY_SECONDS = 0.5
# ...at most this many times in a row (a CRD served under a name discovery never shows
# must not cause a discovery every half second).
PENDING_MAX_RETRIES = 20

NewSource = Callable[[ResourceInfo], EventSource]


def discovery_groups(
    selection: Selection, *, followed: Iterable[str] = ()
) -> frozenset[str] | None:
    """The API groups discovery must cover for ``selection`` and the ``followed`` groups
    (copies watched, groups asked for on demand); ``None``: every group."""
    named = selection.api_groups()
    if WILDCARD_GROUP in named:
        return None
    return OWN_GROUPS | named | frozenset(followed)


def _conditions(obj: RawObject) -> dict[str, str]:
    return {
        str(c.get("type")): str(c.get("status"))
        for c in (obj.get("status") or {}).get("conditions") or ()
    }


def crd_apis(obj: RawObject) -> frozenset[GroupVersionResource]:
    """What an established CRD serves (empty while it is not established)."""
    if _conditions(obj).get("Established") != "True":
        return frozenset()
    spec = obj.get("spec") or {}
    group = str(spec.get("group", ""))
    plural = str((spec.get("names") or {}).get("plural", ""))
    versions: list[Any] = spec.get("versions") or []
    if not versions and spec.get("version"):  # v1beta1 objects with a single version
        versions = [{"name": spec["version"], "served": True}]
    return frozenset(
        GroupVersionResource(group, str(v.get("name")), plural)
        for v in versions
        if v.get("served", True)
    )


def serving_signature(obj: RawObject) -> tuple[Any, ...]:
    """The part of a CRD or APIService that decides what discovery shows."""
    if obj.get("kind") == "APIService":
        spec = obj.get("spec") or {}
        available = _conditions(obj).get("Available")
        return (spec.get("group"), spec.get("version"), available)
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    return (
        tuple(sorted(crd_apis(obj))),
        names.get("kind"),
        spec.get("scope"),
    )


class ApiWatch:
    """The CRD and APIService watches of one side, asking for rediscovery on a change."""

    def __init__(
        self, *, side: Side, request_rediscovery: Callable[[], None], new_source: NewSource
    ) -> None:
        self.side = side
        self._request_rediscovery = request_rediscovery
        self._new_source = new_source
        self.informers: dict[tuple[str, str], EventSource] = {}
        # Last signature per (resource, name), written by the dispatch threads only.
        self._signatures: dict[tuple[str, str], tuple[Any, ...]] = {}

    def ensure(self, found: DiscoveryResult) -> None:
        """Start the watches whose resources ``found`` serves (once each)."""
        for gvr in (CRD_GVR, APISERVICE_GVR):
            group, resource = gvr.group, gvr.resource
            if (group, resource) in self.informers:
                continue
            info = found.find(group, resource)
            if info is None:
                continue
            informer = self._new_source(info)
            informer.add_handler(self._on_event)
            informer.start()
            self.informers[(group, resource)] = informer

    def _on_event(self, event: Event) -> None:
        if event.type in (EventType.BOOKMARK, EventType.RESYNC) or event.obj is None:
            return
        key = (event.key.gvr.resource, event.key.name)
        signature = None if event.type is EventType.DELETED else serving_signature(event.obj)
        if self._signatures.get(key) == signature:
            return
        if signature is None:
            self._signatures.pop(key, None)
        else:
            self._signatures[key] = signature
        log.debug("%s: %s %s changes what is served", self.side.value, *key)
        self._request_rediscovery()

    def missing_apis(
        self, found: DiscoveryResult, groups: Collection[str] | None
    ) -> frozenset[GroupVersionResource]:
        """What established CRDs serve, in ``groups`` (``None``: all), that ``found`` lacks."""
        informer = self.informers.get((CRD_GROUP, CRD_GVR.resource))
        if informer is None:
            return frozenset()
        served = found.by_gvr()
        return frozenset(
            gvr
            for crd in informer.store.list()
            for gvr in crd_apis(crd)
            if (groups is None or gvr.group in groups) and gvr not in served
        )

    def stop(self) -> None:
        for informer in self.informers.values():
            informer.stop(timeout=2.0)
