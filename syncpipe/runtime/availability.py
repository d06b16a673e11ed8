"""What the configs need that is not served: the facts behind ``APIsAvailable``.

Two kinds of missing API, both per side:

1. **Config entries** naming a resource their source side does not serve (downsync entries
   upstream, upsync entries downstream), from the selection and discovery
   (``Selection.unserved``), re-evaluated at every control step. A change is announced once,
   as an Event for the config: ``APIsNotServed`` (Warning, listing them) or ``APIsServed``
   (Normal) when none is left.
2. **Kinds copies wait for** on their target side: a reconcile found the copy's kind not
   served there (``copy_waits``) and retries every ``WAIT_FOR_API_SECONDS``. Such a kind stays
   reported until discovery serves it (``forget_served``) or nobody asked for it for
   ``FORGET_SECONDS`` (its object was deleted). Which config selected the object is not known
   at that point, so these are reported on every config.

Thread safety: ``copy_waits`` runs on workers, everything else on the control loop; single
dict operations only, and readers iterate over a copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import attrs

from syncpipe.model.events import Side
from syncpipe.runtime import conditions
from syncpipe.runtime.flow import WAIT_FOR_API_SECONDS

# A kind nobody asked for this long (ten retries) is no longer reported missing.
FORGET_SECONDS = 10 * WAIT_FOR_API_SECONDS

UnservedByConfig = Mapping[str, Sequence[str]]
"""Config ref -> the resources its entries name that one side does not serve."""


@attrs.frozen(kw_only=True)
class ConfigNotice:
    """An Event to post on a config: what changed about the APIs it names."""

    ref: str  # e.g. "SyncerConfig/edge-1"
    reason: str
    message: str
    event_type: str


class ApiAvailability:
    """Missing APIs per config and side; see the module docstring."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[Side, UnservedByConfig] = {}
        # (target side, apiVersion, kind) -> when a copy last found it not served.
        self._waiting: dict[tuple[Side, str, str], float] = {}

    def copy_waits(self, side: Side, api_version: str, kind: str) -> None:
        """A copy of ``apiVersion``/``kind`` cannot be written on ``side``: not served there."""
        self._waiting[(side, api_version, kind)] = self._clock()

    def forget_served(self, served: Callable[[Side, str, str, str], bool]) -> None:
        """After discovery: drop the kinds ``served(side, group, version, kind)`` serves now."""
        for side, api_version, kind in list(self._waiting):
            group, _, version = api_version.rpartition("/")
            if served(side, group, version, kind):
                self._waiting.pop((side, api_version, kind), None)

    def note_entries(self, current: Mapping[Side, UnservedByConfig]) -> list[ConfigNotice]:
        """Take the configs' unserved entries per side; return an Event for each config whose
        list changed (none when it stays empty)."""
        previous, self._entries = self._entries, dict(current)
        refs = {ref for by_ref in (*previous.values(), *current.values()) for ref in by_ref}
        notices = []
        for ref in sorted(refs):
            before = {side: tuple(by_ref.get(ref, ())) for side, by_ref in previous.items()}
            now = {side: tuple(by_ref.get(ref, ())) for side, by_ref in current.items()}
            if before == now or not any((*before.values(), *now.values())):
                continue
            missing = conditions.unserved_message(now)
            if missing:
                notice = ConfigNotice(
                    ref=ref,
                    reason="APIsNotServed",
                    message=f"{missing}: those entries sync nothing until their API is served",
                    event_type="Warning",
                )
            else:
                notice = ConfigNotice(
                    ref=ref,
                    reason="APIsServed",
                    message="every resource this config names is served now",
                    event_type="Normal",
                )
            notices.append(notice)
        return notices

    def for_config(self, ref: str) -> dict[Side, list[str]]:
        """Per side, what config ``ref`` needs that is not served (sides with none left out)."""
        found = {side: list(by_ref.get(ref, ())) for side, by_ref in self._entries.items()}
        stale = self._clock() - FORGET_SECONDS
        for (side, api_version, kind), seen in list(self._waiting.items()):
            if seen < stale:
                self._waiting.pop((side, api_version, kind), None)
                continue
            group, _, version = api_version.rpartition("/")
            what = f"kind {kind}.{group}" if group else f"kind {kind}"
            found.setdefault(side, []).append(f"{what}/{version} (copies wait for it)")
        return {side: sorted(items) for side, items in found.items() if items}
