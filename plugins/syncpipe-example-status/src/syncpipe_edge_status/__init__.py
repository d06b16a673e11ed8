"""Add an edge summary to the status syncpipe returns upstream: a status transform.

For the kinds named by ``--plugin-opt edge-status.kinds=Deployment,StatefulSet``, the status a
downsynced copy reports is written upstream with one more condition (its type is
``--plugin-opt edge-status.condition=TYPE``, default ``Edge``)::

    status:
      readyReplicas: 1
      replicas: 2
      conditions:
      - {type: Edge, status: "True", reason: StatusReturned,
         message: "returned by syncer edge1; ready 1/2"}

The message names the syncer and, when the copy reports ``replicas``, how many are ready
(``--plugin-opt edge-status.ready=false`` leaves that out). A condition, not a field of its
own: the API server drops fields a built-in kind's status does not define, but every kind's
``conditions`` take a new type. For the same reason the condition has every field the copy's
other conditions have, the times as ``null`` (a summary has no transition to report): the
server fills a built-in condition's missing fields in with ``null``, so a condition without
them would differ from the stored one and be written again at every status change.

The condition is computed from the copy's status alone, so the same status always gives the
same condition: at rest, the upstream status already holds it and nothing is written.

Off until ``kinds`` names some: an installed plugin runs in every syncer of the environment,
and this one changes what is written upstream.
"""

from __future__ import annotations

from typing import Any

from syncpipe.plugin import PluginOption, ResourceInfo, SyncContext, Transform, hookimpl

PLUGIN = "edge-status"
REASON = "StatusReturned"


def summary_condition(
    status: dict[str, Any], *, condition_type: str, syncer: str, ready: bool
) -> dict[str, Any]:
    """The condition summing up a copy's status on the edge."""
    message = f"returned by syncer {syncer}"
    if ready and "replicas" in status:
        message += f"; ready {status.get('readyReplicas', 0)}/{status['replicas']}"
    return {"type": condition_type, "status": "True", "reason": REASON, "message": message}


def add_edge_summary(status: dict[str, Any], ctx: SyncContext) -> dict[str, Any]:
    """The status to write upstream: the copy's, with the summary condition (replacing a
    condition of that type the copy may report), shaped like the copy's other conditions."""
    options = ctx.plugin_config(PLUGIN)
    condition = summary_condition(
        status, condition_type=options["condition"], syncer=ctx.syncer_name, ready=options["ready"]
    )
    kept = [c for c in status.get("conditions") or () if c.get("type") != condition["type"]]
    shape = {field: None for other in kept for field in other}
    return {**status, "conditions": [*kept, {**shape, **condition}]}


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
        PluginOption(name="condition", default="Edge", help="the type of the summary condition"),
        PluginOption(
            name="ready",
            type=bool,
            default=True,
            help="say how many replicas are ready (readyReplicas/replicas) when the copy "
            "reports replicas",
        ),
    ]


@hookimpl
def syncpipe_register_transforms(ctx: SyncContext) -> list[Transform]:
    kinds = kinds_of(ctx)

    def named_kind(resource: ResourceInfo) -> bool:
        """The kinds the kinds option names."""
        return resource.kind in kinds

    return [
        Transform(name="edge-status", forward=keep, status=add_edge_summary, applies_to=named_kind)
    ]
