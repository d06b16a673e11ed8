"""Decide the one write (create, patch, delete — or none) that brings a target object in line.

The planner is the pure heart of the sink: given the desired object (the source object after
all transforms) and the live object on the target side, it returns an action from
``syncpipe.model.actions`` or ``None`` when the target already is as desired. The caller
carries the action out (or, in ``syncpipe plan`` and replay, prints it).

Every create and patch also writes the applied-fields record (``sink.lastapplied``), which is
what lets the next plan remove fields that were dropped from the desired object. The record is
treated as one more desired annotation, so it is written exactly when it changes: on the first
patch of an object without a record and whenever the desired field set changes.

Not here, on purpose: whether an object may be overwritten or deleted (ownership, the
downsync-overwrite opt-out and the deletion circuit breaker are checked by the caller), retries
and conflicts (the caller's error handling), and I/O of any kind.
"""

from __future__ import annotations

from typing import Any, Final

from syncpipe.model import actions, objects
from syncpipe.model.events import Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject
from syncpipe.sink import diff, lastapplied

_IDENTITY_FIELDS: Final = ("apiVersion", "kind")


def plan(
    *,
    side: Side,
    key: ObjectKey,
    desired: RawObject | None,
    live: RawObject | None,
) -> actions.Action | None:
    """The action that makes ``live`` (on ``side``) match ``desired``, or ``None`` if it does.

    * neither exists → ``None``;
    * only ``desired`` → ``Create`` of ``desired`` plus its applied-fields record;
    * only ``live`` → ``Delete`` with ``live``'s UID as precondition, so a namesake created
      in the meantime is never deleted;
    * both → a ``Patch`` from :func:`syncpipe.sink.diff.three_way` (with the record kept up
      to date), or ``None`` when ``live`` already satisfies ``desired``.

    ``apiVersion`` and ``kind`` are not diffed: they are the object's identity, which a patch
    cannot change, and list responses leave them out of their items.

    ``desired`` must not carry ``status`` for a resource with a status subresource: the API
    server ignores ``status`` in writes to the main resource, so the patch would be planned
    again on every sync. Status is written by :func:`plan_status`.

    Steady state (the common case) costs one field-set encoding, one string comparison and
    one walk of ``desired`` against ``live`` that skips equal subtrees at C speed; the
    recorded field set is only decoded when it differs from the desired one.
    """
    if desired is None:
        if live is None or objects.deletion_timestamp_of(live):
            return None  # gone, or already being deleted (finalizers pending): nothing to ask
        return actions.Delete(side=side, key=key, uid=objects.uid_of(live))
    record = lastapplied.record_of(desired)
    target = objects.with_annotations(desired, {lastapplied.ANNOTATION: record})
    if live is None:
        return actions.Create(side=side, key=key, body=target)
    target = _without_identity(target)
    recorded = lastapplied.recorded_text_of(live)
    # A record equal to the new one means nothing we own was dropped: no removals to look
    # for (owned=None), so the diff is a pure subset check that skips equal subtrees.
    owned = None if recorded == record else lastapplied.decode(recorded)
    ops = diff.three_way(target, live, owned)
    return _patch(side=side, key=key, ops=ops) if ops else None


def with_record(desired: RawObject) -> RawObject:
    """``desired`` carrying its applied-fields record: the body of a create."""
    return objects.with_annotations(
        desired, {lastapplied.ANNOTATION: lastapplied.record_of(desired)}
    )


def plan_status(
    *,
    side: Side,
    key: ObjectKey,
    desired_status: Any,
    live: RawObject | None,
) -> actions.Patch | None:
    """The status-subresource patch that makes ``live``'s status equal ``desired_status``.

    Status return owns the whole status of the target object, so this is an exact two-way
    diff of the ``status`` subtree (no subset rule, no record). A live object without status
    gets one ``add`` of ``/status``. ``desired_status`` of ``None`` means "no status to return
    yet" and plans nothing, rather than wiping a status the target may already show; ``{}``
    means an empty status. Nothing is planned for a target that does not exist (``live`` is
    ``None``): there is nothing to write status to until the downsync has created it.
    """
    if live is None or desired_status is None:
        return None
    if "status" not in live:
        ops: list[actions.JsonPatchOp] = [{"op": "add", "path": "/status", "value": desired_status}]
    else:
        ops = diff.two_way(live["status"], desired_status, prefix="/status")
    if not ops:
        return None
    return _patch(side=side, key=key, ops=ops, subresource="status")


def _without_identity(obj: RawObject) -> RawObject:
    """A copy of ``obj`` without ``apiVersion`` and ``kind`` (shares everything else)."""
    return objects.without_fields(obj, *_IDENTITY_FIELDS)


def _patch(
    *, side: Side, key: ObjectKey, ops: list[actions.JsonPatchOp], subresource: str = ""
) -> actions.Patch:
    """A ``Patch`` of ``ops``."""
    return actions.Patch(side=side, key=key, ops=ops, subresource=subresource)
