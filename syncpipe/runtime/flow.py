"""One direction of object syncing: source objects → hook chain → owned copies on the target.

Downsync (upstream → downstream) and upsync (downstream → upstream) are the same machinery with
the sides swapped: a ``Flow`` holds the source informers (every object of a selected resource)
and the target informers (only the copies this syncer owns, by label selector), and its
``reconcile`` is level-triggered: it reads the current source object and the current owned
copy from the caches; the events that queued the key are not consulted, so ten events for one
object cost one reconcile.

``reconcile`` is a thin shell around one pure function: it reads the state (source object,
desired object after the hook chain, live copy, inferred-delete flag, whether the source
namespace exists), ``sink/reconcileplan.py::plan_reconcile`` decides everything (ownership,
overwrite/freeze, namespace prerequisites, create/patch/delete and the patch, upsync status;
the rules are listed there), and the shell carries the plan out: the namespace prerequisite
(``runtime/targetnamespaces.py``), the deletion circuit breaker and the fight guard
(``runtime/safety.py``), the write, the status. It reacts to a write's answer only where the
planner could not know it: ``AlreadyExists`` re-plans with the existing object, a missing
namespace is ensured and the create retried.

Each copy records where it came from in the annotation ``syncpipe.io/source``, so events on the
target side find their source key without parsing names (namespace mapping and renaturing may
rename both).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import attrs

from syncpipe import errors
from syncpipe.builtin import ownership
from syncpipe.config.mergedselection import Selection
from syncpipe.hooks import chain
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.manager import Hooks
from syncpipe.model.actions import Action, Create, Delete
from syncpipe.model.events import Direction, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import (
    RawObject,
    meta,
)
from syncpipe.model.resources import NAMESPACE_GVR, GroupVersionResource, ResourceInfo
from syncpipe.runtime import routing
from syncpipe.runtime.ownwrites import OwnWrites
from syncpipe.runtime.safety import DeletionGuard, FightGuard
from syncpipe.runtime.targetnamespaces import TargetNamespaces
from syncpipe.sink import reconcileplan
from syncpipe.sink.reconcileplan import NamespacePrerequisite
from syncpipe.source.informer import EventSource

log = logging.getLogger(__name__)

# A create that needs an API not yet served on the target side is retried this soon.
WAIT_FOR_API_SECONDS = 1.0
# Caches that have not finished their first list yet are waited for this long per retry.
WAIT_FOR_CACHE_SECONDS = 0.05


class Writer(Protocol):
    """The target side's object writer (``clients.clusterwriter.ClusterWriter``, or a memory
    store)."""

    def apply(self, action: Action) -> RawObject | None: ...

    def get(self, key: ObjectKey) -> RawObject | None: ...


class TargetResolver(Protocol):
    """What the target side serves (discovery), and its owned-copy informers."""

    def target_info(self, direction: Direction, api_version: str, kind: str) -> ResourceInfo | None:
        """The target resource serving objects of ``apiVersion``/``kind`` (None: not served)."""
        ...

    def target_info_by_gvr(
        self, direction: Direction, gvr: GroupVersionResource
    ) -> ResourceInfo | None:
        """The target resource ``gvr``, if the target side serves it."""
        ...

    def target_informer(self, direction: Direction, info: ResourceInfo) -> EventSource:
        """The informer over owned copies of ``info`` on the target side (started if needed)."""
        ...


@attrs.define(eq=False)
class SourceState:
    info: ResourceInfo
    informer: EventSource | None = None
    # What the source watch asks its API server to filter by (a config's objectSelector).
    label_selector: str = ""
    # The namespaces watched one by one; empty: one cluster-wide watch.
    namespaces: tuple[str, ...] = ()

    def same_watch(self, other: SourceState) -> bool:
        """Whether ``other`` asks the server for exactly what this source's watch does."""
        return (self.label_selector, self.namespaces) == (other.label_selector, other.namespaces)


def sources_wanted(
    selection: Selection,
    direction: Direction,
    infos: Iterable[ResourceInfo],
    *,
    max_namespaced_watches: int = 0,
) -> dict[GroupVersionResource, SourceState]:
    """The source watches ``selection`` needs for ``direction`` (not started yet), each with
    the label selector its server may filter by and, where the selection names at most
    ``max_namespaced_watches`` namespaces, those namespaces; what the drivers reconcile their
    sources to.
    """
    return {
        info.gvr: SourceState(
            info=info,
            label_selector=routing.source_label_selector(selection, direction, info),
            namespaces=routing.source_namespaces(
                selection, direction, info, max_namespaced_watches=max_namespaced_watches
            ),
        )
        for info in infos
    }


