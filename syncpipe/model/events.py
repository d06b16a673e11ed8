"""Events: what the source stage tells the rest of the pipeline."""

from __future__ import annotations

import enum

import attrs

from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject


class Side(enum.Enum):
    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"

    @property
    def other(self) -> Side:
        return Side.DOWNSTREAM if self is Side.UPSTREAM else Side.UPSTREAM


class Direction(enum.Enum):
    """Which way data flows: DOWN = upstream → downstream (downsync), UP = the reverse."""

    DOWN = "down"
    UP = "up"

    @property
    def source(self) -> Side:
        return Side.UPSTREAM if self is Direction.DOWN else Side.DOWNSTREAM

    @property
    def target(self) -> Side:
        return self.source.other


class EventType(enum.Enum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    REPLACED = "REPLACED"  # seen in a (re)list
    RESYNC = "RESYNC"  # periodic re-check from the local cache
    BOOKMARK = "BOOKMARK"


@attrs.frozen(kw_only=True)
class Event:
    """One change seen on one side. ``obj`` is the object after the change (before, for deletes)."""

    side: Side
    type: EventType
    key: ObjectKey
    obj: RawObject | None
    resource_version: str
    observed_at: float
    # A delete inferred on relist (client-go DeletedFinalStateUnknown).
    final_state_unknown: bool = False
    # For MODIFIED, against the version the cache held before (None: not known): whether
    # anything but ``.status`` and server bookkeeping (resourceVersion, managedFields) changed,
    # and whether ``.status`` did. Handlers use them to skip changes they do not care about.
    content_changed: bool | None = None
    status_changed: bool | None = None
