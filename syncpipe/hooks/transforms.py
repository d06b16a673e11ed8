"""Named transforms: what plugins register so the host can order and name them.

Order-sensitive work never relies on pluggy's call order: each plugin registers ``Transform``
objects through ``syncpipe_register_transforms``; the host sorts them by ``(phase, name)`` and
calls them itself, so every error names the transform that failed and replays are
deterministic. (``Settings.transform_order`` can place names first within a phase; it is
internal, no flag sets it: a plugin picks its place with ``phase``.)
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs

from syncpipe.model.objects import RawObject
from syncpipe.model.resources import ResourceInfo

if TYPE_CHECKING:
    from syncpipe.hooks.context import SyncContext


class Phase(enum.IntEnum):
    """When a transform runs on the way down (the reverse order on the way up)."""

    STRIP = 10  # remove server-populated fields
    RENATURE = 20  # denatured upstream form -> live form
    NAMESPACE = 30  # namespace mapping
    CUSTOM = 50  # third-party transforms by default
    OWNERSHIP = 90  # ownership marks: last, so nothing strips them


TransformFn = Callable[[RawObject, "SyncContext"], RawObject]
# A status transform: the ``.status`` a copy reports -> the status to write on its source.
StatusTransformFn = Callable[[dict[str, Any], "SyncContext"], dict[str, Any]]


def every_resource(_resource: ResourceInfo) -> bool:
    return True


@attrs.frozen(kw_only=True)
class Transform:
    """One named, optionally reversible object transformation.

    When each function runs, only for resources ``applies_to`` accepts:

    * ``forward`` on downsync (upstream object -> desired downstream copy), in run order;
    * ``reverse`` on upsync (downstream object -> desired upstream copy), undoing the way down;
    * ``status`` on status return (the ``.status`` a downsynced copy reports -> the status
      written on its upstream object), in the reverse of the forward order. It receives a
      copy of that status and a context whose ``direction`` is ``Direction.UP`` and whose
      ``resource`` is the upstream resource. It must be deterministic: the result is diffed
      against the upstream object's status, so the same input must give the same output or
      the syncer would write at rest.

    All of them return a new dict and never modify their input.
    """

    name: str = attrs.field(validator=attrs.validators.matches_re(r"[a-z][a-z0-9-]*"))
    forward: TransformFn
    reverse: TransformFn | None = None
    status: StatusTransformFn | None = None
    phase: Phase = Phase.CUSTOM
    applies_to: Callable[[ResourceInfo], bool] = every_resource
    plugin: str = ""


def order_transforms(
    transforms: list[Transform], *, configured_order: tuple[str, ...] = ()
) -> tuple[Transform, ...]:
    """Sort by phase, then by position in ``configured_order`` (unlisted last), then by name."""
    position = {name: i for i, name in enumerate(configured_order)}
    return tuple(
        sorted(
            transforms,
            key=lambda t: (int(t.phase), position.get(t.name, len(position)), t.name),
        )
    )


# One transform function that runs, with the transform it belongs to (named in errors).
TransformStep = tuple[Transform, TransformFn]


def _upward_rank(transform: Transform) -> int:
    if transform.phase in (Phase.STRIP, Phase.OWNERSHIP):
        return int(transform.phase)
    return Phase.OWNERSHIP - int(transform.phase)


def transform_steps(
    transforms: Iterable[Transform], *, resource: ResourceInfo | None, upward: bool
) -> tuple[TransformStep, ...]:
    """The functions that run, in order, on an object of ``resource`` (None: any): each
    applicable transform's ``forward``, or ``reverse`` going ``upward``.

    Going up, the phases between stripping and ownership run in reverse order (custom, then
    namespace, then renature), so each undoes its own step of the way down; stripping still
    comes first and the ownership mark last, since both describe the target side. The same
    for every object of a resource, so the hooks keep them per resource and direction.
    """
    chain = sorted(transforms, key=_upward_rank) if upward else list(transforms)
    steps: list[TransformStep] = []
    for transform in chain:
        if resource is not None and not transform.applies_to(resource):
            continue
        fn = transform.reverse if upward else transform.forward
        if fn is not None:
            steps.append((transform, fn))
    return tuple(steps)
