"""Run the hook chain for one object: select, then the ordered transforms. Pure: no I/O.

This is what the live controllers and the offline replay both call, so both decide alike.
"""

from __future__ import annotations

from collections.abc import Iterable

from syncpipe import errors
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.manager import Hooks
from syncpipe.hooks.transforms import Phase, Transform
from syncpipe.model.events import Direction
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject


def run_transforms(
    obj: RawObject,
    *,
    key: ObjectKey,
    transforms: Iterable[Transform],
    ctx: SyncContext,
) -> RawObject:
    """Apply each applicable transform: ``forward`` going down, ``reverse`` going up.

    Going up, the phases between stripping and ownership run in reverse order (custom, then
    namespace, then renature), so each undoes its own step of the way down; stripping still
    comes first and the ownership mark last, since both describe the target side.
    A transform that raises is reported as a ``TransformError`` naming it and its plugin.
    """
    chain = list(transforms)
    if ctx.direction is Direction.UP:
        chain.sort(key=_upward_rank)
    resource = ctx.resource
    for transform in chain:
        if resource is not None and not transform.applies_to(resource):
            continue
        fn = transform.forward if ctx.direction is Direction.DOWN else transform.reverse
        if fn is None:
            continue
        try:
            obj = fn(obj, ctx)
        except Exception as exc:
            raise errors.TransformError(
                str(exc) or type(exc).__name__,
                plugin=transform.plugin,
                transform=transform.name,
                key=key,
            ) from exc
    return obj


def _upward_rank(transform: Transform) -> int:
    if transform.phase in (Phase.STRIP, Phase.OWNERSHIP):
        return int(transform.phase)
    return Phase.OWNERSHIP - int(transform.phase)


def desired_object(
    obj: RawObject | None, *, key: ObjectKey, hooks: Hooks, ctx: SyncContext
) -> RawObject | None:
    """What the target side should hold for source object ``obj`` (``None``: nothing)."""
    if obj is None:
        return None
    if not hooks.select(key=key, obj=obj, direction=ctx.direction):
        return None
    return run_transforms(obj, key=key, transforms=hooks.transforms(), ctx=ctx)
