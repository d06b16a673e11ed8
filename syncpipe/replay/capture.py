"""What to capture from live clusters, for ``syncpipe record`` and ``syncpipe plan``.

A replay must see what the live syncer would have seen, so both commands capture, per side:

* upstream: Namespaces (downsynced with their contents), CustomResourceDefinitions (they
  decide what is served), the SyncerConfigs and EdgeSyncConfigs (the selection), every
  resource selected for downsync, and the resources upsync writes into;
* downstream: Namespaces (a create into a missing one fails as on a server), CRDs, the
  resources downsync writes into — all their objects, so that a namesake syncpipe did not
  create is found and reported as a conflict, as live — and every resource selected for
  upsync.

Which resources those are follows from discovery exactly as in the syncer
(``Selection.resolve_downsync`` / ``resolve_upsync``, then the target resource by kind, at the
target's preferred version).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from syncpipe import errors
from syncpipe.clients import discovery
from syncpipe.clients.connect import ClusterAccess, load_configuration
from syncpipe.clients.rest import RestClient
from syncpipe.config import configapi
from syncpipe.config.mergedselection import Selection
from syncpipe.model.events import Side
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import CRD_GVR, NAMESPACE_GVR, ResourceInfo
from syncpipe.replay.served import ServedResources
from syncpipe.replay.snapshot import SideInfo

CONFIG_GROUP = configapi.GROUP
CONFIG_RESOURCES = configapi.CONFIG_RESOURCES


def connect(
    kubeconfig: str | None, context: str | None, *, label: str, insecure: bool = False
) -> RestClient:
    """A RestClient for one side, its kubeconfig resolved as kubectl does."""
    access = ClusterAccess(
        kubeconfig=kubeconfig, context=context, insecure_skip_tls_verify=insecure, label=label
    )
    return RestClient(load_configuration(access), label=label)


def describe_side(rest: RestClient) -> SideInfo:
    """The server's version and what it serves now."""
    version = rest.request("GET", "/version") or {}
    found = discovery.discover(rest)
    return SideInfo(
        server_version=str(version.get("gitVersion", "")),
        discovery=found.resources,
        preferred_versions=found.preferred_versions,
    )


def served_of(info: SideInfo) -> ServedResources:
    return ServedResources(info.discovery, info.preferred_versions)


def configs_upstream(rest: RestClient, served: ServedResources) -> list[RawObject]:
    """The SyncerConfigs and EdgeSyncConfigs upstream (what ``--all-selected`` follows)."""
    found: list[RawObject] = []
    for group, resource in CONFIG_RESOURCES:
        info = served.by_group_resource(group, resource)
        if info is not None:
            items, _ = rest.list(info.gvr)
            found.extend(items)
    if not found and served.by_group_resource(*CONFIG_RESOURCES[0]) is None:
        raise errors.ConfigError(
            [("--all-selected", "the SyncerConfig API is not served upstream")]
        )
    return found


def _watchable(infos: Iterable[ResourceInfo | None]) -> list[ResourceInfo]:
    unique = {i.gvr: i for i in infos if i is not None and i.listable and i.watchable}
    return [unique[gvr] for gvr in sorted(unique)]


def resources_to_capture(
    selection: Selection, sides: Mapping[Side, ServedResources]
) -> dict[Side, list[ResourceInfo]]:
    """The collections to capture on each side present in ``sides`` (see the module docstring).

    With one side only, the other side's resolution uses that side's discovery in its place.
    """
    up = sides.get(Side.UPSTREAM) or sides[Side.DOWNSTREAM]
    down = sides.get(Side.DOWNSTREAM) or up
    downsync = selection.resolve_downsync(up.resources, preferred_versions=up.preferred_versions)
    upsync = selection.resolve_upsync(down.resources, preferred_versions=down.preferred_versions)
    wanted: dict[Side, list[ResourceInfo]] = {}
    if Side.UPSTREAM in sides:
        wanted[Side.UPSTREAM] = _watchable(
            [
                up.by_gvr(NAMESPACE_GVR),
                up.by_group_resource(CRD_GVR.group, CRD_GVR.resource),
                *(up.by_group_resource(g, r) for g, r in CONFIG_RESOURCES),
                *downsync,
                *(up.find_kind(i.gvr.group, i.kind) for i in upsync),
            ]
        )
    if Side.DOWNSTREAM in sides:
        wanted[Side.DOWNSTREAM] = _watchable(
            [
                down.by_gvr(NAMESPACE_GVR),
                down.by_group_resource(CRD_GVR.group, CRD_GVR.resource),
                *(down.find_kind(i.gvr.group, i.kind) for i in downsync),
                *upsync,
            ]
        )
    return wanted
