"""Put the syncer's effects after their causes in a recording of two watch connections.

The recorder watches each side on a connection of its own and stamps an event when its
reflector applies it. A write the syncer made because of a change (a copy patched after its
source changed, a status returned after a copy's status changed, an object upsynced) comes
back to the recorder one write and one watch hop after the syncer saw the change: a few
milliseconds. The recorder may see the change itself a few milliseconds late (its threads
share the cores, and in the same process the interpreter, with everything else), so a
recording can show the syncer's write before its cause, or just before the moment a delayed
write of the syncer (status return's trailing edge) was due. A replay applying the records in
file order then takes the recorded write for a change made by someone else and finds its own
write already done: a write the syncer made is missing from the plan.

``causal_order`` delays every record that looks like the result of a syncer's write by
``EFFECT_LAG`` against the records of other objects, keeping each object's own order (its
versions stay in their resourceVersion order). Only the result is delayed, not what follows
it on its side: the syncer's heartbeat (a status write upstream every few seconds) must not
drag the next upstream change behind the downstream records it causes. Looks like a
syncer's write:

* downstream: the creation or deletion of a copy (an object carrying the owner label or the
  downsynced mark), and a change of a copy's record of applied fields (only the syncer writes
  it). Other changes of a copy stay where they are: an edit by someone else (which the syncer
  then undoes) and the syncer's own patch of values look alike, and delaying an edit would
  reorder it after the upstream change that follows it;
* upstream: a change of an object carrying the upsynced mark, and a change of ``.status``
  alone (status return).

And one case is recognised by its cause: a change of a copy's values (outside metadata and
status) that a change of its source (named by the copy's ``syncpipe.io/source`` locator)
recorded at most ``EFFECT_LAG`` later carries too is that change's downsync: it is moved
right after it. An edit by someone else sets other values than the source's.

Initial lists are state, not events: never delayed. The records come out with their delayed
``t``, non-decreasing.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import attrs
import orjson

from syncpipe.builtin.ownership import (
    DOWNSYNCED_ANNOTATION,
    OWNER_LABEL,
    SOURCE_ANNOTATION,
    UPSYNCED_ANNOTATION,
)
from syncpipe.model.events import Side
from syncpipe.model.objects import RawObject, annotations_of, labels_of
from syncpipe.replay.snapshot import Record, RecordType
from syncpipe.sink import lastapplied

# Longer than the recorder's lag behind the syncer seen on a loaded 2-core machine (5-6 ms,
# an interpreter switch interval), short against anything a replay times (status settle
# windows of 0.5 s, retries of 1 s).
EFFECT_LAG = 0.05

# How much later than its cause a moved record comes: the snapshot's resolution.
AFTER = 1e-6

_CHANGES = frozenset({RecordType.ADDED, RecordType.MODIFIED, RecordType.DELETED})
# What a write of ``.status`` alone also changes on the server.
_BOOKKEEPING = frozenset({"resourceVersion", "managedFields", "generation"})

ObjectId = tuple[Side, str, str, str]
# An object's last version as the classifier remembers it: without status, applied fields.
Remembered = tuple[bytes, str | None]


def _without_status(obj: RawObject) -> bytes:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _BOOKKEEPING}
    rest = {k: v for k, v in obj.items() if k not in ("status", "metadata")}
    return orjson.dumps({"metadata": meta, **rest}, option=orjson.OPT_SORT_KEYS)


def _is_copy(obj: RawObject) -> bool:
    return OWNER_LABEL in labels_of(obj) or DOWNSYNCED_ANNOTATION in annotations_of(obj)


class _Classifier:
    """Tells a syncer's likely write from other changes; remembers each object's last
    version without its status to see what a change touched."""

    def __init__(self) -> None:
        self._last: dict[ObjectId, Remembered] = {}

    def is_effect(self, record: Record, key: ObjectId | None) -> bool:
        obj = record.object
        if obj is None or key is None:
            return False
        if record.type not in _CHANGES and record.type is not RecordType.LIST:
            return False
        previous = self._last.get(key)
        current = (_without_status(obj), annotations_of(obj).get(lastapplied.ANNOTATION))
        if record.type is RecordType.DELETED:
            self._last.pop(key, None)
        else:
            self._last[key] = current
        if record.type is RecordType.LIST:
            return False
        if record.side is Side.DOWNSTREAM:
            if not _is_copy(obj):
                return False
            created_or_deleted = record.type is not RecordType.MODIFIED
            return created_or_deleted or previous is None or previous[1] != current[1]
        modified = record.type is RecordType.MODIFIED and previous is not None
        status_only = modified and previous is not None and previous[0] == current[0]
        return status_only or UPSYNCED_ANNOTATION in annotations_of(obj)


def _object_id(record: Record) -> ObjectId | None:
    obj = record.object
    if obj is None:
        return None
    meta: dict[str, Any] = obj.get("metadata") or {}
    return (record.side, record.gvr.group_resource, meta.get("namespace") or "", meta["name"])


def _values(obj: RawObject, prefix: str = "") -> dict[str, Any]:
    """Leaf values by path, outside metadata and status (lists are leaves)."""
    out: dict[str, Any] = {}
    for name, value in obj.items():
        if not prefix and name in ("metadata", "status", "apiVersion", "kind"):
            continue
        path = f"{prefix}/{name}"
        if isinstance(value, dict) and value:
            out.update(_values(value, path))
        else:
            out[path] = value
    return out


def _source_of(record: Record) -> str:
    """For an upstream change, the locator a copy of it names; for a copy, the one it names."""
    obj = record.object or {}
    if record.side is Side.DOWNSTREAM:
        return annotations_of(obj).get(SOURCE_ANNOTATION, "")
    meta = obj.get("metadata") or {}
    return f"{record.gvr.group_resource}/{meta.get('namespace') or ''}/{meta.get('name')}"


def _after_their_sources(records: Iterable[Record], lag: float) -> Iterator[Record]:
    """Move a copy's value change right after the change of its source that carries the same
    values, when that comes at most ``lag`` later (see the module docstring); streams."""
    window: deque[Record] = deque()
    copies: dict[str, RawObject] = {}  # a copy's last version, by the locator it names
    changed: dict[int, dict[str, Any]] = {}  # id of a copy's record in the window: its values
    for record in records:
        while window and window[0].t < record.t - lag:
            changed.pop(id(window[0]), None)
            yield window.popleft()
        locator = _source_of(record) if record.object is not None else ""
        if record.side is Side.DOWNSTREAM and locator:
            previous = copies.get(locator)
            current = record.object or {}
            copies[locator] = current
            if record.type is RecordType.MODIFIED and previous is not None:
                before = _values(previous)
                values = {p: v for p, v in _values(current).items() if before.get(p) != v}
                if values:
                    changed[id(record)] = values
        elif record.type is RecordType.MODIFIED and locator:
            source_values = _values(record.object or {})
            for copy in [r for r in window if id(r) in changed and _source_of(r) == locator]:
                values = changed.pop(id(copy))
                after = list(window)[list(window).index(copy) + 1 :]
                later_same = any(
                    r.side is Side.DOWNSTREAM and _source_of(r) == locator for r in after
                )
                if later_same or any(source_values.get(p) != v for p, v in values.items()):
                    continue
                window.remove(copy)
                window.append(record)
                # Just after: a replay applies the records of one instant together.
                record = attrs.evolve(copy, t=record.t + AFTER)
                break
        window.append(record)
    yield from window


def causal_order(records: Iterable[Record], *, lag: float = EFFECT_LAG) -> Iterator[Record]:
    """``records`` (in file order) with the syncer's likely writes ``lag`` seconds later
    against other objects' records (see the module docstring); streams."""
    classifier = _Classifier()
    records = _after_their_sources(records, lag)
    object_clock: dict[ObjectId, float] = {}
    pending: list[tuple[float, int, Record]] = []
    for seq, record in enumerate(records):
        while pending and pending[0][0] <= record.t:
            yield _at(heapq.heappop(pending))
        key = _object_id(record)
        due = record.t + lag if classifier.is_effect(record, key) else record.t
        if key is not None:
            due = max(due, object_clock.get(key, due))  # never before its previous version
            object_clock[key] = due
        heapq.heappush(pending, (due, seq, record))
    while pending:
        yield _at(heapq.heappop(pending))


def _at(entry: tuple[float, int, Record]) -> Record:
    due, _, record = entry
    return record if due == record.t else attrs.evolve(record, t=due)
