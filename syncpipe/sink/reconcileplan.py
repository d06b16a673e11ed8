"""Everything one reconcile decides, from the state it read: one pure function, one plan value.

``runtime/flow.py::Flow.reconcile`` (the shell) reads what it needs — the source object, the
desired object after the hook chain, the live copy, whether the source went missing from a
relist, whether the source namespace still exists — and hands it to :func:`plan_reconcile`.
The returned :class:`ReconcilePlan` says, in the order the shell carries them out:

1. ``namespace``: the target namespace a create needs (under a namespace mapping it must carry
   the upstream namespace's locator: verified, created if missing, a conflict if not ours). A
   missing one is created as the desired copy of its source Namespace when that Namespace is
   itself selected (:func:`namespace_create`), so whichever reconcile comes first — the
   dependent object's or the Namespace's own — the namespace is written once, whole;
2. ``guarded_delete``: a deletion the deletion circuit breaker must let through first
   (``inferred``: the source merely went missing from a relist; ``excluded``: the source exists
   but the chain excluded it, so a plugin's veto may be the cause);
3. ``fight_version``: a patch of a copy the fight guard must allow first;
4. ``action``: the one write (create, patch, delete) or none;
5. ``status``: upsync only, the status patch of the copy (``status_after_create``: the status
   to carry onto a copy once created, planned against the server's answer);
6. ``forget``: the copy is gone, the key's bookkeeping can go; ``conflict``: a namesake that
   is not ours, reported and left alone.

The rules (KubeStellar's, with its limitations fixed):

- only copies carrying this syncer's marks are updated or deleted (``builtin.ownership``);
- downsync: ``edge.kubestellar.io/downsync-overwrite: "false"`` on the source means create once,
  then only mark the copy ``"false"`` too, never update it nor delete it;
- a copy is deleted when it is not desired (source gone or not selected); a Namespace copy
  only when the source Namespace is known to be gone (deleting it deletes what is not ours);
- a copy already being deleted (``deletionTimestamp`` set) is never sent another DELETE.

Deliberately not here: reading caches or servers, the counters over time (the deletion
breaker's window, the fight guard's history), and reactions to a write's answer (``AlreadyExists``
→ re-plan with the existing object; a missing namespace → ensure it and retry). Those stay in
the shell and use this module for every decision they need.

``syncpipe explain`` (or any tool) gets what the syncer would do with one object from two calls:
:func:`desired_copy` (the hook chain's result for the source object) and :func:`plan_reconcile`
with that and the live copy; the plan is a plain value, ``reason`` says why in words, and its
``action`` carries the patch.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from syncpipe.builtin import namespaces as builtin_namespaces
from syncpipe.builtin import ownership
from syncpipe.hooks import chain
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.manager import Hooks
from syncpipe.model.actions import Action, Create, Patch
from syncpipe.model.events import Direction, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import (
    RawObject,
    annotations_of,
    labels_of,
    meta,
    resource_version_of,
)
from syncpipe.model.resources import NAMESPACE_GVR, ResourceInfo
from syncpipe.sink import planner

# Why a plan is what it is (``ReconcilePlan.reason``).
CREATE: Final = "create: no copy yet"
UPDATE: Final = "update: the copy differs from the desired object"
IN_SYNC: Final = "nothing: the copy is as desired"
FREEZE: Final = "mark the copy create-once: downsync-overwrite is false upstream"
FROZEN: Final = "nothing: the copy is create-once (downsync-overwrite false)"
DELETE: Final = "delete: the copy is no longer desired"
GONE: Final = "nothing: no copy, none desired"
NOT_OURS: Final = "nothing: the copy does not carry this syncer's marks"
BEING_DELETED: Final = "nothing: the copy is already being deleted"
NAMESPACE_KEPT: Final = "nothing: a Namespace copy stays while its source namespace may exist"


@attrs.frozen(kw_only=True)
class NamespacePrerequisite:
    """The target namespace a create needs.

    ``mapped``: a namespace mapping is in force (downsync), so the namespace must carry the
    locator of ``upstream_namespace`` (it is created with it when missing, and one without it is
    a conflict). Otherwise the namespace is created on demand when the create finds it missing.
    """

    name: str
    mapped: bool = False
    upstream_namespace: str | None = None
    # The source side's namespace of the object being created: where its Namespace object is
    # selected too, the namespace is created as that object's desired copy.
    source_namespace: str = ""


@attrs.frozen(kw_only=True)
class ReconcilePlan:
    """What one reconcile does, in the order the shell carries it out (module docstring)."""

    reason: str
    action: Action | None = None
    namespace: NamespacePrerequisite | None = None
    guarded_delete: bool = False
    inferred: bool = False
    excluded: bool = False
    fight_version: str | None = None
    status: Patch | None = None
    status_after_create: Any = None
    forget: bool = False
    conflict: str = ""


# The plans that carry nothing but their reason are shared: the steady state (a copy in sync)
# allocates no plan at all.
_NOTHING = {
    reason: ReconcilePlan(reason=reason)
    for reason in (IN_SYNC, FROZEN, NOT_OURS, BEING_DELETED, NAMESPACE_KEPT)
}
_FORGET = ReconcilePlan(reason=GONE, forget=True)


def plan_reconcile(
    *,
    direction: Direction,
    target: ObjectKey,
    source: RawObject | None,
    desired: RawObject | None,
    live: RawObject | None,
    syncer_name: str,
    inferred_delete: bool = False,
    source_namespace_exists: bool | None = None,
    status_subresource: bool = True,
    namespace_mapper: Any = None,
) -> ReconcilePlan:
    """The plan that brings copy ``target`` in line with ``desired``.

    ``source``: the source object as the cache holds it (None: gone); ``desired``: what the
    hook chain made of it, with the source locator and hands-off fields (None: not wanted,
    because the source is gone or the chain excluded it); ``live``: the copy on the target
    side (None: none). ``inferred_delete``: the source went missing from a relist.
    ``source_namespace_exists`` (Namespace copies): None when not known. ``status_subresource``:
    whether the target resource has ``/status`` (upsync writes status through it).
    ``namespace_mapper``: the downsync namespace mapper (``hooks.namespacemapper.NamespaceMapper``).
    Pure and cheap: no copies of the objects, one diff when both sides exist.
    """
    upsync = direction is Direction.UP
    side = direction.target
    if desired is None:
        return _plan_removal(
            upsync=upsync,
            side=side,
            target=target,
            source=source,
            live=live,
            syncer_name=syncer_name,
            inferred_delete=inferred_delete,
            source_namespace_exists=source_namespace_exists,
        )
    if live is None:
        return ReconcilePlan(
            reason=CREATE,
            action=Create(side=side, key=target, body=planner.with_record(desired)),
            namespace=_namespace_needed(
                target, source=source, upsync=upsync, mapper=namespace_mapper
            ),
            status_after_create=_status_of(source) if upsync else None,
        )
    if not ownership.is_owned(live, syncer_name=syncer_name, upsynced=upsync):
        return ReconcilePlan(reason=NOT_OURS, conflict=not_ours_message(target, side, syncer_name))
    if not upsync and not ownership.overwrite_enabled(source):
        freeze = freeze_patch(side, target, live)
        return ReconcilePlan(reason=FREEZE, action=freeze) if freeze else _NOTHING[FROZEN]
    action = planner.plan(side=side, key=target, desired=desired, live=live)
    if action is not None:
        return ReconcilePlan(
            reason=UPDATE, action=action, fight_version=resource_version_of(source or {})
        )
    status = (
        plan_upsync_status(
            side=side,
            target=target,
            source=source,
            live=live,
            status_subresource=status_subresource,
        )
        if upsync
        else None
    )
    return ReconcilePlan(reason=IN_SYNC, status=status) if status is not None else _NOTHING[IN_SYNC]


def desired_copy(
    source: RawObject,
    *,
    key: ObjectKey,
    hooks: Hooks,
    ctx: SyncContext,
    info: ResourceInfo | None,
) -> RawObject | None:
    """What the target side should hold for source object ``source`` (``key``), in the
    direction of ``ctx``: the hook chain's result (selection, then the transforms), marked with
    its source locator, with the fields plugins leave to others handed off. None: nothing (not
    selected, or, going up, a copy this syncer downsynced: never upsynced back, no ping-pong).
    The ``desired`` argument of :func:`plan_reconcile`.
    """
    upsync = ctx.direction is Direction.UP
    if upsync and ownership.is_owned(source, syncer_name=ctx.syncer_name, upsynced=False):
        return None
    desired = chain.desired_object(source, key=key, hooks=hooks, ctx=ctx)
    if desired is None:
        return None
    desired = ownership.with_source_locator(desired, ownership.source_locator(key))
    if info is not None:
        ignored = hooks.ignored_fields(info, ctx.direction)
        if ignored:
            desired = chain.hands_off(desired, ignored)
    return desired


def _plan_removal(
    *,
    upsync: bool,
    side: Side,
    target: ObjectKey,
    source: RawObject | None,
    live: RawObject | None,
    syncer_name: str,
    inferred_delete: bool,
    source_namespace_exists: bool | None,
) -> ReconcilePlan:
    if live is None:
        return _FORGET
    if not ownership.is_owned(live, syncer_name=syncer_name, upsynced=upsync):
        return _NOTHING[NOT_OURS]
    if not upsync and not ownership.overwrite_enabled(live):
        return _NOTHING[FROZEN]  # "create once, never delete"
    if target.gvr == NAMESPACE_GVR and (source is not None or source_namespace_exists is not False):
        return _NOTHING[NAMESPACE_KEPT]
    action = planner.plan(side=side, key=target, desired=None, live=live)
    if action is None:  # finalizers pending: one DELETE was enough
        return _NOTHING[BEING_DELETED]
    return ReconcilePlan(
        reason=DELETE,
        action=action,
        guarded_delete=True,
        inferred=inferred_delete,
        excluded=source is not None,
    )


def _namespace_needed(
    target: ObjectKey, *, source: RawObject | None, upsync: bool, mapper: Any
) -> NamespacePrerequisite | None:
    if not target.namespace:
        return None
    source_namespace = str(meta(source).get("namespace") or "") if source is not None else ""
    if upsync or mapper is None or mapper.name == "identity":
        return NamespacePrerequisite(name=target.namespace, source_namespace=source_namespace)
    return NamespacePrerequisite(
        name=target.namespace,
        mapped=True,
        upstream_namespace=mapper.upstream_namespace_for(target.namespace),
        source_namespace=source_namespace,
    )


def _status_of(source: RawObject | None) -> Any:
    return source.get("status") if source is not None else None


def plan_upsync_status(
    *,
    side: Side,
    target: ObjectKey,
    source: RawObject | None,
    live: RawObject | None,
    status_subresource: bool,
) -> Patch | None:
    """Upsync carries status too: the patch putting the source's ``.status`` on the copy."""
    return plan_status_write(
        side=side,
        target=target,
        status=_status_of(source),
        live=live,
        status_subresource=status_subresource,
    )


