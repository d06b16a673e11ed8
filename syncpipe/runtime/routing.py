"""Which work an event makes: the decisions the live syncer and the replay engine share.

Every source or target event used to queue a reconcile (and every target event a status
check). Most of those find nothing to do: the watch echo of a status write, a controller
bumping ``.status`` on a copy, a server-side ``managedFields`` update. Comparing the event's
object with the version the cache held before it (``Event.old``) tells these apart for the
price of a few dict comparisons, which run at C speed and stop at the first difference.

Level-triggered correctness is kept: events without a previous version (adds, relists,
resyncs, deletes) always queue the reconcile, so a periodic resync still re-checks every copy.
"""

from __future__ import annotations

from typing import Final

from syncpipe.model.events import Direction, Event, EventType
from syncpipe.model.objects import RawObject

# Metadata the API server rewrites on every write: never part of what syncpipe decides.
_SERVER_BOOKKEEPING: Final = frozenset({"resourceVersion", "managedFields"})
_MISSING: Final = object()


def same_except(old: RawObject, new: RawObject, *, ignore_status: bool) -> bool:
    """Whether ``old`` and ``new`` differ at most in server bookkeeping (and ``.status``)."""
    for key, value in new.items():
        if key == "metadata" or (ignore_status and key == "status"):
            continue
        if old.get(key, _MISSING) != value:
            return False
    for key in old:
        if key not in new and key != "metadata" and not (ignore_status and key == "status"):
            return False
    old_meta = old.get("metadata") or {}
    new_meta = new.get("metadata") or {}
    for key, value in new_meta.items():
        if key not in _SERVER_BOOKKEEPING and old_meta.get(key, _MISSING) != value:
            return False
    return all(key in new_meta or key in _SERVER_BOOKKEEPING for key in old_meta)


def _modified(event: Event) -> tuple[RawObject, RawObject] | None:
    if event.type is not EventType.MODIFIED or event.old is None or event.obj is None:
        return None
    return event.old, event.obj


def source_needs_reconcile(direction: Direction, event: Event) -> bool:
    """Whether a source event can change what the target should hold.

    Downsync never carries ``.status`` (status flows the other way), so a source object whose
    only change is its status — typically the echo of status return's own write — needs no
    look. Upsync carries status, so there every content change counts.
    """
    pair = _modified(event)
    if pair is None:
        return True
    return not same_except(*pair, ignore_status=direction is Direction.DOWN)


def target_needs_reconcile(direction: Direction, event: Event) -> bool:
    """Whether a change to an owned copy can be drift that the flow must put back.

    Downstream copies' ``.status`` belongs to their controllers, not to the downsync; an
    upsynced copy's status is written by the syncer, so a change to it is drift.
    """
    pair = _modified(event)
    if pair is None:
        return True
    return not same_except(*pair, ignore_status=direction is Direction.DOWN)


def target_needs_status_return(event: Event) -> bool:
    """Whether a downstream copy's event may have a status to return upstream.

    A copy without ``.status`` (a ConfigMap, a just-created Deployment) has none to return:
    status return never wipes the upstream status for lack of one.
    """
    if event.type is EventType.DELETED or event.obj is None:
        return False
    pair = _modified(event)
    if pair is None:
        return "status" in event.obj
    old, new = pair
    return bool(old.get("status", _MISSING) != new.get("status", _MISSING))
