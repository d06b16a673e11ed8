"""Parity of the live syncer and the replay of its recording: run, record, replay, compare.

A parity check runs a real syncer while ``syncpipe.replay.recorder.Recorder`` records both
sides, then replays the recording through ``syncpipe.replay.engine.ReplayEngine`` with the same
``Settings``, and compares the writes: the syncer's, observed through the
``syncpipe_action_done`` hook (``WriteLog``), against the replay's plan. Each write is compared
by verb, side, group/resource, namespace/name, subresource and its patch operations (as a
multiset: their order follows the order of the object's fields, which a memory store need not
keep as the API server does). What a replay cannot reproduce is kept out of the comparison by
the named entries of ``syncpipe.replay.fidelity.NOT_EMULATED``, never silently.

``compare(live, replayed)`` answers with a ``ParityReport`` whose ``diff()`` is one line per
difference: ``missing in replay``, ``extra in replay``, ``differing ops``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import orjson

from syncpipe.clients.rest import RestClient
from syncpipe.config.settings import Settings
from syncpipe.hooks import hookimpl
from syncpipe.model.actions import Action, Delete, Patch
from syncpipe.model.events import Side
from syncpipe.replay import fidelity
from syncpipe.replay.engine import ReplayEngine
from syncpipe.replay.plan import ReplayResult
from syncpipe.replay.recorder import Recorder
from syncpipe.replay.snapshot import Record, RecordType, Snapshot
from syncpipe.runtime import wiring
from syncpipe.runtime.syncer import Syncer
from syncpipe.testing import wait_for

__all__ = [
    "ParityError",
    "ParityReport",
    "ParitySession",
    "RecordingWatch",
    "Write",
    "WriteLog",
    "assert_parity",
    "compare",
    "parity_session",
    "replay",
    "write_of",
]


class ParityError(AssertionError):
    """The replay's writes are not the syncer's; an AssertionError so pytest reports a
    failed test, with the diff."""


@attrs.frozen(order=True)
class Write:
    """One write as the comparison sees it; ``ops`` holds the patch operations as canonical
    JSON, sorted (empty for creates and deletes)."""

    verb: str
    side: str
    resource: str  # group/resource, as ``GroupVersionResource.group_resource``
    key: str  # namespace/name, or name
    subresource: str = ""
    ops: tuple[str, ...] = ()

    @property
    def target(self) -> tuple[str, str, str, str, str]:
        """What the write is to, without what it changes."""
        return (self.verb, self.side, self.resource, self.key, self.subresource)

    def __str__(self) -> str:
        sub = f"/{self.subresource}" if self.subresource else ""
        text = f"{self.verb}{sub} {self.side} {self.resource} {self.key}"
        return f"{text} ops=[{', '.join(self.ops)}]" if self.ops else text


def _canonical(op: dict[str, Any]) -> str:
    return orjson.dumps(op, option=orjson.OPT_SORT_KEYS).decode()


def write_of(action: Action) -> Write:
    """The comparable form of ``action``."""
    key = action.key
    write = Write(
        verb=action.verb, side=action.side.value, resource=key.gvr.group_resource, key=key.cache_key
    )
    if isinstance(action, Patch):
        ops = tuple(sorted(_canonical(op) for op in action.ops))
        return attrs.evolve(write, subresource=action.subresource, ops=ops)
    return write


class WriteLog:
    """A plugin recording every write the real syncer carried out, with its outcome."""

    def __init__(self) -> None:
        self.done: list[tuple[Action, Any]] = []
        self._lock = threading.Lock()

    @hookimpl
    def syncpipe_action_done(self, action: Action, outcome: Any) -> None:
        with self._lock:
            self.done.append((action, outcome))

    @property
    def writes(self) -> list[Write]:
        with self._lock:
            return [write_of(action) for action, _ in self.done]

    def of(self, verb: str) -> set[Write]:
        return {w for w in self.writes if w.verb == verb}


@attrs.frozen
class ParityReport:
    """The syncer's writes against the replay's, after the documented exclusions."""

    missing: tuple[Write, ...]  # made by the syncer, not planned by the replay
    extra: tuple[Write, ...]  # planned by the replay, never made by the syncer
    excluded: tuple[tuple[Write, str], ...]  # left out of the comparison, with the reason

    @property
    def equal(self) -> bool:
        return not self.missing and not self.extra

    def diff(self) -> str:
        """One line per difference; a patch of the same object on both sides with other
        operations is one ``differing ops`` line."""
        extra = list(self.extra)
        lines = []
        for write in self.missing:
            twin = next((w for w in extra if w.target == write.target), None)
            if twin is None:
                lines.append(f"missing in replay: {write}")
                continue
            extra.remove(twin)
            only_live = sorted(set(write.ops) - set(twin.ops))
            only_replay = sorted(set(twin.ops) - set(write.ops))
            lines.append(
                f"differing ops: {' '.join(write.target[:4])}{'/' if write.subresource else ''}"
                f"{write.subresource}: live only [{', '.join(only_live)}], "
                f"replay only [{', '.join(only_replay)}]"
            )
        lines.extend(f"extra in replay: {w}" for w in extra)
        return "\n".join(lines)


def _excluded(action: Action) -> str:
    """The name of the ``NOT_EMULATED`` entry that keeps ``action`` out, or ``""``."""
    for entry in fidelity.NOT_EMULATED:
        if entry.covers(action):
            return entry.name
    return ""


def compare(live: Iterable[Action], replayed: Iterable[Action]) -> ParityReport:
    """The syncer's writes (``live``) against the replay's, as multisets of ``Write``."""
    kept: dict[str, Counter[Write]] = {"live": Counter(), "replay": Counter()}
    excluded: list[tuple[Write, str]] = []
    for side, actions in (("live", live), ("replay", replayed)):
        for action in actions:
            reason = _excluded(action)
            if reason:
                excluded.append((write_of(action), reason))
            else:
                kept[side][write_of(action)] += 1
    missing = kept["live"] - kept["replay"]
    extra = kept["replay"] - kept["live"]
    return ParityReport(
        missing=tuple(sorted(missing.elements())),
        extra=tuple(sorted(extra.elements())),
        excluded=tuple(excluded),
    )


class RecordingWatch:
    """Follows what a ``Recorder`` has written (its ``on_record``), so a test can wait until
    the recording holds the result of every write the syncer made."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._collections: set[tuple[str, str]] = set()  # side, group/resource
        self._seen: set[tuple[str, str, str, str]] = set()  # side, group/resource, key, rv

    def __call__(self, record: Record) -> None:
        side, resource = record.side.value, record.gvr.group_resource
        with self._lock:
            self._collections.add((side, resource))
            obj = record.object
            if obj is None:
                return
            meta = obj.get("metadata") or {}
            key = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
            if record.type is RecordType.DELETED or meta.get("deletionTimestamp"):
                self._seen.add((side, resource, key, "deleted"))
            self._seen.add((side, resource, key, str(meta.get("resourceVersion", ""))))

    def holds_result(self, action: Action, outcome: Any) -> bool:
        """Whether the recording shows what ``action`` left (true for collections it does
        not record: nothing to wait for there)."""
        key = action.key
        side, resource = action.side.value, key.gvr.group_resource
        with self._lock:
            if (side, resource) not in self._collections:
                return True
            if isinstance(action, Delete):
                return (side, resource, key.cache_key, "deleted") in self._seen
            version = ""
            if isinstance(outcome, dict):
                version = str((outcome.get("metadata") or {}).get("resourceVersion", ""))
            return not version or (side, resource, key.cache_key, version) in self._seen