_NOT_TRACKED: Any = object()  # ``Flow._apply``'s "this write is not remembered" marker


def _missing_namespace(exc: errors.ApiNotFound, target: ObjectKey) -> bool:
    """Whether a create of ``target`` failed because its namespace does not exist."""
    return bool(target.namespace) and (exc.details or {}).get("kind") == "namespaces"


@attrs.define(eq=False)
class Flow:
    """Everything one direction knows, and its reconcile function."""

    direction: Direction
    hooks: Hooks
    target_writer: Writer
    resolver: TargetResolver
    guard: DeletionGuard
    on_missing_api: Callable[[], None] = lambda: None
    # Whether a namespace exists on the source side (None: not known yet). Consulted before a
    # copied Namespace is deleted, also when namespaces are no longer selected at all.
    source_namespace_exists: Callable[[str], bool | None] = lambda _name: None
    sources: dict[GroupVersionResource, SourceState] = attrs.field(factory=dict)
    _target_of: dict[ObjectKey, ObjectKey] = attrs.field(factory=dict)
    _inferred_deletes: set[ObjectKey] = attrs.field(factory=set)
    # Our writes to each copy, until its cache shows them.
    _own_writes: OwnWrites = attrs.field(factory=OwnWrites)
    fights: FightGuard = attrs.field(factory=FightGuard)
    _source_gvrs: dict[tuple[str, str], GroupVersionResource] = attrs.field(factory=dict)
    _contexts: chain.ResourceContexts = attrs.field(
        default=attrs.Factory(lambda self: chain.ResourceContexts(self.direction), takes_self=True)
    )
    # Guards the compound updates below (check-then-act over several entries). Single dict
    # and set operations are atomic in CPython and run on every event from every worker and
    # dispatcher, so they go without it: a contended lock there cost more than the reconcile.
    _lock: threading.Lock = attrs.field(factory=threading.Lock)
    namespaces: TargetNamespaces = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.namespaces = TargetNamespaces(
            direction=self.direction,
            get=self.target_writer.get,
            apply=self._apply,
            ctx=lambda: self.hooks.ctx,
            selected_copy=self._selected_namespace_copy,
            create_copy=lambda create: self._apply(create, before=None),
        )

    @property
    def ctx(self) -> SyncContext:
        return self.hooks.ctx

    @property
    def upsync(self) -> bool:
        return self.direction is Direction.UP

    @property
    def target_side(self) -> Side:
        return self.direction.target

    # -- bookkeeping called from event handlers ----------------------------------------------

    def note_source_event(self, key: ObjectKey, *, inferred_delete: bool) -> None:
        if inferred_delete:
            self._inferred_deletes.add(key)
        else:
            self._inferred_deletes.discard(key)

    def source_key_of_copy(self, copy: RawObject, target: ObjectKey) -> ObjectKey | None:
        """The source key an owned copy came from (its locator annotation), remembered.

        When the source resource is no longer selected, the key still names it (with the
        copy's version) so that the reconcile finds no source and cleans the copy up.
        """
        parsed = ownership.source_of(copy)
        if parsed is None:
            return None
        group, resource, namespace, name = parsed
        gvr = self._source_gvrs.get((group, resource))
        if gvr is None or gvr not in self.sources:  # not seen yet, or the selection changed
            gvr = next(
                (g for g in list(self.sources) if g.group == group and g.resource == resource),
                None,
            )
            if gvr is not None:
                self._source_gvrs[(group, resource)] = gvr
            else:
                gvr = GroupVersionResource(group, target.gvr.version, resource)
        key = ObjectKey(gvr, namespace, name)
        self._target_of.setdefault(key, target)
        return key

    def known_target(self, key: ObjectKey) -> tuple[ObjectKey | None, ResourceInfo | None]:
        """The copy's key last seen for ``key`` and its target resource."""
        target = self._target_of.get(key)
        if target is None:
            return None, None
        return target, self.resolver.target_info_by_gvr(self.direction, target.gvr)

    # -- reconcile ---------------------------------------------------------------------------

    def reconcile(self, key: ObjectKey) -> None:
        """Read the state ``key`` needs, let the planner decide, carry the plan out."""
        source = self.sources.get(key.gvr)
        source_obj: RawObject | None = None
        if source is not None and source.informer is not None:
            if not source.informer.has_synced():
                raise errors.RetryableError(
                    "source cache not synced yet", delay=WAIT_FOR_CACHE_SECONDS
                )
            source_obj = source.informer.store.get(key)
        info = source.info if source is not None else None
        desired = self._desired(key, source_obj, info)
        target, target_info = self._target_for(key, desired)
        if target is None or target_info is None:
            return  # nothing to reach on the target side, and nothing to clean up
        informer = self.resolver.target_informer(self.direction, target_info)
        if not informer.has_synced():
            raise errors.RetryableError("target cache not synced yet", delay=WAIT_FOR_CACHE_SECONDS)
        live = self._fresh_live(target, informer.store.get(target))
        plan = self._plan(key, target, target_info, source_obj, desired, live)
        self._execute(plan, key, target_info, source_obj, desired, live)

    def _plan(
        self,
        key: ObjectKey,
        target: ObjectKey,
        target_info: ResourceInfo,
        source_obj: RawObject | None,
        desired: RawObject | None,
        live: RawObject | None,
    ) -> reconcileplan.ReconcilePlan:
        """The planner's answer for the state read (the one place the facts are gathered)."""
        ctx = self.hooks.ctx
        return reconcileplan.plan_reconcile(
            direction=self.direction,
            target=target,
            source=source_obj,
            desired=desired,
            live=live,
            syncer_name=ctx.syncer_name,
            inferred_delete=key in self._inferred_deletes,
            # Only asked where it matters: a Namespace copy whose source is gone.
            source_namespace_exists=(
                self.source_namespace_exists(key.name)
                if target.gvr == NAMESPACE_GVR and source_obj is None
                else None
            ),
            status_subresource=target_info.status_subresource,
            namespace_mapper=ctx.namespace_mapper,
        )

    def _desired(
        self, key: ObjectKey, source_obj: RawObject | None, info: ResourceInfo | None
    ) -> RawObject | None:
        if source_obj is None:
            return None
        ctx = self.hooks.ctx
        return reconcileplan.desired_copy(
            source_obj,
            key=key,
            hooks=self.hooks,
            ctx=self._contexts.get(ctx, info) if info else ctx,
            info=info,
        )

    def _selected_namespace_copy(self, name: str) -> RawObject | None:
        """The desired copy of source Namespace ``name`` when this flow syncs it (None: it does
        not): a namespace prerequisite creates it whole, as the Namespace's own reconcile would.
        Waits for the Namespace source's first list, as that reconcile does, so that the
        outcome does not depend on which of the two runs first."""
        source = self.sources.get(NAMESPACE_GVR)
        if source is None or source.informer is None:
            return None
        if not source.informer.has_synced():
            raise errors.RetryableError(
                "namespace source cache not synced yet", delay=WAIT_FOR_CACHE_SECONDS
            )
        key = reconcileplan.namespace_key(name)
        return self._desired(key, source.informer.store.get(key), source.info)

    def _execute(
        self,
        plan: reconcileplan.ReconcilePlan,
        key: ObjectKey,
        target_info: ResourceInfo,
        source_obj: RawObject | None,
        desired: RawObject | None,
        live: RawObject | None,
    ) -> None:
        """Carry out ``plan``'s steps in order (see ``sink/reconcileplan.py``)."""
        if plan.forget:
            with self._lock:
                self._target_of.pop(key, None)
                self._inferred_deletes.discard(key)
            return
        if plan.conflict:
            raise errors.OwnershipConflict(plan.conflict)
        action = plan.action
        if isinstance(action, Delete):
            self._delete(plan, action, key=key, source_obj=source_obj, live=live)
        elif isinstance(action, Create) and desired is not None:
            self._create(
                plan, action, key=key, info=target_info, source_obj=source_obj, desired=desired
            )
        elif action is not None:
            if plan.fight_version is not None and live is not None:
                self.fights.check(action.key, live, plan.fight_version)
            self._apply(action, before=live)
        if plan.status is not None:
            self._apply(plan.status)

    def _target_for(
        self, key: ObjectKey, desired: RawObject | None
    ) -> tuple[ObjectKey | None, ResourceInfo | None]:
        if desired is None:
            known = self._target_of.get(key)
            if known is None:
                return None, None
            return known, self.resolver.target_info_by_gvr(self.direction, known.gvr)
        api_version = str(desired.get("apiVersion", ""))
        kind = str(desired.get("kind", ""))
        info = self.resolver.target_info(self.direction, api_version, kind)
        if info is None:
            self.on_missing_api()
            raise errors.RetryableError(
                f"{kind} ({api_version}) is not served on the {self.target_side.value} side yet",
                delay=WAIT_FOR_API_SECONDS,
            )
        m = meta(desired)
        namespace = str(m.get("namespace") or "") if info.namespaced else ""
        target = ObjectKey(info.gvr, namespace, str(m["name"]))
        self._target_of[key] = target
        return target, info

    def _delete(
        self,
        plan: reconcileplan.ReconcilePlan,
        action: Delete,
        *,
        key: ObjectKey,
        source_obj: RawObject | None,
        live: RawObject | None,
    ) -> None:
        vetoed_by = (
            chain.vetoed_by(source_obj, key=key, hooks=self.hooks, direction=self.direction)
            if plan.excluded and source_obj is not None
            else ""
        )
        self.guard.check(key, inferred=plan.inferred, vetoed_by=vetoed_by)
        log.info(
            "%s: deleting %s (source %s%s)",
            self.direction.value,
            action.key,
            key,
            f"; vetoed by plugin {vetoed_by}" if vetoed_by else "",
        )
        try:
            self._apply(action, before=live)
        except errors.ApiNotFound:
            pass
        except errors.ApiConflict:
            pass  # the UID precondition failed: a newer namesake, not ours to delete
        with self._lock:
            self._inferred_deletes.discard(key)

    def _create(
        self,
        plan: reconcileplan.ReconcilePlan,
        action: Create,
        *,
        key: ObjectKey,
        info: ResourceInfo,
        source_obj: RawObject | None,
        desired: RawObject,
    ) -> None:
        target = action.key
        namespace = plan.namespace
        if namespace is not None:
            self.namespaces.prepare(namespace)
        try:
            created = self._apply_create(action, namespace)
        except errors.ApiAlreadyExists:
            # Our own copy not yet in the cache (restart, cache lag), or a namesake: re-plan.
            existing = self.target_writer.get(target)
            if existing is None:
                raise errors.RetryableError("namesake vanished; retrying", delay=0.2) from None
            replan = self._plan(key, target, info, source_obj, desired, existing)
            if replan.conflict:
                raise errors.OwnershipConflict(replan.conflict) from None
            if replan.action is not None:
                self._apply(replan.action, before=None)
            return
        except errors.ApiNotFound as exc:
            if _missing_namespace(exc, target):
                self.namespaces.ensure(namespace or NamespacePrerequisite(name=target.namespace))
                raise errors.RetryableError(
                    f"created namespace {target.namespace}", delay=0.05
                ) from exc
            self.on_missing_api()
            raise errors.RetryableError(
                f"{target.gvr} is not served on the {self.target_side.value} side yet",
                delay=WAIT_FOR_API_SECONDS,
            ) from exc
        if plan.status_after_create is not None and isinstance(created, dict):
            status = reconcileplan.plan_upsync_status(
                side=self.target_side,
                target=target,
                source=source_obj,
                live=created,
                status_subresource=info.status_subresource,
            )
            if status is not None:
                self._apply(status)

    def _apply_create(self, action: Create, namespace: NamespacePrerequisite | None) -> Any:
        """Create; when the namespace is missing, make it and create again right away (the
        first object of a namespace would otherwise wait for a retry)."""
        try:
            return self._apply(action, before=None)
        except errors.ApiNotFound as exc:
            if not _missing_namespace(exc, action.key):
                raise
            self.namespaces.ensure(namespace or NamespacePrerequisite(name=action.key.namespace))
        return self._apply(action, before=None)

    def _apply(self, action: Action, before: Any = _NOT_TRACKED) -> Any:
        """Write ``action``; with ``before`` (the live object it was planned on, or None), the
        result is remembered until the cache catches up (``runtime.ownwrites``)."""
        outcome = self.hooks.apply_action(action=action, writer=self.target_writer)
        self.hooks.action_done(action=action, outcome=outcome)
        if before is not _NOT_TRACKED and not getattr(action, "subresource", ""):
            result = outcome if isinstance(outcome, dict) else None
            self._own_writes.wrote(action.key, before, result)
        return outcome

    def is_own_echo(self, target: ObjectKey, copy: RawObject) -> bool:
        """Whether ``copy`` is exactly what our last write to it returned (its watch echo):
        reconciling it again would only find nothing to do."""
        return self._own_writes.is_echo(target, copy)

    def _fresh_live(self, target: ObjectKey, cached: RawObject | None) -> RawObject | None:
        """The live copy: the cached one, unless the cache still shows a version our own
        writes replaced (a stale cache must not cause the same write twice)."""
        return self._own_writes.live(target, cached)
