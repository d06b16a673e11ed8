"""Parity of the live syncer and the replay of its recording: run, record, replay, compare.

A parity check runs a real syncer while ``syncpipe.replay.recorder.Recorder`` records both
sides, then replays the recording through ``syncpipe.replay.engine.ReplayEngine`` with the same
``Settings``, and compares the writes: every write the syncer's two REST clients sent and the
servers accepted (``WriteTap``: from the flows, status return, the janitor, namespace
clean-up, bookkeeping alike, so a write made outside the pipeline's hooks is not missed)
against the replay's plan. Each write is compared by verb, side, group/resource,
namespace/name, subresource and its patch operations, as a multiset: their order follows the
order of the object's fields, which a memory store need not keep as the API server does.
What a replay cannot reproduce is kept out of the comparison by the named entries of
``syncpipe.replay.fidelity.NOT_EMULATED``, and listed, never left out silently.

``compare(live, replayed)`` answers with a ``ParityReport`` whose ``diff()`` is one line per
difference: ``missing in replay``, ``extra in replay``, ``differing ops``. ``WriteLog`` is
the lighter observer for tests that only need the pipeline's writes (the
``syncpipe_action_done`` hook).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import orjson
from click.testing import CliRunner

from syncpipe.cli.main import cli
from syncpipe.clients.rest import RestClient
from syncpipe.config.settings import Settings
from syncpipe.hooks import hookimpl
from syncpipe.model.actions import Action, Patch
from syncpipe.model.events import Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import GroupVersionResource
from syncpipe.replay import fidelity
from syncpipe.replay.causality import causal_order
from syncpipe.replay.engine import ReplayEngine
from syncpipe.replay.recorder import Recorder
from syncpipe.replay.result import ReplayResult
from syncpipe.replay.snapshot import Record, RecordType, Snapshot
from syncpipe.runtime import wiring
from syncpipe.runtime.syncer import Syncer
from syncpipe.testing import wait_for

__all__ = [
    "ParityError",
    "ParityReport",
    "ParitySession",
    "RecordingWatch",
    "Sent",
    "Write",
    "WriteLog",
    "WriteTap",
    "assert_parity",
    "cli_replay",
    "compare",
    "parity_session",
    "replay",
    "replay_options",
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


# What ``Sent.result`` says of a delete the server accepted.
DELETED = "deleted"


def _canonical(op: dict[str, Any]) -> str:
    return orjson.dumps(op, option=orjson.OPT_SORT_KEYS).decode()


def _ops(ops: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(sorted(_canonical(op) for op in ops))


def write_of(action: Action) -> Write:
    """The comparable form of ``action``."""
    key = action.key
    write = Write(
        verb=action.verb, side=action.side.value, resource=key.gvr.group_resource, key=key.cache_key
    )
    if isinstance(action, Patch):
        return attrs.evolve(write, subresource=action.subresource, ops=_ops(action.ops))
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


def _excluded(write: Write) -> str:
    """The name of the ``NOT_EMULATED`` entry that keeps ``write`` out, or ``""``."""
    for entry in fidelity.NOT_EMULATED:
        if entry.covers(write.side, write.resource, write.subresource):
            return entry.name
    return ""


def compare(live: Iterable[Write], replayed: Iterable[Write]) -> ParityReport:
    """The syncer's writes (``live``) against the replay's, as multisets."""
    kept: dict[str, Counter[Write]] = {"live": Counter(), "replay": Counter()}
    excluded: list[tuple[Write, str]] = []
    for side, writes in (("live", live), ("replay", replayed)):
        for write in writes:
            reason = _excluded(write)
            if reason:
                excluded.append((write, reason))
            else:
                kept[side][write] += 1
    missing = kept["live"] - kept["replay"]
    extra = kept["replay"] - kept["live"]
    return ParityReport(
        missing=tuple(sorted(missing.elements())),
        extra=tuple(sorted(extra.elements())),
        excluded=tuple(excluded),
    )


@attrs.frozen
class Sent:
    """A write the server accepted, and what it left: the object's new resourceVersion,
    ``deleted``, or ``""`` when the answer did not say."""

    write: Write
    result: str
    at: float = 0.0  # time.monotonic() when the answer came


def _version_of(answer: Any) -> str:
    if not isinstance(answer, dict):
        return ""
    return str((answer.get("metadata") or {}).get("resourceVersion", ""))


class WriteTap:
    """Every write a ``RestClient`` sent and its server accepted, whoever in the syncer sent it
    (the flows, status return, the janitor, namespace clean-up, bookkeeping): ``attach``
    wraps the client's write verbs, on that one client object."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent: list[Sent] = []

    @property
    def writes(self) -> list[Write]:
        with self._lock:
            return [s.write for s in self.sent]

    def of(self, verb: str) -> list[Write]:
        return [w for w in self.writes if w.verb == verb]

    def _add(self, write: Write, result: str) -> None:
        at = time.monotonic()
        with self._lock:
            self.sent.append(Sent(write=write, result=result, at=at))

    def attach(self, rest: RestClient, side: Side) -> None:
        """Follow ``rest``'s writes (the ``side`` it talks to) from now on."""
        create, replace, json_patch = rest.create, rest.replace, rest.json_patch
        merge_patch, delete = rest.merge_patch, rest.delete

        def write(verb: str, gvr: GroupVersionResource, namespace: str, name: str) -> Write:
            key = ObjectKey(gvr, namespace, name)
            return Write(verb=verb, side=side.value, resource=gvr.group_resource, key=key.cache_key)

        def tapped_create(gvr: GroupVersionResource, namespace: str, body: RawObject) -> Any:
            answer = create(gvr, namespace, body)
            name = str((body.get("metadata") or {}).get("name", ""))
            self._add(write("create", gvr, namespace, name), _version_of(answer))
            return answer

        def tapped_body_write(
            verb: str, send: Callable[..., Any], ops_of: Callable[[Any], tuple[str, ...]]
        ) -> Callable[..., Any]:
            """An update or a patch: a body (or patch) sent to a named object or subresource."""

            def tapped(
                gvr: GroupVersionResource,
                namespace: str,
                name: str,
                body: Any,
                subresource: str = "",
            ) -> Any:
                answer = send(gvr, namespace, name, body, subresource)
                sent = attrs.evolve(
                    write(verb, gvr, namespace, name), subresource=subresource, ops=ops_of(body)
                )
                self._add(sent, _version_of(answer))
                return answer

            return tapped

        def tapped_delete(
            gvr: GroupVersionResource, namespace: str, name: str, *, uid: str = ""
        ) -> None:
            delete(gvr, namespace, name, uid=uid)
            self._add(write("delete", gvr, namespace, name), DELETED)

        # Instance attributes: this client object only, every holder of it included.
        rest.create = tapped_create  # type: ignore[method-assign]
        rest.replace = tapped_body_write("update", replace, lambda _body: ())  # type: ignore[method-assign]
        rest.json_patch = tapped_body_write("patch", json_patch, _ops)  # type: ignore[method-assign]
        rest.merge_patch = tapped_body_write(  # type: ignore[method-assign]
            "merge-patch", merge_patch, lambda patch: (_canonical(patch),)
        )
        rest.delete = tapped_delete  # type: ignore[method-assign]


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
                self._seen.add((side, resource, key, DELETED))
            self._seen.add((side, resource, key, str(meta.get("resourceVersion", ""))))

    def holds_result(self, sent: Sent) -> bool:
        """Whether the recording shows what ``sent`` left (true for collections it does not
        record: nothing to wait for there)."""
        write = sent.write
        with self._lock:
            if (write.side, write.resource) not in self._collections:
                return True
            return not sent.result or (write.side, write.resource, write.key, sent.result) in (
                self._seen
            )


