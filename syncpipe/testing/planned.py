"""What one pass of the offline harness planned: its writes, with helpers to assert on them.

Values only. ``syncpipe.testing.harness`` makes them from the replay engine's plan; tests ask
``result.created("apps/v1", "Deployment", "shop/web")`` and get the object as it was written,
or an ``AssertionError`` that lists every write of the pass (what pytest shows).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import attrs

from syncpipe.model.actions import Create, JsonPatchOp, Patch
from syncpipe.model.events import Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject
from syncpipe.replay.explain import STATUS_FLOW
from syncpipe.replay.result import Pending, PlannedWrite, Rejection, describe_key


@attrs.frozen(kw_only=True)
class Write:
    """One write the pipeline made, as a server would have received it.

    ``flow`` is ``downsync``, ``upsync`` or ``status`` (status return); ``verb`` ``create``,
    ``patch`` or ``delete``; ``kind`` the object's kind; ``body`` the object sent by a create
    (``None`` otherwise); ``ops`` the RFC 6902 operations of a patch (``()`` otherwise);
    ``subresource`` ``"status"`` for a write to ``/status``.
    """

    flow: str
    verb: str
    side: Side
    key: ObjectKey
    kind: str
    body: RawObject | None = None
    ops: tuple[JsonPatchOp, ...] = ()
    subresource: str = ""

    @classmethod
    def of(cls, planned: PlannedWrite, kind: str) -> Write:
        action = planned.action
        return cls(
            flow=planned.flow,
            verb=action.verb,
            side=action.side,
            key=action.key,
            kind=kind,
            body=action.body if isinstance(action, Create) else None,
            ops=action.ops if isinstance(action, Patch) else (),
            subresource=action.subresource if isinstance(action, Patch) else "",
        )

    def matches(self, api_version: str, kind: str, name: str) -> bool:
        """Whether this write is to the object ``kind`` of ``api_version``'s group named
        ``name`` (``namespace/name``, or ``name`` when cluster-scoped). The version is not
        compared: one object can be written at any version its resource is served at."""
        group = api_version.rpartition("/")[0]
        return (self.key.gvr.group, self.kind, self.key.cache_key) == (group, kind, name)

    def describe(self) -> str:
        """``downsync create downstream configmaps shop/settings``: one line of a listing."""
        line = f"{self.flow} {self.verb} {self.side.value} {describe_key(self.key)}"
        if self.subresource:
            line += f" /{self.subresource}"
        if self.ops:
            line += f" {list(self.ops)}"
        return line


@attrs.frozen(kw_only=True)
class PassResult:
    """Everything one pass planned: writes in order, objects rejected, work left pending.

    ``rejected`` are objects the syncer gives up on until they change (a namesake it does
    not own, a failing transform...), ``pending`` keys still failing when the pass ended,
    ``warnings`` what the replay found suspicious (a config selecting nothing...).
    """

    writes: tuple[Write, ...]
    rejected: tuple[Rejection, ...] = ()
    pending: tuple[Pending, ...] = ()
    warnings: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Write]:
        return iter(self.writes)

    def __len__(self) -> int:
        return len(self.writes)

    def listing(self) -> str:
        """Every write, one per line, then the rejections and pending keys."""
        lines = [w.describe() for w in self.writes] or ["(no writes)"]
        lines += [f"rejected {r.flow} {r.key}: {r.error_type}: {r.message}" for r in self.rejected]
        lines += [f"pending {p.flow} {p.key}: {p.error_type}: {p.message}" for p in self.pending]
        return "\n".join(lines)

    def find(
        self,
        api_version: str,
        kind: str,
        name: str,
        *,
        verb: str | None = None,
        side: Side | None = None,
        flow: str | None = None,
    ) -> list[Write]:
        """The writes to one object (see ``Write.matches``), optionally of one verb, side or
        flow, in order; ``[]`` when there are none."""
        return [
            w
            for w in self.writes
            if w.matches(api_version, kind, name)
            and (verb is None or w.verb == verb)
            and (side is None or w.side is side)
            and (flow is None or w.flow == flow)
        ]

    def _only(self, found: Sequence[Write], what: str) -> Write:
        if len(found) != 1:
            count = "no" if not found else f"{len(found)}"
            raise AssertionError(f"{count} {what} in this pass; its writes:\n{self.listing()}")
        return found[0]

    def created(
        self, api_version: str, kind: str, name: str, *, side: Side | None = None
    ) -> RawObject:
        """The object the one create of ``name`` sent (the desired object as written)."""
        found = self.find(api_version, kind, name, verb="create", side=side)
        return self._only(found, f"create of {kind} {name}").body or {}

    def patched(
        self, api_version: str, kind: str, name: str, *, side: Side | None = None
    ) -> list[JsonPatchOp]:
        """The operations of the one patch of ``name``'s main resource (not ``/status``)."""
        found = [
            w
            for w in self.find(api_version, kind, name, verb="patch", side=side)
            if w.flow != STATUS_FLOW
        ]
        return list(self._only(found, f"patch of {kind} {name}").ops)

    def deleted(self, api_version: str, kind: str, name: str, *, side: Side | None = None) -> bool:
        """``True`` if ``name`` was deleted once; an ``AssertionError`` otherwise."""
        self._only(self.find(api_version, kind, name, verb="delete", side=side), "delete")
        return True

    def status_written(self, api_version: str, kind: str, name: str) -> list[JsonPatchOp]:
        """The operations of the one status-return write of ``name`` upstream."""
        found = self.find(api_version, kind, name, flow=STATUS_FLOW, side=Side.UPSTREAM)
        return list(self._only(found, f"status write of {kind} {name}").ops)

    def summary(self) -> dict[str, int]:
        """Counts by verb, with ``status`` for status-return writes (not counted as patches)."""
        counts = dict.fromkeys(("create", "patch", "delete", STATUS_FLOW), 0)
        for w in self.writes:
            counts[STATUS_FLOW if w.flow == STATUS_FLOW else w.verb] += 1
        return counts