@attrs.define
class ParitySession:
    """A running session: the syncer (started by the test when it wants), its write log."""

    syncer: Syncer
    log: WriteLog
    recorder: Recorder
    snapshot: Path


@contextmanager
def parity_session(
    *,
    up_rest: RestClient,
    down_rest: RestClient,
    settings: Settings,
    upstream_kubeconfig: str,
    downstream_kubeconfig: str,
    snapshot: Path,
    start_syncer: bool = True,
) -> Iterator[ParitySession]:
    """Record both sides into ``snapshot`` while a syncer built from ``settings`` runs.

    The recording starts first (its initial lists complete before the syncer starts, unless
    ``start_syncer`` is false: then the test starts it). On leaving, the syncer is stopped,
    the recording is kept going until it holds the result of every write the syncer made, and
    is then closed.
    """
    watch = RecordingWatch()
    recorder = Recorder(
        target=snapshot,
        clients={Side.UPSTREAM: up_rest, Side.DOWNSTREAM: down_rest},
        config_objects=None,
        rediscovery_interval=settings.discovery_interval,
        on_record=watch,
    )
    stop = threading.Event()
    thread = threading.Thread(
        target=recorder.run_until, args=(stop.is_set,), kwargs={"tick": 0.1}, daemon=True
    )
    thread.start()
    syncer = wiring.build_syncer(
        settings=settings,
        upstream_kubeconfig=upstream_kubeconfig,
        downstream_kubeconfig=downstream_kubeconfig,
    )
    log = WriteLog()
    syncer.hooks.pm.register(log, name="parity-write-log")
    session = ParitySession(syncer=syncer, log=log, recorder=recorder, snapshot=snapshot)
    try:
        wait_for(recorder.synced, timeout=30, message="recorder did not finish its first lists")
        if start_syncer:
            syncer.start()
            wait_for(syncer.ready.is_set, timeout=60, message="syncer not ready")
        yield session
    finally:
        syncer.stop(timeout=10)
        try:
            done = list(log.done)
            wait_for(
                lambda: all(watch.holds_result(a, o) for a, o in done),
                timeout=30,
                message=lambda: (
                    "recording lacks the result of: "
                    + ", ".join(str(write_of(a)) for a, o in done if not watch.holds_result(a, o))
                ),
            )
        finally:
            stop.set()
            thread.join(timeout=30)


def replay(snapshot: Path, settings: Settings) -> ReplayResult:
    """The replay of ``snapshot`` with ``settings``, as ``syncpipe replay`` runs it."""
    recording = Snapshot(snapshot)
    return ReplayEngine(header=recording.header, settings=settings).run(recording.records())


def replayed_actions(result: ReplayResult) -> list[Action]:
    return [w.action for w in result.writes]


def assert_parity(session: ParitySession, settings: Settings) -> ReplayResult:
    """Replay ``session``'s recording with ``settings``; fail with the diff when the replay's
    writes are not the syncer's."""
    result = replay(session.snapshot, settings)
    live = [action for action, _ in session.log.done]
    report = compare(live, replayed_actions(result))
    if not report.equal:
        raise ParityError(
            f"replay differs from the syncer ({len(live)} writes live, {len(result.writes)} "
            f"replayed):\n{report.diff()}"
        )
    return result