@attrs.define
class ParitySession:
    """A running session: the syncer, every write it made, the recorder and its snapshot."""

    syncer: Syncer
    log: WriteTap
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
) -> Iterator[ParitySession]:
    """Record both sides into ``snapshot`` while a syncer built from ``settings`` runs.

    The recording starts first: its initial lists are complete before the syncer starts, as
    a replay needs them (the state the syncer found). On leaving, the syncer is stopped,
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
    log = WriteTap()
    log.attach(syncer.upstream, Side.UPSTREAM)
    log.attach(syncer.downstream, Side.DOWNSTREAM)
    session = ParitySession(syncer=syncer, log=log, recorder=recorder, snapshot=snapshot)
    try:
        wait_for(recorder.synced, timeout=30, message="recorder did not finish its first lists")
        syncer.start()
        wait_for(syncer.ready.is_set, timeout=60, message="syncer not ready")
        yield session
    finally:
        syncer.stop(timeout=10)
        try:
            sent = list(log.sent)
            wait_for(
                lambda: all(watch.holds_result(s) for s in sent),
                timeout=30,
                message=lambda: (
                    "recording lacks the result of: "
                    + ", ".join(str(s.write) for s in sent if not watch.holds_result(s))
                ),
            )
        finally:
            stop.set()
            thread.join(timeout=30)


def replay(snapshot: Path, settings: Settings) -> ReplayResult:
    """The replay of ``snapshot`` with ``settings``, as ``syncpipe replay`` runs it."""
    recording = Snapshot(snapshot)
    engine = ReplayEngine(header=recording.header, settings=settings)
    return engine.run(causal_order(recording.records()))


def _timeline(session: ParitySession, result: ReplayResult, settings: Settings) -> str:
    """Both sides' writes in the recording's time, and how to replay the snapshot again."""
    t0 = session.recorder.started_at
    lines = ["live writes (t: seconds into the recording):"]
    lines += [f"  {sent.at - t0:8.4f} {sent.write}" for sent in session.log.sent]
    lines.append("replayed writes:")
    lines += [f"  {w.t:8.4f} {write_of(w.action)}" for w in result.writes]
    again = " ".join(["syncpipe replay", str(session.snapshot), *replay_options(settings)])
    lines.append(f"to look again: {again}")
    return "\n".join(lines)


def replay_options(settings: Settings) -> list[str]:
    """The ``syncpipe replay`` options of the pipeline-shaping ``settings`` (those it takes)."""
    args = [
        "--syncer-name",
        settings.syncer_name,
        "--namespace-mapping",
        settings.namespace_mapping,
        "--status-settle",
        f"{settings.status_settle_seconds}s",
        "--status-return" if settings.status_return else "--no-status-return",
    ]
    if settings.syncer_config_selector:
        args += ["--syncer-config-selector", settings.syncer_config_selector]
    for name in settings.disabled_plugins:
        args += ["--plugins-disable", name]
    for plugin, options in settings.plugin_settings.items():
        for key, value in options.items():
            args += ["--plugin-opt", f"{plugin}.{key}={value}"]
    return args


def cli_replay(snapshot: Path, settings: Settings) -> list[Write]:
    """The writes ``syncpipe replay SNAPSHOT -o json`` plans with the options of ``settings``."""
    args = ["replay", str(snapshot), *replay_options(settings), "-o", "json"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    if result.exit_code != 0:
        raise ParityError(f"syncpipe {' '.join(args)} failed: {result.output}")
    writes = []
    for entry in orjson.loads(result.stdout)["writes"]:
        gvr = GroupVersionResource.parse(entry["resource"])
        key = ObjectKey(gvr, entry["namespace"], entry["name"])
        writes.append(
            Write(
                verb=entry["verb"],
                side=entry["side"],
                resource=gvr.group_resource,
                key=key.cache_key,
                subresource=entry["subresource"],
                ops=_ops(entry.get("ops") or ()),
            )
        )
    return writes


def assert_parity(session: ParitySession, settings: Settings) -> ReplayResult:
    """Replay ``session``'s recording with ``settings``; fail with the diff when the replay's
    writes are not the syncer's, or when ``syncpipe replay`` with the same options plans
    other writes than the engine given ``settings``."""
    result = replay(session.snapshot, settings)
    live = session.log.writes
    replayed = [write_of(w.action) for w in result.writes]
    report = compare(live, replayed)
    if not report.equal:
        raise ParityError(
            f"replay differs from the syncer ({len(live)} writes live, {len(result.writes)} "
            f"replayed, {len(report.excluded)} of them not compared: "
            f"{', '.join(sorted({reason for _, reason in report.excluded})) or 'none'}):\n"
            f"{report.diff()}\n{_timeline(session, result, settings)}"
        )
    from_cli = compare(replayed, cli_replay(session.snapshot, settings))
    if not from_cli.equal:
        raise ParityError(
            "syncpipe replay with the same options differs from the replay with the same "
            f"Settings (here 'missing' = not planned by the CLI):\n{from_cli.diff()}"
        )
    return result
