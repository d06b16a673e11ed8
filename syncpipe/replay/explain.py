"""Why is my object (not) what it is on the other side? ``syncpipe explain``'s answer.

Given a replay engine that ran over a state — a snapshot, or both live clusters listed once —
``explain`` follows one source object through the pipeline the way a reconcile does and says,
at each stage, what happened:

1. **selection**: the configs (and their entries, by ``$.path``) that select it; when none
   does, the entries that came closest and what each missed (``syncpipe.config.nearmiss``);
   or the plugins whose ``syncpipe_select`` vetoed it (``Hooks.selection_verdict``);
2. **transforms**: each one that ran, in the order the pipeline runs them, with its effect
   as a diff (``syncpipe.replay.observe``: the chain itself runs them, observed);
3. **status return** (downsync): each status transform's effect on the status the copy
   reports, in the order they run (``hooks.chain.return_status``, observed the same way);
4. **fields left to others**: the ``syncpipe_ignored_fields`` the sink neither sets nor
   removes;
5. **the plan**: what one reconcile plans for the copy as the input showed it, and why
   (``sink.reconcileplan``); the writes the run made to the object and its copy (creates
   with their body, patches with their RFC 6902 operations, deletes, status writes), and any
   rejection.

Everything is computed by the pipeline's own functions over the engine's memory stores; the
only thing ``explain`` adds is observation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import attrs

from syncpipe import errors
from syncpipe.config.mergedselection import Selection
from syncpipe.config.nearmiss import NearMiss, misses_of, near_misses
from syncpipe.hooks.manager import Hooks
from syncpipe.model.actions import Action
from syncpipe.model.events import Direction, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject, labels_of
from syncpipe.model.resources import ResourceInfo
from syncpipe.replay.engine import ReplayEngine
from syncpipe.replay.observe import TransformStep, status_steps, transform_steps
from syncpipe.replay.result import Pending, PlannedWrite, Rejection, ReplayResult
from syncpipe.replay.served import ServedResources
from syncpipe.replay.snapshot import Record, RecordType
from syncpipe.sink.reconcileplan import desired_copy, plan_reconcile

BUILTIN_SELECTION = "builtin.selection"
"""The built-in ``syncpipe_select``: its ``False`` for an object no config selects is not a veto."""

DEPRECATED_GROUP = "extensions"
"""Served beside the groups its kinds moved to; never what a bare kind means."""

STATUS_FLOW = "status"
FLOWS = {Direction.DOWN: frozenset({"downsync", STATUS_FLOW}), Direction.UP: frozenset({"upsync"})}
"""The flows (replay queue names) that work on an object in each direction."""


class ExplainError(errors.SyncpipeError):
    """The object to explain cannot be named: an unknown kind, an ambiguous one."""


@attrs.frozen(kw_only=True)
class Explanation:
    """Everything ``explain`` found about one object (see the module docstring)."""

    direction: Direction
    key: ObjectKey
    kind: str
    found: bool
    selected_by: Mapping[str, tuple[str, ...]]  # config ref -> the entries' $.paths
    near_misses: tuple[NearMiss, ...] = ()
    vetoed_by: tuple[str, ...] = ()
    steps: tuple[TransformStep, ...] = ()
    status_steps: tuple[TransformStep, ...] = ()
    ignored_fields: tuple[str, ...] = ()
    desired: RawObject | None = None
    target: ObjectKey | None = None
    plan_reason: str = ""
    plan_action: Action | None = None
    writes: tuple[PlannedWrite, ...] = ()
    rejected: tuple[Rejection, ...] = ()
    pending: tuple[Pending, ...] = ()

    @property
    def selected(self) -> bool:
        return bool(self.selected_by) and not self.vetoed_by


# -- naming the object ---------------------------------------------------------------------


def resolve_kind(served: ServedResources, text: str) -> ResourceInfo:
    """The resource ``text`` names, as kubectl reads it: a kind, a plural, a singular or a
    short name (``deploy``), optionally ``.group``-qualified (``deployments.apps``),
    case-insensitive."""
    wanted, _, group = text.lower().partition(".")
    found: dict[str, ResourceInfo] = {}
    for info in served.resources:
        if "/" in info.gvr.resource or (group and info.gvr.group != group):
            continue
        if wanted in (info.gvr.resource, info.kind.lower()) or wanted in info.short_names:
            preferred = served.by_group_resource(info.gvr.group, info.gvr.resource)
            found[info.gvr.group] = preferred or info
    if not found:
        raise ExplainError(
            f"the server does not have a resource type {text!r} (name it by kind, e.g. "
            "Deployment, by resource, e.g. deployments.apps, or by short name, e.g. deploy)"
        )
    if len(found) > 1:
        found.pop(DEPRECATED_GROUP, None)  # as kubectl: Ingress is networking.k8s.io's
    if len(found) > 1 and "" not in found:
        choices = ", ".join(sorted(f"{i.gvr.resource}.{g}" for g, i in found.items()))
        raise ExplainError(f"{text!r} is ambiguous: say which of {choices}")
    return found.get("") or next(iter(found.values()))


def object_key(info: ResourceInfo, name: str) -> ObjectKey:
    """The key of ``NAMESPACE/NAME`` (namespaced) or ``NAME`` (cluster-scoped)."""
    namespace, _, short = name.rpartition("/")
    if info.namespaced and not namespace:
        raise ExplainError(f"{info.kind} is namespaced: name it as NAMESPACE/NAME")
    if not info.namespaced and namespace:
        raise ExplainError(f"{info.kind} is cluster-scoped: name it as NAME, without namespace")
    return ObjectKey(info.gvr, namespace, short)


# -- the copy as the input state shows it ---------------------------------------------------

CopyKey = tuple[str, str, str, str]
"""An object whatever the version it is addressed at: (group, resource, namespace, name)."""


def copy_key(key: ObjectKey) -> CopyKey:
    return key.gvr.group, key.gvr.resource, key.namespace, key.name


def keeping_copies(
    records: Iterable[Record], *, side: Side, name: str, into: dict[CopyKey, RawObject]
) -> Iterator[Record]:
    """``records``, passed through; ``into`` keeps the last state of every object of ``side``
    named ``name`` and of every Namespace there (a mapped namespace's name differs): the copy
    as the input shows it, before the pipeline's writes, for ``explain(given_copies=)``."""
    for record in records:
        obj = record.object
        if record.side is side and obj is not None:
            gvr = record.gvr
            obj_name = str((obj.get("metadata") or {}).get("name", ""))
            if obj_name == name or (gvr.group, gvr.resource) == ("", "namespaces"):
                key = copy_key(ObjectKey.from_object(gvr, obj))
                if record.type is RecordType.DELETED:
                    into.pop(key, None)
                else:
                    into[key] = obj
        yield record


# -- the stages ----------------------------------------------------------------------------


def _reasons(
    selection: Selection, direction: Direction, info: ResourceInfo, key: ObjectKey, obj: RawObject
) -> set[str]:
    labels = labels_of(obj)
    if direction is Direction.DOWN:
        return set(
            selection.downsync_reasons(
                key.gvr, key.namespace, key.name, kind=info.kind, labels=labels
            )
        )
    return set(
        selection.upsync_reasons(
            key.gvr.group,
            key.gvr.resource,
            key.namespace,
            key.name,
            info.namespaced,
            kind=info.kind,
            labels=labels,
        )
    )


def _selected_by(
    selection: Selection, direction: Direction, info: ResourceInfo, key: ObjectKey, obj: RawObject
) -> dict[str, tuple[str, ...]]:
    """Config ref -> the ``$.paths`` of its entries that select the object."""
    reasons = _reasons(selection, direction, info, key, obj)
    paths: dict[str, set[str]] = {ref: set() for ref in reasons}
    for rule in selection.rules_for(direction):
        if rule.reason in paths and not misses_of(
            rule,
            info=info,
            namespace=key.namespace,
            name=key.name,
            labels=labels_of(obj),
        ):
            paths[rule.reason].update(selection.paths.get(rule, ()))
    return {ref: tuple(sorted(found)) for ref, found in sorted(paths.items())}


def vetoes(hooks: Hooks, direction: Direction, key: ObjectKey, obj: RawObject) -> tuple[str, ...]:
    """The plugins whose ``syncpipe_select`` answers ``False`` for the object (the pipeline's
    own verdict, ``Hooks.selection_verdict``)."""
    return hooks.selection_verdict(key=key, obj=obj, direction=direction).vetoed_by


def _target_key(
    engine: ReplayEngine, direction: Direction, key: ObjectKey, desired: RawObject | None
) -> ObjectKey:
    """Where the copy is: from the desired object, or (nothing desired) by the mapping."""
    if desired is not None:
        # As the flows resolve a copy's resource: by kind on the target side, at the desired
        # object's version if served there (only ``apis``: the engine's stable interface).
        served = engine.apis[direction.target].served
        group, _, version = str(desired["apiVersion"]).rpartition("/")
        kind = str(desired["kind"])
        target = served.find_kind(group, kind, version) or served.find_kind(group, kind)
        if target is not None:
            return ObjectKey.from_object(target.gvr, desired)
    mapper = engine.hooks.ctx.namespace_mapper
    namespace = key.namespace
    if namespace and direction is Direction.DOWN:
        namespace = mapper.downstream_namespace_for(namespace)
    elif namespace:
        namespace = mapper.upstream_namespace_for(namespace) or namespace
    return ObjectKey(key.gvr, namespace, key.name)


def _same_object(a: ObjectKey, b: ObjectKey) -> bool:
    """The same object whatever the version it was addressed at."""
    return (a.gvr.group, a.gvr.resource, a.namespace, a.name) == (
        b.gvr.group,
        b.gvr.resource,
        b.namespace,
        b.name,
    )


def explain(
    engine: ReplayEngine,
    result: ReplayResult,
    *,
    direction: Direction,
    key: ObjectKey,
    fallback: RawObject | None = None,
    given_copies: Mapping[CopyKey, RawObject] | None = None,
) -> Explanation:
    """Explain what the pipeline did with ``key`` on ``direction``'s source side.

    ``engine`` ran over the state and ``result`` is its plan; ``fallback`` is the object as
    read elsewhere, for one the run did not list (its resource selected by no config).
    ``given_copies`` (``keeping_copies``): the copies as the input showed them; with it the
    explanation also says what one reconcile plans for that state, and why
    (``sink.reconcileplan``).
    """
    info = engine.apis[direction.source].served.by_gvr(key.gvr)
    if info is None:
        raise ExplainError(f"{key.gvr} is not served {direction.source.value}")
    obj = engine.apis[direction.source].get_or_none(key.gvr, key.namespace, key.name) or fallback
    hooks = engine.hooks
    ctx = hooks.ctx.for_resource(info, direction)
    selection = ctx.selection or Selection.empty()
    base = Explanation(
        direction=direction, key=key, kind=info.kind, found=obj is not None, selected_by={}
    )
    if obj is None:
        return _with_plan(base, engine, None, result, given_copies)
    selected_by = _selected_by(selection, direction, info, key, obj)
    # The built-in selection's "no" for an object no config selects is no veto.
    vetoed = tuple(
        v for v in vetoes(hooks, direction, key, obj) if v != BUILTIN_SELECTION or selected_by
    )
    explanation = attrs.evolve(base, selected_by=selected_by, vetoed_by=vetoed)
    if not selected_by:
        misses = near_misses(
            selection,
            direction,
            info=info,
            namespace=key.namespace,
            name=key.name,
            labels=labels_of(obj),
        )
        explanation = attrs.evolve(explanation, near_misses=misses)
    desired = None
    if explanation.selected:
        steps, observed = transform_steps(hooks, ctx, key, obj)
        ignored = hooks.ignored_fields(info, direction)
        # What the flows plan with, from the pipeline's own function (the observed run above
        # is for the steps; a transform that failed there fails here too).
        if observed is not None:
            desired = desired_copy(obj, key=key, hooks=hooks, ctx=ctx, info=info)
        explanation = attrs.evolve(
            explanation, steps=steps, ignored_fields=ignored, desired=desired
        )
    return _with_plan(explanation, engine, desired, result, given_copies, obj)


def _with_plan(
    explanation: Explanation,
    engine: ReplayEngine,
    desired: RawObject | None,
    result: ReplayResult,
    given_copies: Mapping[CopyKey, RawObject] | None,
    source: RawObject | None = None,
) -> Explanation:
    """``explanation`` with the writes, rejections and pending work about the object or its
    copy, (downsync) what status return does with the copy's status, and the plan for the
    given copy."""
    key = explanation.key
    target = _target_key(engine, explanation.direction, key, desired)
    if given_copies is not None and source is not None:
        target_info = engine.apis[explanation.direction.target].served.by_gvr(target.gvr)
        plan = plan_reconcile(
            direction=explanation.direction,
            target=target,
            source=source,
            desired=desired if explanation.selected else None,
            live=given_copies.get(copy_key(target)),
            syncer_name=engine.hooks.ctx.syncer_name,
            status_subresource=target_info is None or target_info.status_subresource,
            namespace_mapper=engine.hooks.ctx.namespace_mapper,
        )
        explanation = attrs.evolve(explanation, plan_reason=plan.reason, plan_action=plan.action)
    if explanation.selected and explanation.direction is Direction.DOWN:
        info = engine.apis[Side.UPSTREAM].served.by_gvr(key.gvr)
        copy = engine.apis[Side.DOWNSTREAM].get_or_none(target.gvr, target.namespace, target.name)
        if info is not None:
            explanation = attrs.evolve(
                explanation, status_steps=status_steps(engine.hooks, info, key, copy)
            )

    direction = explanation.direction
    flows = FLOWS[direction]

    def written(w: PlannedWrite) -> bool:
        """A write to the copy, or status return's to the object itself."""
        action = w.action
        if action.side is direction.target:
            return w.flow in flows and _same_object(action.key, target)
        return w.flow == STATUS_FLOW and _same_object(action.key, key)

    def about(flow: str, other: ObjectKey) -> bool:
        return flow in flows and (_same_object(other, key) or _same_object(other, target))

    return attrs.evolve(
        explanation,
        target=target,
        writes=tuple(w for w in result.writes if written(w)),
        rejected=tuple(r for r in result.rejected if about(r.flow, r.key)),
        pending=tuple(p for p in result.pending if about(p.flow, p.key)),
    )