def status_return_blocked(
    *,
    key: ObjectKey,
    kind: str,
    upstream_obj: RawObject | None,
    copy: RawObject | None,
    selection: Any,
    configs_off: frozenset[str],
    syncer_name: str,
    server_owned: bool,
) -> str | None:
    """Why the status of ``key``'s copy is NOT returned upstream, or None when it is.

    Not when the server itself owns that status (``server_owned``), the upstream object is
    gone, it says ``edge.kubestellar.io/return-status: "false"``, every config selecting it
    (``selection.downsync_reasons``) is one of ``configs_off`` (configs carrying that
    annotation), or there is no copy this syncer owns.
    """
    if server_owned:
        return "the server owns this resource's status"
    if upstream_obj is None:
        return "the upstream object is gone"
    if annotations_of(upstream_obj).get(ownership.RETURN_STATUS_ANNOTATION) == "false":
        return "status return is off on the object"
    if configs_off:
        reasons = selection.downsync_reasons(
            key.gvr, key.namespace, key.name, kind=kind, labels=labels_of(upstream_obj)
        )
        if reasons and reasons <= configs_off:
            return "status return is off on every config selecting it"
    if copy is None or not ownership.is_owned(copy, syncer_name=syncer_name):
        return "no copy of this syncer's"
    return None


