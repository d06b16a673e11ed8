"""Run the hook chain for one object: select, then the ordered transforms. Pure: no I/O.

This is what the live controllers and the offline replay both call, so both decide alike.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import attrs

from syncpipe import errors
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.manager import Hooks
from syncpipe.hooks.transforms import Transform, TransformStep, transform_steps
from syncpipe.model.events import Direction
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import GroupVersionResource, ResourceInfo


def run_transforms(
    obj: RawObject,
    *,
    key: ObjectKey,
    transforms: Iterable[Transform],
    ctx: SyncContext,
) -> RawObject:
    """Apply each applicable transform: ``forward`` going down, ``reverse`` going up, in the
    order of ``hooks.transforms.transform_steps``."""
    steps = transform_steps(transforms, resource=ctx.resource, upward=ctx.direction is Direction.UP)
    return run_steps(obj, key=key, steps=steps, ctx=ctx)


def run_steps(
    obj: RawObject, *, key: ObjectKey, steps: Iterable[TransformStep], ctx: SyncContext
) -> RawObject:
    """Apply ``steps`` in order. A transform that raises is reported as a ``TransformError``
    naming it and its plugin."""
    for transform, fn in steps:
        try:
            obj = fn(obj, ctx)
        except Exception as exc:
            raise _failure(transform, key, str(exc) or type(exc).__name__) from exc
    return obj


def return_status(
    status: dict[str, Any],
    *,
    key: ObjectKey,
    transforms: Iterable[Transform],
    ctx: SyncContext,
) -> dict[str, Any]:
    """The status to write on source object ``key`` for the ``status`` a copy reports.

    Runs each applicable transform's ``status`` function, in the reverse of the forward
    order (the last step on the way down is the first undone on the way back). Without any,
    ``status`` itself is returned (no copy: the common case costs nothing); otherwise the
    first transform gets a deep copy, so the copy's cached status is never touched. A
    transform that raises, or returns anything but a dict, is reported as a
    ``TransformError`` naming it, its plugin and ``key``.
    """
    resource = ctx.resource
    steps = [
        (t, fn)
        for t in reversed(tuple(transforms))
        if (fn := t.status) is not None and (resource is None or t.applies_to(resource))
    ]
    if not steps:
        return status
    result = copy.deepcopy(status)
    for transform, fn in steps:
        try:
            returned: object = fn(result, ctx)  # plugins' code: checked, not trusted
        except Exception as exc:
            raise _failure(transform, key, str(exc) or type(exc).__name__) from exc
        if not isinstance(returned, dict):
            kind = type(returned).__name__
            raise _failure(transform, key, f"its status function returned {kind}, not a dict")
        result = returned
    return result


def _failure(transform: Transform, key: ObjectKey, message: str) -> errors.TransformError:
    return errors.TransformError(
        message, plugin=transform.plugin, transform=transform.name, key=key
    )


# How the plugin manager names the built-in plugins (``hooks.manager.build``).
BUILTIN_PLUGIN_PREFIX = "builtin."


def vetoed_by(obj: RawObject, *, key: ObjectKey, hooks: Hooks, direction: Direction) -> str:
    """The plugin(s) whose ``syncpipe_select`` veto alone excludes ``obj``, comma-separated;
    ``""`` when the built-in selection (the SyncerConfigs) does not select it either.

    Asked only about an object the chain excluded and whose copy would be deleted (so never
    on the hot path): a veto's deletions go through the deletion circuit breaker, a
    de-selection by the configs does not. Every call goes through pluggy (its wrappers and
    tracing apply), each on a subset of the implementations.
    """
    pm = hooks.pm
    caller = pm.hook.syncpipe_select
    kwargs = {"key": key, "obj": obj, "direction": direction, "ctx": hooks.ctx}
    impls = caller.get_hookimpls()
    third_party = [i for i in impls if not i.plugin_name.startswith(BUILTIN_PLUGIN_PREFIX)]
    if not third_party:
        return ""
    builtin_opinions = pm.subset_hook_caller(
        caller.name, remove_plugins=[i.plugin for i in third_party]
    )(**kwargs)
    if False in builtin_opinions or True not in builtin_opinions:
        return ""
    vetoes = []
    for impl in third_party:
        others = [i.plugin for i in impls if i is not impl]
        if False in pm.subset_hook_caller(caller.name, remove_plugins=others)(**kwargs):
            vetoes.append(impl.plugin_name)
    return ", ".join(sorted(vetoes))


@attrs.define(eq=False)
class ResourceContexts:
    """The hook context per resource in one direction, derived once from the base context
    (and again only when the base context or the resource's discovery info changes)."""

    direction: Direction
    _cache: dict[GroupVersionResource, tuple[SyncContext, SyncContext]] = attrs.field(factory=dict)

    def get(self, base: SyncContext, info: ResourceInfo) -> SyncContext:
        cached = self._cache.get(info.gvr)
        if cached is not None and cached[0] is base and cached[1].resource is info:
            return cached[1]
        derived = base.for_resource(info, self.direction)
        self._cache[info.gvr] = (base, derived)
        return derived


def hands_off(obj: RawObject, pointers: tuple[str, ...]) -> RawObject:
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


def desired_object(
    obj: RawObject | None, *, key: ObjectKey, hooks: Hooks, ctx: SyncContext
) -> RawObject | None:
    """What the target side should hold for source object ``obj`` (``None``: nothing)."""
    if obj is None:
        return None
    if not hooks.select(key=key, obj=obj, direction=ctx.direction):
        return None
    steps = hooks.transform_steps(ctx.resource, ctx.direction)
    return run_steps(obj, key=key, steps=steps, ctx=ctx)
