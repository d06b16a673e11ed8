"""Status return: the ``.status`` of downsynced copies back onto their upstream objects.

Keyed by the upstream (source) key like the downsync flow; a burst of status changes is paced
by ``runtime.statuspacing`` (a quiet object's change at once, later ones folded), so the
upstream gets at most one write per settle window.

The status written is the copy's, shaped by the plugins' status transforms
(``Transform.status``, in the reverse of the forward order, see ``hooks.chain.return_status``)
and then diffed against the upstream object's status, so a deterministic transform writes
nothing at rest. A transform that raises rejects the object (``TransformError``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import attrs

from syncpipe.builtin import ownership
from syncpipe.hooks import chain
from syncpipe.model.events import Direction, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import annotations_of, labels_of
from syncpipe.runtime.routing import SERVER_OWNED_STATUS
from syncpipe.sink import reconcileplan

if TYPE_CHECKING:  # the flow re-exports this module's names (until its importers move)
    from syncpipe.runtime.flow import Flow, Writer

RETURN_STATUS_ANNOTATION = "edge.kubestellar.io/return-status"


@attrs.define(eq=False)
class StatusReturn:
    """Returns the ``.status`` of downsynced copies to their upstream objects.

    Off per object with ``edge.kubestellar.io/return-status: "false"`` on the upstream object,
    and per SyncerConfig with the same annotation on the config (an object selected only by
    such configs returns no status). Where the upstream resource has no ``/status`` subresource
    the main resource is patched, touching only ``/status``. Never for ``SERVER_OWNED_STATUS``.
    """

    flow: Flow
    upstream_writer: Writer
    # Refs (``SyncerConfig/<name>``) of configs that turned status return off.
    configs_without_status: Callable[[], frozenset[str]] = lambda: frozenset()
    # The status transforms' context per upstream resource: status goes up.
    _contexts: chain.ResourceContexts = attrs.field(
        factory=lambda: chain.ResourceContexts(Direction.UP)
    )

    def _off_by_config(self, key: ObjectKey, kind: str, labels: Mapping[str, str]) -> bool:
        off = self.configs_without_status()
        if not off:
            return False
        selection = self.flow.ctx.selection
        reasons = selection.downsync_reasons(
            key.gvr, key.namespace, key.name, kind=kind, labels=labels
        )
        return bool(reasons) and reasons <= off

    def reconcile(self, key: ObjectKey) -> None:
        if key.gvr.group_resource in SERVER_OWNED_STATUS:
            return
        flow = self.flow
        source = flow.sources.get(key.gvr)
        if source is None or source.informer is None or not source.informer.has_synced():
            return
        upstream_obj = source.informer.store.get(key)
        if upstream_obj is None:
            return
        if annotations_of(upstream_obj).get(RETURN_STATUS_ANNOTATION) == "false":
            return
        if self._off_by_config(key, source.info.kind, labels_of(upstream_obj)):
            return
        target, info = flow.known_target(key)
        if target is None or info is None:
            return
        informer = flow.resolver.target_informer(flow.direction, info)
        copy = informer.store.get(target)
        if copy is None or not ownership.is_owned(copy, syncer_name=flow.ctx.syncer_name):
            return
        status = copy.get("status")
        if isinstance(status, dict):
            status = chain.return_status(
                status,
                key=key,
                transforms=flow.hooks.transforms(),
                ctx=self._contexts.get(flow.ctx, source.info),
            )
        action = reconcileplan.plan_status_write(
            side=Side.UPSTREAM,
            target=key,
            status=status,
            live=upstream_obj,
            status_subresource=source.info.status_subresource,
        )
        if action is None:
            return
        outcome = flow.hooks.apply_action(action=action, writer=self.upstream_writer)
        flow.hooks.action_done(action=action, outcome=outcome)
