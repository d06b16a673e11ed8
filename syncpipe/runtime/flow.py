"""One direction of object syncing: source objects → hook chain → owned copies on the target.

Downsync (upstream → downstream) and upsync (downstream → upstream) are the same machinery with
the sides swapped: a ``Flow`` holds the source informers (every object of a selected resource)
and the target informers (only the copies this syncer owns, by label selector), and its
``reconcile`` is level-triggered: it reads the current source object and the current owned
copy from the caches and decides what to write; the events that queued the key are not
consulted, so ten events for one object cost one reconcile.

Ownership rules (KubeStellar's, with its limitations fixed):
- only copies carrying this syncer's marks are updated or deleted; a namesake we did not create
  is reported as an ``OwnershipConflict`` and left alone (never adopted);
- downsync only: ``edge.kubestellar.io/downsync-overwrite: "false"`` on the upstream object
  means create once, then never update nor delete (the copy is marked ``"false"`` too, so the
  choice survives the upstream object's deletion); ``"true"``/absent: upstream is the truth;
- a copy is deleted when its source object is deleted or stops being selected; a downsynced
  Namespace only when the upstream Namespace itself is gone (deleting a namespace deletes
  everything in it, including what we do not own);
- a downsynced copy is never upsynced back (no ping-pong when selections overlap).

Each copy records where it came from in the annotation ``syncpipe.io/source``, so events on the
target side find their source key without parsing names (namespace mapping and renaturing may
rename both).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import attrs

from syncpipe import errors
from syncpipe.builtin import namespaces, ownership
from syncpipe.config.selection import Selection
from syncpipe.hooks import chain
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.manager import Hooks
from syncpipe.model.actions import Action, Create, Patch
from syncpipe.model.events import Direction, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import (
    RawObject,
    annotations_of,
    meta,
    resource_version_of,
)
from syncpipe.model.resources import NAMESPACE_GVR, GroupVersionResource, ResourceInfo
from syncpipe.runtime import routing
from syncpipe.runtime.safety import DeletionGuard
from syncpipe.runtime.safety import FightGuard as FightGuard
from syncpipe.runtime.statusreturn import RETURN_STATUS_ANNOTATION as RETURN_STATUS_ANNOTATION
from syncpipe.runtime.statusreturn import StatusReturn as StatusReturn
from syncpipe.sink import planner
from syncpipe.source.informer import EventSource

log = logging.getLogger(__name__)

# A create that needs an API not yet served on the target side is retried this soon.
WAIT_FOR_API_SECONDS = 1.0
# Caches that have not finished their first list yet are waited for this long per retry.
WAIT_FOR_CACHE_SECONDS = 0.05
# A namespace ensured within this many seconds is not created again by another worker.
NAMESPACE_RECHECK_SECONDS = 5.0


class Writer(Protocol):
    """The target side's object writer (``clients.writer.ClusterWriter`` or a memory store)."""

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


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


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
    _verified_namespaces: set[str] = attrs.field(factory=set)
    # Namespaces this flow made sure exist, and when: workers that all found one missing at
    # once create it once; one found missing again later (someone deleted it) is created anew.
    _created_namespaces: dict[str, float] = attrs.field(factory=dict)
    _namespace_locks: dict[str, threading.Lock] = attrs.field(factory=dict)
    # Per copy: (resourceVersion our last write replaced, what the server returned).
    _written: dict[ObjectKey, tuple[str | None, RawObject | None]] = attrs.field(factory=dict)
    fights: FightGuard = attrs.field(factory=FightGuard)
    _source_gvrs: dict[tuple[str, str], GroupVersionResource] = attrs.field(factory=dict)
    _contexts: chain.ResourceContexts = attrs.field(
        default=attrs.Factory(lambda self: chain.ResourceContexts(self.direction), takes_self=True)
    )
    # Guards the compound updates below (check-then-act over several entries). Single dict
    # and set operations are atomic in CPython and run on every event from every worker and
    # dispatcher, so they go without it: a contended lock there cost more than the reconcile.
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

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
        locator = annotations_of(copy).get(ownership.SOURCE_ANNOTATION)
        parsed = ownership.parse_source_locator(locator) if locator else None
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
        source = self.sources.get(key.gvr)
        source_obj: RawObject | None = None
        if source is not None and source.informer is not None:
            if not source.informer.has_synced():
                raise errors.RetryableError(
                    "source cache not synced yet", delay=WAIT_FOR_CACHE_SECONDS
                )
            source_obj = source.informer.store.get(key)
        info = source.info if source is not None else None
        ctx = self._contexts.get(self.ctx, info) if info else self.ctx
        desired: RawObject | None = None
        skip = self.upsync and source_obj is not None and self._is_our_downsynced_copy(source_obj)
        if source_obj is not None and not skip:
            desired = chain.desired_object(source_obj, key=key, hooks=self.hooks, ctx=ctx)
        if desired is not None:
            desired = ownership.with_source_locator(desired, ownership.source_locator(key))
            if info is not None:
                ignored = self.hooks.ignored_fields(info, self.direction)
                if ignored:
                    desired = chain.hands_off(desired, ignored)
        target, target_info = self._target_for(key, desired)
        if target is None or target_info is None:
            return  # nothing to reach on the target side, and nothing to clean up
        informer = self.resolver.target_informer(self.direction, target_info)
        if not informer.has_synced():
            raise errors.RetryableError("target cache not synced yet", delay=WAIT_FOR_CACHE_SECONDS)
        live = self._fresh_live(target, informer.store.get(target))
        if desired is None:
            self._maybe_delete(key, target, source_obj, live)
            return
        if live is None:
            self._create(target, desired, target_info)
            return
        if not self.upsync and not ownership.overwrite_enabled(source_obj):
            self._freeze(target, live)
            return
        action = planner.plan(side=self.target_side, key=target, desired=desired, live=live)
        if action is not None:
            self.fights.check(target, live, resource_version_of(source_obj or {}))
            self._apply(action, before=live)
        self._upsync_status(target, source_obj, live if action is None else None, target_info)

    def _is_our_downsynced_copy(self, obj: RawObject) -> bool:
        return ownership.is_owned(obj, syncer_name=self.ctx.syncer_name, upsynced=False)

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

    def _maybe_delete(
        self,
        key: ObjectKey,
        target: ObjectKey,
        source_obj: RawObject | None,
        live: RawObject | None,
    ) -> None:
        if live is None:
            with self._lock:
                self._target_of.pop(key, None)
                self._inferred_deletes.discard(key)
            return
        if not ownership.is_owned(live, syncer_name=self.ctx.syncer_name, upsynced=self.upsync):
            return
        if not self.upsync and not ownership.overwrite_enabled(live):
            return  # "create once, never delete"
        if target.gvr == NAMESPACE_GVR and (
            source_obj is not None or self.source_namespace_exists(key.name) is not False
        ):
            return  # de-selected, but the source Namespace exists (or may): keep it
        with self._lock:
            inferred = key in self._inferred_deletes
        vetoed_by = (
            chain.vetoed_by(source_obj, key=key, hooks=self.hooks, direction=self.direction)
            if source_obj is not None
            else ""
        )
        self.guard.check(key, inferred=inferred, vetoed_by=vetoed_by)
        action = planner.plan(side=self.target_side, key=target, desired=None, live=live)
        if action is not None:
            log.info("%s: deleting %s (source %s)", self.direction.value, target, key)
            try:
                self._apply(action, before=live)
            except errors.ApiNotFound:
                pass
            except errors.ApiConflict:
                pass  # the UID precondition failed: a newer namesake, not ours to delete
        with self._lock:
            self._inferred_deletes.discard(key)

    def _check_mapped_namespace(self, namespace: str) -> None:
        """Under a namespace mapping, objects only go into namespaces carrying our locator."""
        mapper = self.ctx.namespace_mapper
        if self.upsync or mapper is None or mapper.name == "identity":
            return
        with self._lock:
            if namespace in self._verified_namespaces:
                return
        existing = self.target_writer.get(ObjectKey(NAMESPACE_GVR, "", namespace))
        if existing is None:
            self._ensure_namespace(namespace)
        else:
            expected = mapper.upstream_namespace_for(namespace)
            found = annotations_of(existing).get(namespaces.UPSTREAM_NAMESPACE_ANNOTATION)
            if found is None or found != expected:
                raise errors.OwnershipConflict(
                    f"namespace {namespace} exists downstream without the locator of upstream "
                    f"namespace {expected!r}; refusing to put objects into it"
                )
        with self._lock:
            self._verified_namespaces.add(namespace)

    def _create(self, target: ObjectKey, desired: RawObject, info: ResourceInfo) -> None:
        if target.namespace:
            self._check_mapped_namespace(target.namespace)
        action = Create(side=self.target_side, key=target, body=planner.with_record(desired))
        try:
            created = self._apply_create(action)
        except errors.ApiAlreadyExists:
            existing = self.target_writer.get(target)
            if existing is None:
                raise errors.RetryableError("namesake vanished; retrying", delay=0.2) from None
            if ownership.is_owned(existing, syncer_name=self.ctx.syncer_name, upsynced=self.upsync):
                # Our own copy, not yet in the cache (restart, or cache lag): converge by patch.
                patch = planner.plan(
                    side=self.target_side, key=target, desired=desired, live=existing
                )
                if patch is not None:
                    self._apply(patch, before=None)
                return
            raise errors.OwnershipConflict(
                f"{target} exists on the {self.target_side.value} side and was not created by "
                f"syncer {self.ctx.syncer_name!r}; leaving it alone"
            ) from None
        except errors.ApiNotFound as exc:
            if _missing_namespace(exc, target):
                self._ensure_namespace(target.namespace)
                raise errors.RetryableError(
                    f"created namespace {target.namespace}", delay=0.05
                ) from exc
            self.on_missing_api()
            raise errors.RetryableError(
                f"{target.gvr} is not served on the {self.target_side.value} side yet",
                delay=WAIT_FOR_API_SECONDS,
            ) from exc
        if self.upsync and created is not None:
            self._upsync_status(target, None, created, info)

    def _apply_create(self, action: Create) -> Any:
        """Create; when the namespace is missing, make it and create again right away (the
        first object of a namespace would otherwise wait for a retry)."""
        try:
            return self._apply(action, before=None)
        except errors.ApiNotFound as exc:
            if not _missing_namespace(exc, action.key):
                raise
            self._ensure_namespace(action.key.namespace)
        return self._apply(action, before=None)

    def _upsync_status(
        self,
        target: ObjectKey,
        source_obj: RawObject | None,
        live: RawObject | None,
        info: ResourceInfo,
    ) -> None:
        """Upsync carries status too: the source's ``.status`` onto the upstream copy."""
        if not self.upsync or live is None:
            return
        if source_obj is None:
            locator = annotations_of(live).get(ownership.SOURCE_ANNOTATION, "")
            parsed = ownership.parse_source_locator(locator)
            if parsed is None:
                return
            group, resource, namespace, name = parsed
            for gvr, state in self.sources.items():
                if gvr.group == group and gvr.resource == resource and state.informer:
                    source_obj = state.informer.store.get(ObjectKey(gvr, namespace, name))
            if source_obj is None:
                return
        status = source_obj.get("status")
        action = planner.plan_status(
            side=self.target_side, key=target, desired_status=status, live=live
        )
        if action is None:
            return
        if not info.status_subresource:
            action = attrs.evolve(action, subresource="")
        self._apply(action)

    def _ensure_namespace(self, namespace: str) -> None:
        """Create a missing target namespace, bare and marked ours.

        Downstream under a namespace mapping the namespace also carries the locator of its
        upstream namespace, and an existing namesake without that locator is a collision: it is
        reported, never adopted. Otherwise an existing namespace is used as it is.
        """
        with self._lock:
            namespace_lock = self._namespace_locks.setdefault(namespace, threading.Lock())
        with namespace_lock:  # one create per namespace, not one per waiting worker
            self._ensure_namespace_locked(namespace)

    def _ensure_namespace_locked(self, namespace: str) -> None:
        ns_key = ObjectKey(NAMESPACE_GVR, "", namespace)
        with self._lock:
            created = self._created_namespaces.get(namespace)
            if created is not None and time.monotonic() - created < NAMESPACE_RECHECK_SECONDS:
                return
        body: RawObject = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        mapper = self.ctx.namespace_mapper
        mapped = not self.upsync and mapper is not None and mapper.name != "identity"
        upstream_ns = mapper.upstream_namespace_for(namespace) if mapped else None
        if mapped and upstream_ns:
            locator = {namespaces.UPSTREAM_NAMESPACE_ANNOTATION: upstream_ns}
            body["metadata"]["annotations"] = locator
        mark = ownership.mark_upsynced if self.upsync else ownership.mark_downsynced
        body = mark(body, self.ctx)
        action = Create(side=self.target_side, key=ns_key, body=planner.with_record(body))
        try:
            self._apply(action)
            log.info("%s: created namespace %s", self.direction.value, namespace)
            with self._lock:
                self._created_namespaces[namespace] = time.monotonic()
        except errors.ApiAlreadyExists:
            if not mapped:
                with self._lock:
                    self._created_namespaces[namespace] = time.monotonic()
                return
            existing = self.target_writer.get(ns_key) or {}
            found = annotations_of(existing).get(namespaces.UPSTREAM_NAMESPACE_ANNOTATION)
            if found != upstream_ns:
                raise errors.OwnershipConflict(
                    f"namespace {namespace} exists downstream without the locator of upstream "
                    f"namespace {upstream_ns!r}; refusing to adopt it"
                ) from None

    def _freeze(self, target: ObjectKey, live: RawObject) -> None:
        """Overwrite off upstream: only make sure the copy says so too (then leave it be)."""
        if annotations_of(live).get(ownership.OVERWRITE_ANNOTATION) == "false":
            return
        ops: list[dict[str, Any]]
        if "annotations" in meta(live):
            path = f"/metadata/annotations/{_escape(ownership.OVERWRITE_ANNOTATION)}"
            ops = [{"op": "add", "path": path, "value": "false"}]
        else:
            value = {ownership.OVERWRITE_ANNOTATION: "false"}
            ops = [{"op": "add", "path": "/metadata/annotations", "value": value}]
        self._apply(Patch(side=self.target_side, key=target, ops=ops), before=live)

    def _apply(self, action: Action, before: Any = _NOT_TRACKED) -> Any:
        """Write ``action``; with ``before`` (the live object it was planned on, or None), the
        result is remembered until the cache catches up (see ``_fresh_live``)."""
        outcome = self.hooks.apply_action(action=action, writer=self.target_writer)
        self.hooks.action_done(action=action, outcome=outcome)
        if before is not _NOT_TRACKED and not getattr(action, "subresource", ""):
            before_version = resource_version_of(before) if before is not None else None
            result = outcome if isinstance(outcome, dict) else None
            self._written[action.key] = (before_version, result)
        return outcome

    def is_own_echo(self, target: ObjectKey, copy: RawObject) -> bool:
        """Whether ``copy`` is exactly what our last write to it returned (its watch echo):
        reconciling it again would only find nothing to do."""
        written = self._written.get(target)
        if written is None or written[1] is None:
            return False
        version = resource_version_of(copy)
        return bool(version) and version == resource_version_of(written[1])

    def _fresh_live(self, target: ObjectKey, cached: RawObject | None) -> RawObject | None:
        """The live copy: the cached one, unless the cache still shows what our last write
        replaced, in which case that write's result (a stale cache must not cause the same
        write twice). Only the worker holding ``target``'s key changes its entry."""
        written = self._written.get(target)
        if written is None:
            return cached
        before_version, result = written
        cached_version = resource_version_of(cached) if cached is not None else None
        if cached_version == before_version:
            return result
        self._written.pop(target, None)
        return cached
