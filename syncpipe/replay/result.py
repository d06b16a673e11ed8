"""What a replay (or ``syncpipe plan``) found the syncer would do: the plan and its parts.

Values only, plus the writer that collects them: ``PlanRecorder`` is the target writer the
replay gives each flow. It carries a write out on the side's memory store — so the pipeline
sees its own writes, as it would on a cluster — and reports each successful one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from syncpipe.model.actions import Action, Create, Delete, Patch
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject
from syncpipe.replay.memstore import MemoryApi


@attrs.frozen(kw_only=True)
class PlannedWrite:
    """One write the syncer would make: when (virtual ``t``), by which flow, what.

    ``flow`` is ``downsync``, ``upsync`` or ``status`` (status return); ``object_bytes`` is
    the JSON size of the object as the write left it (``None`` for a delete): the size kept,
    not the object, so a long replay does not keep every version of every object alive.
    """

    seq: int
    t: float
    flow: str
    action: Action
    object_bytes: int | None = None


@attrs.frozen(kw_only=True)
class Rejection:
    """An object the syncer gives up on until it changes (conflict, invalid, transform error)."""

    t: float
    flow: str
    key: ObjectKey
    error_type: str
    message: str


@attrs.frozen(kw_only=True)
class Pending:
    """A key still failing when the replay ended, with its last error."""

    flow: str
    key: ObjectKey
    error_type: str
    message: str


@attrs.frozen(kw_only=True)
class ReplayStatistics:
    records: int
    batches: int
    reconciles: int
    duration: float  # virtual seconds from the first record to the last work done


@attrs.frozen(kw_only=True)
class ReplayResult:
    """The plan: every write in order, plus what was rejected, left pending or looked wrong."""

    writes: tuple[PlannedWrite, ...]
    rejected: tuple[Rejection, ...]
    pending: tuple[Pending, ...]
    warnings: tuple[str, ...]
    statistics: ReplayStatistics

    def summary(self) -> dict[str, int]:
        """Counts by kind of write; a status write or upsync is counted as that, not as a patch
        (upsyncs are counted whatever their verb, and also under their verb)."""
        counts = dict.fromkeys(("creates", "patches", "status_writes", "deletes", "upsyncs"), 0)
        for write in self.writes:
            action = write.action
            if write.flow == "upsync":
                counts["upsyncs"] += 1
            if isinstance(action, Create):
                counts["creates"] += 1
            elif isinstance(action, Delete):
                counts["deletes"] += 1
            elif write.flow == "status" or action.subresource == "status":
                counts["status_writes"] += 1
            else:
                counts["patches"] += 1
        counts["rejected"] = len(self.rejected)
        counts["pending"] = len(self.pending)
        return counts


def describe_key(key: ObjectKey) -> str:
    """``deployments.apps shop/checkout``: how plans name objects."""
    return f"{key.gvr.group_resource} {key.cache_key}"


class PlanRecorder:
    """A flow's target writer (``runtime.flow.Writer``): memory store + ``on_write`` report."""

    def __init__(self, api: MemoryApi, on_write: Callable[[Action, RawObject | None], Any]) -> None:
        self.api = api
        self._on_write = on_write

    def apply(self, action: Action) -> RawObject | None:
        key = action.key
        result: RawObject | None
        if isinstance(action, Create):
            result = self.api.create(key.gvr, key.namespace, action.body)
        elif isinstance(action, Patch):
            result = self.api.json_patch(
                key.gvr, key.namespace, key.name, action.ops, subresource=action.subresource
            )
        elif isinstance(action, Delete):
            self.api.delete(key.gvr, key.namespace, key.name, uid=action.uid)
            result = None
        else:
            raise TypeError(f"unknown action {action!r}")
        self._on_write(action, result)
        return result

    def get(self, key: ObjectKey) -> RawObject | None:
        """The object as stored now (the flows read it after a 409)."""
        return self.api.get_or_none(key.gvr, key.namespace, key.name)
