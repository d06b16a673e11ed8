"""Selection by the merged SyncerConfigs: the built-in opinion of ``syncpipe_select``.

Also vetoes what must never be copied whatever a config says: ServiceAccount token Secrets
(each server mints its own), the ``default`` ServiceAccount and ``kube-root-ca.crt`` ConfigMap
every namespace gets from its own cluster, and objects being deleted.
"""

from __future__ import annotations

from syncpipe.hooks import hookimpl
from syncpipe.hooks.context import SyncContext
from syncpipe.model.events import Direction
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject, labels_of, meta

NEVER_COPIED_SECRET_TYPES = frozenset({"kubernetes.io/service-account-token"})
# What every cluster creates in every namespace by itself: copying it would only collide with
# the target's own (and be reported as a conflict in every selected namespace).
PER_NAMESPACE_BOILERPLATE = frozenset(
    {("serviceaccounts", "default"), ("configmaps", "kube-root-ca.crt")}
)


@hookimpl
def syncpipe_select(
    key: ObjectKey, obj: RawObject, direction: Direction, ctx: SyncContext
) -> bool | None:
    if obj.get("type") in NEVER_COPIED_SECRET_TYPES and key.gvr.resource == "secrets":
        return False
    if key.gvr.group == "" and (key.gvr.resource, key.name) in PER_NAMESPACE_BOILERPLATE:
        return False
    if meta(obj).get("deletionTimestamp"):
        return False
    selection = ctx.selection
    if selection is None:
        return None
    kind = ctx.resource.kind if ctx.resource is not None else str(obj.get("kind", ""))
    labels = labels_of(obj)
    if direction is Direction.DOWN:
        reasons = selection.downsync_reasons(
            key.gvr, key.namespace, key.name, kind=kind, labels=labels
        )
        return bool(reasons)
    namespaced = ctx.resource.namespaced if ctx.resource is not None else bool(key.namespace)
    reasons = selection.upsync_reasons(
        key.gvr.group,
        key.gvr.resource,
        key.namespace,
        key.name,
        namespaced,
        kind=kind,
        labels=labels,
    )
    return bool(reasons)
