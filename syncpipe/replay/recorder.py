"""``syncpipe record``: capture a live session of one or both sides into a snapshot.

For every collection to capture (``syncpipe.replay.capture``) the recorder runs the syncer's
own source stage — a ``syncpipe.source.informer.Informer`` over a
``syncpipe.clients.watching.CollectionListerWatcher`` — and writes what its handlers are
told: the initial list as ``LIST`` records closed by ``SYNCED``, then every watch event with
its arrival time (the store's ``observed_at``). A relist after a broken watch appears as the
changes it found, deletions flagged ``inferred``; periodic resync and bookmarks carry no
change and are not written.

Every ``rediscovery_interval`` seconds, and at once when a CRD or (following the configs
upstream) a SyncerConfig changes, the recorder looks again at what to capture: a collection
that became selected or served is recorded from then on, announced by a ``RESOURCE`` record.

Secrets are redacted (``syncpipe.replay.redaction``) before anything is written, unless the
recorder is told to keep their data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

import attrs

from syncpipe.clients.rest import RestClient
from syncpipe.clients.watching import CollectionListerWatcher
from syncpipe.model.events import Event, EventType, Side
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import CRD_GVR, GroupVersionResource, ResourceInfo
from syncpipe.replay import capture, configs, redaction
from syncpipe.replay.snapshot import (
    SECRET_DATA_KEPT,
    SECRET_DATA_REDACTED,
    Header,
    Record,
    RecordedResource,
    RecordType,
    SideInfo,
    SnapshotWriter,
    now_rfc3339,
)
from syncpipe.source.informer import Informer
from syncpipe.source.reflector import WatchStream

log = logging.getLogger(__name__)

# How often what to capture is looked at again without a CRD or config change asking for it.
REDISCOVERY_SECONDS = 15.0

_EVENT_RECORDS = {
    EventType.ADDED: RecordType.ADDED,
    EventType.MODIFIED: RecordType.MODIFIED,
    EventType.DELETED: RecordType.DELETED,
}


class _InitialListTap:
    """Wraps a ListerWatcher to learn the size of the first list before the store emits it.

    The reflector calls ``list`` and then hands the items to the store, which emits one
    ``ADDED`` per item: telling the handler the count first is what lets it tell the initial
    list's events from later ones without racing the reflector thread.
    """

    def __init__(
        self, inner: CollectionListerWatcher, on_first_list: Callable[[int, str], None]
    ) -> None:
        self._inner = inner
        self._on_first_list: Callable[[int, str], None] | None = on_first_list

    def list(self, *, resource_version: str = "") -> tuple[list[RawObject], str]:
        items, rv = self._inner.list(resource_version=resource_version)
        if self._on_first_list is not None:
            self._on_first_list(len(items), rv)
            self._on_first_list = None
        return items, rv

    def watch(
        self, *, resource_version: str, timeout_seconds: int, allow_bookmarks: bool
    ) -> WatchStream:
        return self._inner.watch(
            resource_version=resource_version,
            timeout_seconds=timeout_seconds,
            allow_bookmarks=allow_bookmarks,
        )


@attrs.define(eq=False)
class _Capture:
    """One recorded collection: its informer and how much of its first list is still due."""

    side: Side
    info: ResourceInfo
    informer: Informer | None = None
    remaining: int = -1  # items of the first list not yet written; -1: not listed yet
    list_rv: str = ""


class Recorder:
    """Records the given sides into ``target`` until ``stop()``.

    ``clients`` holds a RestClient per side to record; ``config_objects`` fixes the selection
    (``--syncer-config``), ``None`` follows the SyncerConfigs upstream (``--all-selected``).
    ``on_record`` is told every record once it is written (from the informers' threads): a
    test waits on it until the recording holds what it needs, instead of sleeping.
    """

    def __init__(
        self,
        *,
        target: str | Path | IO[bytes],
        clients: Mapping[Side, RestClient],
        config_objects: Sequence[RawObject] | None,
        keep_secret_data: bool = False,
        rediscovery_interval: float = REDISCOVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        on_record: Callable[[Record], None] | None = None,
    ) -> None:
        if config_objects is None and Side.UPSTREAM not in clients:
            raise ValueError("following the SyncerConfigs needs the upstream side")
        self._target = target
        self.clients = dict(clients)
        self._configs = list(config_objects) if config_objects is not None else None
        self._redact = redaction.keep if keep_secret_data else redaction.Redactor().redact
        self._keep = keep_secret_data
        self._interval = rediscovery_interval
        self._clock = clock
        self._on_record = on_record
        self._t0 = 0.0
        self._captures: dict[tuple[Side, GroupVersionResource], _Capture] = {}
        self._rediscover = threading.Event()
        self._started = threading.Event()
        self._last_discovery = 0.0
        self.writer: SnapshotWriter | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Header:
        """Discover, write the header, start an informer per collection; returns the header."""
        sides = {side: capture.describe_side(rest) for side, rest in self.clients.items()}
        wanted = self._wanted(sides)
        header = Header(
            recorded_at=now_rfc3339(),
            sides=sides,
            resources=[
                RecordedResource(side=side, info=info)
                for side in Side
                for info in wanted.get(side, ())
            ],
            syncer_configs=self._configs or (),
            secret_data=SECRET_DATA_KEPT if self._keep else SECRET_DATA_REDACTED,
        )
        self._t0 = self._clock()
        self._last_discovery = self._t0
        self.writer = SnapshotWriter(self._target, header)
        for recorded in header.resources:
            self._start_capture(recorded.side, recorded.info, announce=False)
        self._started.set()
        return header

    def poll(self) -> None:
        """Capture newly selected or served collections when it is time to look again."""
        due = self._clock() - self._last_discovery >= self._interval
        if not (due or self._rediscover.is_set()):
            return
        self._rediscover.clear()
        self._last_discovery = self._clock()
        sides = {side: capture.describe_side(rest) for side, rest in self.clients.items()}
        for side, infos in self._wanted(sides).items():
            for info in infos:
                if (side, info.gvr) not in self._captures:
                    log.info("recording %s on the %s side from now on", info.gvr, side.value)
                    self._start_capture(side, info, announce=True)

    @property
    def started_at(self) -> float:
        """The clock's reading when recording started: records' ``t`` are seconds after it."""
        return self._t0

    def synced(self) -> bool:
        """Whether recording started and every collection's initial list has been written."""
        return self._started.is_set() and all(
            c.remaining == 0 for c in list(self._captures.values())
        )

    def stop(self) -> int:
        """Stop the informers and finish the file; returns how many records were written."""
        for captured in list(self._captures.values()):
            if captured.informer is not None:
                captured.informer.stop(timeout=2.0)
        if self.writer is None:
            return 0
        self.writer.close()
        return self.writer.records

    def run_until(self, stop: Callable[[], bool], *, tick: float = 0.5) -> int:
        """Record until ``stop()`` answers true; returns how many records were written."""
        self.start()
        try:
            while not stop():
                time.sleep(tick)
                self.poll()
                if self.writer is not None:
                    self.writer.flush()
        finally:
            written = self.stop()
        return written

    # -- internals -------------------------------------------------------------------------------

    def _wanted(self, sides: Mapping[Side, SideInfo]) -> dict[Side, list[ResourceInfo]]:
        served = {side: capture.served_of(info) for side, info in sides.items()}
        objects = self._configs
        if objects is None:
            objects = capture.configs_upstream(self.clients[Side.UPSTREAM], served[Side.UPSTREAM])
        return capture.resources_to_capture(configs.selection_of(objects), served)

    def _t(self, observed_at: float) -> float:
        return max(0.0, observed_at - self._t0)

    def _write(self, record: Record) -> None:
        if self.writer is None or self.writer.closed:
            return
        try:
            self.writer.write(record)
        except ValueError:
            return  # closed meanwhile: an event that arrived while the recording stopped
        if self._on_record is not None:
            self._on_record(record)

    def _start_capture(self, side: Side, info: ResourceInfo, *, announce: bool) -> None:
        captured = _Capture(side=side, info=info)
        self._captures[(side, info.gvr)] = captured
        if announce:
            self._write(
                Record(
                    t=self._t(self._clock()),
                    side=side,
                    type=RecordType.RESOURCE,
                    gvr=info.gvr,
                    info=info,
                )
            )
        gvr = info.gvr
        follows_selection = (gvr.group, gvr.resource) in capture.CONFIG_RESOURCES or (
            gvr.group == CRD_GVR.group and gvr.resource == CRD_GVR.resource
        )

        def synced_mark() -> None:
            self._write(
                Record(
                    t=self._t(self._clock()),
                    side=side,
                    type=RecordType.SYNCED,
                    gvr=gvr,
                    resource_version=captured.list_rv,
                )
            )

        def on_first_list(count: int, rv: str) -> None:
            captured.list_rv = rv
            captured.remaining = count
            if count == 0:
                synced_mark()

        def on_event(event: Event) -> None:
            record_type = _EVENT_RECORDS.get(event.type)
            if record_type is None or event.obj is None:
                return  # REPLACED, RESYNC, BOOKMARK: nothing changed
            initial = captured.remaining > 0 and event.type is EventType.ADDED
            self._write(
                Record(
                    t=self._t(event.observed_at),
                    side=side,
                    type=RecordType.LIST if initial else record_type,
                    gvr=gvr,
                    object=self._redact(event.obj),
                    inferred=event.final_state_unknown,
                )
            )
            if initial:
                captured.remaining -= 1
                if captured.remaining == 0:
                    synced_mark()
            elif follows_selection:
                self._rediscover.set()

        rest = self.clients[side]
        informer = Informer(
            gvr=gvr,
            side=side,
            lister_watcher=_InitialListTap(CollectionListerWatcher(rest, gvr), on_first_list),
            name=f"record:{side.value}:{gvr}",
            clock=self._clock,
        )
        informer.add_handler(on_event)
        captured.informer = informer
        informer.start()
