"""What a replay does not reproduce, named once: for the replay's report and for parity checks.

The memory store plays each side's API server closely (``memstore``), but some of what an API
server and its controllers do is not emulated. Each entry says what, why, and which of the
syncer's writes it can change: ``covers(action)`` is true for a write a replay cannot be
expected to plan exactly as the syncer made it, given the write's side (``upstream`` or
``downstream``), group/resource (``GroupVersionResource.group_resource``) and subresource.
``syncpipe replay`` prints the names in its report ("not compared/emulated: ...");
``syncpipe.testing.parity`` leaves the covered writes out of its comparison and lists them,
so nothing is left out silently.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from syncpipe.config import syncerconfig
from syncpipe.runtime.events import EVENTS
from syncpipe.runtime.leader import LEASES

# A write's coordinates as ``covers`` sees them: side, group/resource, subresource.
Covers = Callable[[str, str, str], bool]


def _no_write(_side: str, _resource: str, _subresource: str) -> bool:
    return False


BOOKKEEPING_RESOURCES = frozenset(
    {
        f"syncerconfigs.{syncerconfig.GROUP}",
        f"edgesyncconfigs.{syncerconfig.GROUP}",
        EVENTS.group_resource,
        LEASES.group_resource,
    }
)


def _bookkeeping(_side: str, resource: str, _subresource: str) -> bool:
    return resource in BOOKKEEPING_RESOURCES


@attrs.frozen
class NotEmulated:
    """Something the replay does not reproduce (``name``), ``reason`` why it does not matter
    or cannot be had, and which writes it affects (``covers``; none by default)."""

    name: str
    reason: str
    covers: Covers = _no_write


NOT_EMULATED: tuple[NotEmulated, ...] = (
    NotEmulated(
        name="server-side defaulting",
        reason="the memory store keeps objects as written; the syncer's three-way diff only "
        "compares the fields it manages, so defaulted fields plan no write either way",
    ),
    NotEmulated(
        name="finalizers and graceful deletion",
        reason="a delete removes the object at once; a real server keeps a Namespace "
        "Terminating until its contents are gone, and the recording shows that later",
    ),
    NotEmulated(
        name="garbage collection",
        reason="dependents (ownerReferences) are not deleted with their owner; the recording "
        "holds the deletions the real garbage collector made",
    ),
    NotEmulated(
        name="the syncer's reaction time",
        reason="a replay reconciles in no virtual time; the live syncer takes milliseconds "
        "(more under load), so changes coming faster than it reacted may be folded into "
        "other writes live than in the replay (status return's leading edge)",
    ),
    NotEmulated(
        name="bookkeeping writes",
        reason="the SyncerConfig heartbeat and conditions, Events about rejected objects and "
        "the leader-election Lease are the syncer's own, not the pipeline's: not planned, "
        "not compared",
        covers=_bookkeeping,
    ),
)


def summary() -> str:
    """The one report line: what is not compared/emulated."""
    return "not compared/emulated: " + ", ".join(entry.name for entry in NOT_EMULATED)
