"""Add an edge summary to the status syncpipe returns upstream: a status transform.

For the kinds named by ``--plugin-opt edge-status.kinds=Deployment,StatefulSet``, the status a
downsynced copy reports is written upstream with one more field (``--plugin-opt
edge-status.field=NAME``, default ``edge``)::

    status:
      readyReplicas: 1
      replicas: 2
      edge: {syncer: edge1, ready: "1/2"}

``syncer`` is the syncer's name, ``ready`` is ``readyReplicas/replicas`` when the copy reports
``replicas`` (``--plugin-opt edge-status.ready=false`` leaves it out). The summary is computed
from the copy's status alone, so the same status always gives the same summary: at rest, the
upstream status already holds it and nothing is written.

Off until ``kinds`` names some: an installed plugin runs in every syncer of the environment,
and this one changes what is written upstream.
"""

from __future__ import annotations

from typing import Any

from syncpipe.plugin import PluginOption, ResourceInfo, SyncContext, Transform, hookimpl

PLUGIN = "edge-status"


def summary(status: dict[str, Any], *, syncer: str, ready: bool) -> dict[str, str]:
    """The edge summary of a copy's status."""
    found = {"syncer": syncer}
    if ready and "replicas" in status:
        found["ready"] = f"{status.get('readyReplicas', 0)}/{status['replicas']}"
    return found


def add_edge_summary(status: dict[str, Any], ctx: SyncContext) -> dict[str, Any]:
    """The status to write upstream: the copy's, plus the summary under the ``field`` option."""
    options = ctx.plugin_config(PLUGIN)
    edge = summary(status, syncer=ctx.syncer_name, ready=options["ready"])
    return {**status, options["field"]: edge}


def keep(obj: dict[str, Any], ctx: SyncContext) -> dict[str, Any]:
    """Downsync is left alone: this plugin only shapes status on its way back."""
    return obj


def kinds_of(ctx: SyncContext) -> frozenset[str]:
    """The kinds the ``kinds`` option names."""
    text = str(ctx.plugin_config(PLUGIN).get("kinds") or "")
    return frozenset(kind.strip() for kind in text.split(",") if kind.strip())


@hookimpl
def syncpipe_declare_options() -> list[PluginOption]:
    return [
        PluginOption(
            name="kinds",
            default="",
            help="comma-separated kinds whose returned status gets the summary "
            "(e.g. Deployment,StatefulSet); empty: none",
        ),
        PluginOption(name="field", default="edge", help="the status field the summary goes in"),
        PluginOption(
            name="ready",
            type=bool,
            default=True,
            help="include ready: readyReplicas/replicas when the copy reports replicas",
        ),
    ]


@hookimpl
def syncpipe_register_transforms(ctx: SyncContext) -> list[Transform]:
    kinds = kinds_of(ctx)

    def named_kind(resource: ResourceInfo) -> bool:
        return resource.kind in kinds

    return [
        Transform(name="edge-status", forward=keep, status=add_edge_summary, applies_to=named_kind)
    ]