def plan_status_write(
    *,
    side: Side,
    target: ObjectKey,
    status: Any,
    live: RawObject | None,
    status_subresource: bool,
) -> Patch | None:
    """The patch making ``live``'s status ``status`` (``sink.planner.plan_status``), through
    ``/status`` where the resource has it, else on the main resource touching only
    ``/status``. Used by upsync and by status return."""
    action = planner.plan_status(side=side, key=target, desired_status=status, live=live)
    if action is None or status_subresource:
        return action
    return attrs.evolve(action, subresource="")


def freeze_patch(side: Side, target: ObjectKey, live: RawObject) -> Patch | None:
    """The patch marking a copy create-once (overwrite off upstream), None if it already is."""
    if annotations_of(live).get(ownership.OVERWRITE_ANNOTATION) == "false":
        return None
    ops: list[dict[str, Any]]
    if "annotations" in meta(live):
        path = f"/metadata/annotations/{_escape(ownership.OVERWRITE_ANNOTATION)}"
        ops = [{"op": "add", "path": path, "value": "false"}]
    else:
        value = {ownership.OVERWRITE_ANNOTATION: "false"}
        ops = [{"op": "add", "path": "/metadata/annotations", "value": value}]
    return Patch(side=side, key=target, ops=ops)


def not_ours_message(target: ObjectKey, side: Side, syncer_name: str) -> str:
    return (
        f"{target} exists on the {side.value} side and was not created by syncer "
        f"{syncer_name!r}; leaving it alone"
    )


