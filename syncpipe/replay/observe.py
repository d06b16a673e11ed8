"""Observe the transforms at work: each one's effect on an object (or a status) as a diff.

``syncpipe explain`` shows what every transform did. Rather than re-implementing the chain's
order and rules, it runs the chain itself (``hooks.chain.run_transforms`` and
``return_status``) over transforms wrapped to record their input and output, and diffs the two
with ``deepdiff``: whatever order, applicability and error rules the chain has, the
observation follows them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import attrs
from deepdiff import DeepDiff

from syncpipe import errors
from syncpipe.builtin import ownership
from syncpipe.builtin.ownership import source_locator
from syncpipe.hooks.chain import return_status, run_transforms
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.manager import Hooks
from syncpipe.hooks.transforms import Transform
from syncpipe.model.events import Direction
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import ResourceInfo

LOCATOR_STEP = "source-locator"
"""The step after the transforms that marks the copy with its source (``syncpipe.io/source``)."""


@attrs.frozen(kw_only=True)
class Change:
    """One difference a transform made: ``path`` a JSON Pointer, ``change`` ``added``,
    ``removed`` or ``changed``."""

    path: str
    change: str
    before: Any = None
    after: Any = None


@attrs.frozen(kw_only=True)
class TransformStep:
    """One transform that ran on the object: its name, plugin, phase and what it changed
    (``error``: the message it failed with; the chain stopped there)."""

    name: str
    plugin: str
    phase: str
    changes: tuple[Change, ...] = ()
    error: str = ""


def diff(before: RawObject, after: RawObject) -> tuple[Change, ...]:
    """What changed from ``before`` to ``after``, one ``Change`` per JSON Pointer, sorted."""
    changes: list[Change] = []
    tree = DeepDiff(before, after, view="tree", verbose_level=2)
    for levels in tree.values():
        for level in levels:
            pointer = "".join(
                "/" + str(part).replace("~", "~0").replace("/", "~1")
                for part in level.path(output_format="list")
            )
            added = _absent(level.t1)
            removed = _absent(level.t2)
            changes.append(
                Change(
                    path=pointer,
                    change="added" if added else "removed" if removed else "changed",
                    before=None if added else level.t1,
                    after=None if removed else level.t2,
                )
            )
    return tuple(sorted(changes, key=lambda c: c.path))


def _absent(value: Any) -> bool:
    return type(value).__name__ == "NotPresent"


def _observed(transform: Transform, steps: list[TransformStep], *, prefix: str = "") -> Transform:
    """``transform``, wrapped to record what each of its functions did (``prefix``: the
    JSON Pointer of what they are given within the object, ``/status`` for status)."""

    def watch(fn: Callable[[RawObject, SyncContext], RawObject] | None) -> Any:
        if fn is None:
            return None

        def observed(obj: RawObject, ctx: SyncContext) -> RawObject:
            step = TransformStep(
                name=transform.name, plugin=transform.plugin, phase=transform.phase.name.lower()
            )
            try:
                result = fn(obj, ctx)
            except Exception as exc:
                steps.append(attrs.evolve(step, error=str(exc) or type(exc).__name__))
                raise
            steps.append(attrs.evolve(step, changes=diff(obj, result)))
            return result

        return observed

    return attrs.evolve(
        transform, forward=watch(transform.forward), reverse=watch(transform.reverse)
    )


def transform_steps(
    hooks: Hooks, ctx: SyncContext, key: ObjectKey, obj: RawObject
) -> tuple[tuple[TransformStep, ...], RawObject | None]:
    """Each transform's effect in run order, and the desired object (``None`` if one failed)."""
    steps: list[TransformStep] = []
    observed = [_observed(t, steps) for t in hooks.transforms()]
    try:
        desired = run_transforms(obj, key=key, transforms=observed, ctx=ctx)
    except errors.TransformError:
        return tuple(steps), None
    located = ownership.with_source_locator(desired, source_locator(key))
    steps.append(
        TransformStep(
            name=LOCATOR_STEP, plugin="syncpipe", phase="ownership", changes=diff(desired, located)
        )
    )
    return tuple(steps), located


def status_steps(
    hooks: Hooks, info: ResourceInfo, key: ObjectKey, copy: RawObject | None
) -> tuple[TransformStep, ...]:
    """Each status transform's effect on the status ``copy`` reports, in run order."""
    status = (copy or {}).get("status")
    if not isinstance(status, dict):
        return ()
    steps: list[TransformStep] = []
    observed = [_observed(t, steps, prefix="/status") for t in hooks.transforms()]
    ctx = hooks.ctx.for_resource(info, Direction.UP)
    with contextlib.suppress(errors.TransformError):  # the failing step carries its message
        return_status(status, key=key, transforms=observed, ctx=ctx)
    return tuple(steps)
