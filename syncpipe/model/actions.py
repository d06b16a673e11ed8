"""Actions: what the sink does (or, in plan/replay, would do) to one side."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeAlias

import attrs

from syncpipe.model.events import Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject

JsonPatchOp: TypeAlias = dict[str, Any]


def _ops_tuple(ops: Iterable[JsonPatchOp]) -> tuple[JsonPatchOp, ...]:
    return tuple(ops)


@attrs.frozen(kw_only=True)
class Create:
    side: Side
    key: ObjectKey
    body: RawObject
    verb = "create"


@attrs.frozen(kw_only=True)
class Patch:
    """An RFC 6902 JSON patch; ``subresource`` is ``"status"`` for status writes."""

    side: Side
    key: ObjectKey
    ops: tuple[JsonPatchOp, ...] = attrs.field(converter=_ops_tuple)
    subresource: str = ""
    verb = "patch"


@attrs.frozen(kw_only=True)
class Delete:
    """Delete with a UID precondition: only the object we saw is deleted, never a newer namesake."""

    side: Side
    key: ObjectKey
    uid: str
    verb = "delete"


Action: TypeAlias = Create | Patch | Delete


class ActionWriter(Protocol):
    """Carries out an action on one side; returns the object as the server answered it
    (``None`` for a delete). ``syncpipe_apply_action`` implementations are handed one."""

    def apply(self, action: Action) -> RawObject | None: ...
