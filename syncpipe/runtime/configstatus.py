"""A SyncerConfig's status when several syncers merge it: one entry each, and their summary.

KubeStellar gives each edge its own mailbox, so a SyncerConfig has one syncer, which writes
``status.lastSyncerHeartbeatTime`` and ``status.conditions``. Several syncers on one plain
mailbox API may merge the same config (``--syncer-config-selector`` matching it for both, or
no selector at all); each writing the conditions of its own state there would overwrite the
other's on every heartbeat, the ``Ready`` condition flipping between them: a fight.

So each syncer writes its own entry, ``status.syncers.<syncer name>`` (``lastHeartbeatTime``
and ``conditions``), with a JSON merge patch, which replaces that key only: syncers never
touch each other's entries. The top-level fields become the summary of the live entries
(heartbeat within ``stale_after``), computed by a pure function of those entries, so every
syncer writes the same summary and the summary settles instead of flipping:

* ``lastSyncerHeartbeatTime``: the writer's own heartbeat (the latest of any syncer);
* per condition type: while every live syncer agrees on the usual status (``Ready``
  and ``APIsAvailable`` ``True``, ``DeletionsHeld`` ``False``), that status; otherwise the
  status and reason of the first syncer (by name) that differs, the message naming each
  syncer that differs (``edge2: ObjectsRejected: ...``).

With one live syncer the summary is exactly its own conditions, as before. An entry whose
heartbeat is older than ``stale_after`` (a syncer stopped or gone) no longer counts; it stays
for people to see when that syncer was last alive.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

# An entry without a heartbeat for this long is a stopped syncer (three default heartbeats).
STALE_AFTER_SECONDS = 90.0
# A condition type's status while all is well; an unknown type's is "True".
USUAL_STATUS = {"Ready": "True", "APIsAvailable": "True", "DeletionsHeld": "False"}
MAX_MESSAGE = 1000

Condition = dict[str, str]


def _parse(stamp: Any) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None


def _with_transitions(
    conditions: Sequence[Condition], previous: Sequence[Any], stamp: str
) -> list[Condition]:
    """``conditions`` with ``lastTransitionTime`` kept from ``previous`` where unchanged."""
    old = {c.get("type"): c for c in previous if isinstance(c, Mapping)}
    stamped = []
    for condition in conditions:
        prev = old.get(condition["type"]) or {}
        same = all(prev.get(k) == condition[k] for k in ("status", "reason", "message"))
        since = prev.get("lastTransitionTime", stamp) if same else stamp
        stamped.append({**condition, "lastTransitionTime": since})
    return stamped


def live_entries(
    status: Mapping[str, Any], *, now: datetime.datetime, stale_after: float
) -> dict[str, list[Condition]]:
    """The conditions of each syncer whose heartbeat in ``status.syncers`` is recent."""
    found: dict[str, list[Condition]] = {}
    for name, entry in (status.get("syncers") or {}).items():
        if not isinstance(entry, Mapping):
            continue
        beat = _parse(entry.get("lastHeartbeatTime"))
        if beat is None or (now - beat).total_seconds() > stale_after:
            continue
        found[str(name)] = [
            {k: str(c.get(k, "")) for k in ("type", "status", "reason", "message")}
            for c in entry.get("conditions") or ()
            if isinstance(c, Mapping)
        ]
    return found


def summary(entries: Mapping[str, Sequence[Condition]]) -> list[Condition]:
    """The top-level conditions summarising every syncer's (see the module doc)."""
    names = sorted(entries)
    if len(names) == 1:
        return [dict(c) for c in entries[names[0]]]
    types: list[str] = []
    for name in names:
        for condition in entries[name]:
            if condition["type"] not in types:
                types.append(condition["type"])
    result = []
    for kind in types:
        reports = [(n, c) for n in names for c in entries[n] if c["type"] == kind]
        usual = USUAL_STATUS.get(kind, "True")
        differing = [(n, c) for n, c in reports if c["status"] != usual]
        if differing:
            status, reason = differing[0][1]["status"], differing[0][1]["reason"]
            message = "; ".join(f"{n}: {c['reason']}: {c['message']}" for n, c in differing)
        else:
            reasons = {c["reason"] for _, c in reports}
            status, reason = usual, reports[0][1]["reason"] if len(reasons) == 1 else "Mixed"
            message = "; ".join(f"{n}: {c['message']}" for n, c in reports if c["message"])
        result.append(
            {"type": kind, "status": status, "reason": reason, "message": message[:MAX_MESSAGE]}
        )
    return result


def heartbeat_patch(
    *,
    syncer_name: str,
    conditions: Sequence[Condition],
    status: Mapping[str, Any],
    now: datetime.datetime,
    stale_after: float,
    sync_target_uid: str = "",
) -> dict[str, Any]:
    """The merge patch of one heartbeat: this syncer's entry and the summary of all live ones.

    ``conditions`` are this syncer's (``type``, ``status``, ``reason``, ``message``);
    ``status`` is the config's current status, as cached. ``sync_target_uid`` (the original
    syncer's ``--sync-target-uid``) is reported in the entry when given.
    """
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    own_previous = ((status.get("syncers") or {}).get(syncer_name) or {}).get("conditions") or ()
    entries = live_entries(status, now=now, stale_after=stale_after)
    entries[syncer_name] = [dict(c) for c in conditions]
    return {
        "status": {
            "lastSyncerHeartbeatTime": stamp,
            "conditions": _with_transitions(
                summary(entries), status.get("conditions") or (), stamp
            ),
            "syncers": {
                syncer_name: {
                    "lastHeartbeatTime": stamp,
                    "conditions": _with_transitions(conditions, own_previous, stamp),
                    **({"syncTargetUID": sync_target_uid} if sync_target_uid else {}),
                }
            },
        }
    }