def namespace_body(
    prerequisite: NamespacePrerequisite, *, upsync: bool, ctx: SyncContext
) -> RawObject:
    """A missing target namespace as it is created: bare, marked ours, and under a mapping
    carrying the locator of its upstream namespace."""
    body: RawObject = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": prerequisite.name},
    }
    if prerequisite.mapped and prerequisite.upstream_namespace:
        locator = {
            builtin_namespaces.UPSTREAM_NAMESPACE_ANNOTATION: prerequisite.upstream_namespace
        }
        body["metadata"]["annotations"] = locator
    mark = ownership.mark_upsynced if upsync else ownership.mark_downsynced
    return planner.with_record(mark(body, ctx))


def namespace_create(
    prerequisite: NamespacePrerequisite,
    *,
    selected: RawObject | None,
    upsync: bool,
    ctx: SyncContext,
) -> tuple[RawObject, bool]:
    """The body a missing target namespace is created with, and whether it is a copy.

    ``selected``: the desired copy of the source Namespace ``prerequisite.source_namespace``
    when that Namespace is selected in this direction (:func:`desired_copy`; None: it is not).
    Where it names this namespace (and, under a mapping, carries its locator), the namespace is
    created as exactly what the Namespace's own reconcile creates (``True``): that reconcile
    then finds nothing to do, and the writes do not depend on which of the two came first.
    Otherwise it is created bare (:func:`namespace_body`, ``False``), an implicit namespace.
    """
    if (
        selected is not None
        and meta(selected).get("name") == prerequisite.name
        and not namespace_conflict(prerequisite, selected, verifying=True)
    ):
        return planner.with_record(selected), True
    return namespace_body(prerequisite, upsync=upsync, ctx=ctx), False


def namespace_conflict(
    prerequisite: NamespacePrerequisite, existing: RawObject, *, verifying: bool
) -> str:
    """Why objects must not go into the existing target namespace (``""``: they may).

    Under a namespace mapping only namespaces carrying the upstream namespace's locator are
    used, never adopted. ``verifying``: checked before a create (a namespace without any
    locator is refused); otherwise after our create of it met a namesake.
    """
    if not prerequisite.mapped:
        return ""
    expected = prerequisite.upstream_namespace
    found = annotations_of(existing).get(builtin_namespaces.UPSTREAM_NAMESPACE_ANNOTATION)
    if found == expected and (found is not None or not verifying):
        return ""
    action = "refusing to put objects into it" if verifying else "refusing to adopt it"
    return (
        f"namespace {prerequisite.name} exists downstream without the locator of upstream "
        f"namespace {expected!r}; {action}"
    )


def namespace_key(name: str) -> ObjectKey:
    return ObjectKey(NAMESPACE_GVR, "", name)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
