"""Downsync and status return: the reconcile functions for one upstream object key.

Both are level-triggered: they read the current upstream object and the current owned
downstream copy from the informer caches and decide what to write; the events that queued the
key are not consulted, so ten events for one object cost one reconcile.

Ownership rules (KubeStellar's, with its limitations fixed):
- only copies carrying this syncer's marks are updated or deleted; a namesake we did not
  create is reported as an ``OwnershipConflict`` and left alone;
- ``edge.kubestellar.io/downsync-overwrite: "false"`` on the upstream object: create once, then
  never update nor delete (the copy is marked ``"false"`` so the choice survives the upstream
  object's deletion); ``"true"``/absent: upstream is the truth;
- a copy is deleted when its upstream object is deleted or stops being selected; Namespaces
  only when the upstream Namespace itself is gone (deleting a namespace deletes everything in
  it, including what we do not own).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

import attrs

from syncpipe import errors
from syncpipe.builtin import ownership
from syncpipe.hooks import chain
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.manager import Hooks
from syncpipe.model.actions import Action, Create, Patch
from syncpipe.model.events import Direction, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject, annotations_of, meta
from syncpipe.model.resources import NAMESPACE_GVR, ResourceInfo
from syncpipe.runtime.safety import DeletionGuard
from syncpipe.sink import planner
from syncpipe.source.informer import Informer

log = logging.getLogger(__name__)

RETURN_STATUS_ANNOTATION = "edge.kubestellar.io/return-status"
# A create that needs a CRD not yet served downstream is retried this soon.
WAIT_FOR_API_SECONDS = 1.0


@attrs.define(eq=False)
class ResourceState:
    """Everything the controllers know about one synced resource."""

    upstream_info: ResourceInfo | None
    downstream_info: ResourceInfo | None = None
    upstream: Informer | None = None
    downstream: Informer | None = None  # owned copies only (label selector)


class Writer(Protocol):
    """The side's object writer (``clients.writer.ClusterWriter``, or replay's memstore)."""

    def apply(self, action: Action) -> RawObject | None: ...

    def get(self, key: ObjectKey) -> RawObject | None: ...


def _hands_off(obj: RawObject, pointers: tuple[str, ...]) -> RawObject:
    """A copy of ``obj`` with ``null`` at each pointer: the sink neither sets nor removes it.

    ``null`` in a desired object means "not ours" to the three-way diff, so a field that was
    owned before (say ``/spec/replicas`` before an HPA took over) is disowned and left alone.
    Only the touched path is copied.
    """
    for pointer in pointers:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
        if parts:
            obj = _set_null(obj, parts)
    return obj


def _set_null(node: Any, parts: list[str]) -> Any:
    if not isinstance(node, dict):
        return node
    head = parts[0]
    if len(parts) == 1:
        return {**node, head: None}
    return {**node, head: _set_null(node.get(head, {}), parts[1:])}


@attrs.define(eq=False)
class DownsyncReconciler:
    """Makes the owned downstream copy of one upstream object match it."""

    hooks: Hooks
    resources: Callable[[], dict[Any, ResourceState]]
    downstream_writer: Writer
    guard: DeletionGuard
    downstream_namespace_for: Callable[[str], str]
    on_missing_api: Callable[[], None] = lambda: None
    inferred_deletes: set[ObjectKey] = attrs.field(factory=set)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    @property
    def ctx(self) -> SyncContext:
        return self.hooks.ctx

    def target_key(self, key: ObjectKey, state: ResourceState) -> ObjectKey:
        gvr = state.downstream_info.gvr if state.downstream_info else key.gvr
        namespace = self.downstream_namespace_for(key.namespace) if key.namespace else ""
        return ObjectKey(gvr, namespace, key.name)

    def note_inferred_delete(self, key: ObjectKey, inferred: bool) -> None:
        with self._lock:
            if inferred:
                self.inferred_deletes.add(key)
            else:
                self.inferred_deletes.discard(key)

    def reconcile(self, key: ObjectKey) -> None:
        state = self.resources().get(key.gvr)
        if state is None:
            return
        upstream_obj: RawObject | None = None
        if state.upstream is not None:
            if not state.upstream.has_synced():
                raise errors.RetryableError("upstream cache not synced yet", delay=1.0)
            upstream_obj = state.upstream.store.get(key)
        target = self.target_key(key, state)
        live = state.downstream.store.get(target) if state.downstream is not None else None
        if state.downstream is not None and not state.downstream.has_synced():
            raise errors.RetryableError("downstream cache not synced yet", delay=1.0)
        info = state.upstream_info or state.downstream_info
        ctx = self.ctx.for_resource(info, Direction.DOWN) if info else self.ctx
        desired = chain.desired_object(upstream_obj, key=key, hooks=self.hooks, ctx=ctx)
        if desired is not None and info is not None:
            ignored = self.hooks.ignored_fields(info, Direction.DOWN)
            if ignored:
                desired = _hands_off(desired, ignored)
        if desired is None:
            self._maybe_delete(key, target, upstream_obj, live)
            return
        if live is None:
            self._create(key, target, desired)
            return
        if not ownership.overwrite_enabled(upstream_obj):
            self._freeze(target, live)
            return
        action = planner.plan(side=Side.DOWNSTREAM, key=target, desired=desired, live=live)
        if action is not None:
            self._apply(action)

    def _maybe_delete(
        self,
        key: ObjectKey,
        target: ObjectKey,
        upstream_obj: RawObject | None,
        live: RawObject | None,
    ) -> None:
        if live is None:
            return
        if not ownership.overwrite_enabled(live):
            return  # "create once, never delete"
        if target.gvr == NAMESPACE_GVR and upstream_obj is not None:
            return  # de-selected, but the upstream Namespace exists: keep it
        with self._lock:
            inferred = key in self.inferred_deletes
        self.guard.check(key, inferred=inferred)
        action = planner.plan(side=Side.DOWNSTREAM, key=target, desired=None, live=live)
        if action is not None:
            log.info("downsync: deleting %s (upstream %s)", target, key)
            try:
                self._apply(action)
            except errors.ApiNotFound:
                pass
            except errors.ApiConflict:
                pass  # the UID precondition failed: a newer namesake, not ours to delete
        with self._lock:
            self.inferred_deletes.discard(key)

    def _create(self, key: ObjectKey, target: ObjectKey, desired: RawObject) -> None:
        action = Create(side=Side.DOWNSTREAM, key=target, body=planner.with_record(desired))
        try:
            self._apply(action)
            return
        except errors.ApiAlreadyExists:
            existing = self.downstream_writer.get(target)
            if existing is None:
                raise errors.RetryableError("namesake vanished; retrying", delay=0.2) from None
            if ownership.is_owned(existing, syncer_name=self.ctx.syncer_name):
                # Our own copy, not yet in the cache (restart, or cache lag): converge by patch.
                patch = planner.plan(
                    side=Side.DOWNSTREAM, key=target, desired=desired, live=existing
                )
                if patch is not None:
                    self._apply(patch)
                return
            raise errors.OwnershipConflict(
                f"{target} exists downstream and was not created by syncer "
                f"{self.ctx.syncer_name!r}; leaving it alone"
            ) from None
        except errors.ApiNotFound as exc:
            if target.namespace and (exc.details or {}).get("kind") == "namespaces":
                self._ensure_namespace(target.namespace)
                raise errors.RetryableError(
                    f"created namespace {target.namespace}", delay=0.05
                ) from exc
            self.on_missing_api()
            raise errors.RetryableError(
                f"{target.gvr} is not served downstream yet (waiting for its CRD)",
                delay=WAIT_FOR_API_SECONDS,
            ) from exc

    def _ensure_namespace(self, namespace: str) -> None:
        body: RawObject = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        body = ownership.mark_downsynced(body, self.ctx)
        ns_key = ObjectKey(NAMESPACE_GVR, "", namespace)
        action = Create(side=Side.DOWNSTREAM, key=ns_key, body=planner.with_record(body))
        try:
            self._apply(action)
            log.info("downsync: created namespace %s", namespace)
        except errors.ApiAlreadyExists:
            pass

    def _freeze(self, target: ObjectKey, live: RawObject) -> None:
        """Overwrite off upstream: only make sure the copy says so too (then leave it be)."""
        if annotations_of(live).get(ownership.OVERWRITE_ANNOTATION) == "false":
            return
        ops: list[dict[str, Any]]
        escaped = ownership.OVERWRITE_ANNOTATION.replace("~", "~0").replace("/", "~1")
        if "annotations" in meta(live):
            ops = [{"op": "add", "path": f"/metadata/annotations/{escaped}", "value": "false"}]
        else:
            ops = [
                {
                    "op": "add",
                    "path": "/metadata/annotations",
                    "value": {ownership.OVERWRITE_ANNOTATION: "false"},
                }
            ]
        self._apply(Patch(side=Side.DOWNSTREAM, key=target, ops=ops))

    def _apply(self, action: Action) -> None:
        outcome = self.hooks.apply_action(action=action, writer=self.downstream_writer)
        self.hooks.action_done(action=action, outcome=outcome)


@attrs.define(eq=False)
class StatusReconciler:
    """Returns the ``.status`` of an owned downstream copy to its upstream object."""

    hooks: Hooks
    resources: Callable[[], dict[Any, ResourceState]]
    upstream_writer: Writer
    target_key: Callable[[ObjectKey, ResourceState], ObjectKey]

    @property
    def ctx(self) -> SyncContext:
        return self.hooks.ctx

    def reconcile(self, key: ObjectKey) -> None:
        state = self.resources().get(key.gvr)
        if state is None or state.upstream is None or state.downstream is None:
            return
        upstream_obj = state.upstream.store.get(key)
        live_copy = state.downstream.store.get(self.target_key(key, state))
        if upstream_obj is None or live_copy is None:
            return
        if not ownership.is_owned(live_copy, syncer_name=self.ctx.syncer_name):
            return
        if annotations_of(upstream_obj).get(RETURN_STATUS_ANNOTATION) == "false":
            return
        status = live_copy.get("status")
        if status is None:
            return
        action = planner.plan_status(
            side=Side.UPSTREAM, key=key, desired_status=status, live=upstream_obj
        )
        if action is None:
            return
        info = state.upstream_info
        if info is not None and not info.status_subresource:
            # No /status subresource: patch the main resource, touching only .status.
            action = attrs.evolve(action, subresource="")
        outcome = self.hooks.apply_action(action=action, writer=self.upstream_writer)
        self.hooks.action_done(action=action, outcome=outcome)
