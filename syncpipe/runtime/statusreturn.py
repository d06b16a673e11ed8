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

from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from syncpipe import errors
from syncpipe.hooks import chain
from syncpipe.model.events import Direction, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.runtime.flow import WAIT_FOR_API_SECONDS, WAIT_FOR_CACHE_SECONDS
from syncpipe.runtime.routing import SERVER_OWNED_STATUS
from syncpipe.sink import reconcileplan

if TYPE_CHECKING:
    from syncpipe.runtime.flow import Flow, Writer


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

    def reconcile(self, key: ObjectKey) -> None:
        flow = self.flow
        source = flow.sources.get(key.gvr)
        if source is None or source.informer is None:
            return  # not selected (any more): nothing to return the status to
        # "Not known yet" is retried, never taken for "nothing to do": only a later change
        # of the copy's status would queue the key again, and a settled copy has none.
        if not source.informer.has_synced():
            raise errors.RetryableError(
                "upstream cache not synced yet", delay=WAIT_FOR_CACHE_SECONDS
            )
        upstream_obj = source.informer.store.get(key)
        target, info = flow.known_target(key)
        copy = None
        if target is not None:
            if info is None:  # the copy's resource is not (yet) in the downstream's discovery
                raise errors.RetryableError(
                    f"{target.gvr} is not served downstream yet", delay=WAIT_FOR_API_SECONDS
                )
            copy = flow.resolver.target_informer(flow.direction, info).store.get(target)
        if copy is None or upstream_obj is None:
            return  # nothing to return, or nowhere to (the planner's reasons, asked no further)
        ctx = flow.hooks.ctx
        blocked = reconcileplan.status_return_blocked(
            key=key,
            kind=source.info.kind,
            upstream_obj=upstream_obj,
            copy=copy,
            selection=ctx.selection,
            configs_off=self.configs_without_status(),
            syncer_name=ctx.syncer_name,
            server_owned=key.gvr.group_resource in SERVER_OWNED_STATUS,
        )
        if blocked is not None:
            return
        status = copy.get("status")
        if isinstance(status, dict):
            status = chain.return_status(
                status,
                key=key,
                transforms=flow.hooks.transforms(),
                ctx=self._contexts.get(ctx, source.info),
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
