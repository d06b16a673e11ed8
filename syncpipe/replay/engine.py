"""The replay engine: the live syncer's pipeline, driven synchronously over memory stores.

``ReplayEngine`` is the second driver of ``syncpipe.runtime.pipeline.Pipeline`` (the live
syncer is the first): the same hooks, deletion guard, flows, status return, selection,
source watches, event handlers and janitor, given a ``MemoryApi`` per side instead of a
cluster, memory informers instead of REST ones, and a scheduler's queues. The flows'
reconciles, hook chain, three-way diff and planner are the live ones; only the shell around
them is different:

* **no threads**: snapshot records are applied to the memory stores in file order, a batch
  of records with the same timestamp at a time; after each batch the keys the changes queued
  are reconciled, in sorted order, downsync then upsync then status, until no queue holds a
  key (quiescence);
* **virtual time**: the clock is the snapshot's ``t``. Work the live syncer delays (status
  return's trailing edge within its settle window, see ``runtime.statuspacing``; "retry in
  1 s" while a CRD is not served yet; backoff after an error) is due at a virtual time and
  runs when the replay reaches it, before the records of that time are applied. After the
  last record, delayed work still runs, each key at most ``RETRIES_AFTER_END`` more times;
  what is still failing then is reported as pending;
* **writes go to the memory store** of the target side through a ``PlanRecorder`` writer,
  which records each successful write as a ``PlannedWrite``: the plan. The memory store
  tells the owned-copy informers about the write, as a watch would, so the flows see their
  own writes;
* recorded changes of objects the replay itself wrote (the live syncer's writes, when it ran
  during the recording) simply replace the memory store's version: the recording is the
  truth, and the pipeline then finds nothing more to do.

The engine is deterministic: same snapshot, same configs and plugins ⇒ same plan, byte for
byte (uids, timestamps and resourceVersions come from counters and the virtual clock).

Not emulated: the syncer's own bookkeeping writes (SyncerConfig heartbeat and conditions,
Events about rejected objects, collection of emptied implicit namespaces) — rejections are
reported in the result instead; periodic resync, which finds nothing in a replay since
nothing drifts behind the pipeline's back between records; and status return's hold while
downsync has a backlog (``runtime.statushold``), since each instant's downsync keys are
drained before its status keys, so no backlog exists when a status key comes due.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable, Sequence

import orjson
import pluggy

from syncpipe import errors
from syncpipe.config import configapi, selectorsyntax
from syncpipe.config.settings import Settings
from syncpipe.model.actions import Action
from syncpipe.model.events import Direction, EventType, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject, labels_of
from syncpipe.model.resources import GroupVersionResource, ResourceInfo
from syncpipe.replay.memstore import MemoryApi
from syncpipe.replay.result import PlannedWrite, PlanRecorder, ReplayResult, ReplayStatistics
from syncpipe.replay.scheduler import Scheduler
from syncpipe.replay.served import ServedResources
from syncpipe.replay.snapshot import Header, Record, RecordType
from syncpipe.replay.sources import MemoryInformer
from syncpipe.runtime.availability import ConfigNotice
from syncpipe.runtime.pipeline import (
    QUEUE_NAMES,
    Driver,
    DrivesPipeline,
    Pipeline,
    build_hooks,
)

__all__ = ["ReplayEngine", "build_hooks"]

log = logging.getLogger(__name__)

QUEUES = QUEUE_NAMES
# Rounds of "reconcile every queued key" within one instant before the replay calls it a
# livelock (writes that keep triggering each other) and reports the keys as pending.
MAX_ROUNDS_PER_INSTANT = 1000

_RECORD_EVENTS = {
    RecordType.LIST: EventType.ADDED,
    RecordType.ADDED: EventType.ADDED,
    RecordType.MODIFIED: EventType.MODIFIED,
    RecordType.DELETED: EventType.DELETED,
}


def _epoch(rfc3339: str) -> float:
    try:
        moment = datetime.datetime.strptime(rfc3339 + "+0000", "%Y-%m-%dT%H:%M:%SZ%z")
    except ValueError:
        return 0.0
    return moment.timestamp()


class ReplayEngine(DrivesPipeline):
    """Replays snapshot records through the live pipeline (see the module docstring).

    ``configs`` (SyncerConfig/EdgeSyncConfig objects) fix the selection; without them the
    header's ``syncer_configs`` are used, and without those the SyncerConfigs and
    EdgeSyncConfigs recorded upstream, followed as they change. ``pace(dt)`` is called with
    the virtual time between batches (``--speed`` sleeps there).
    """

    def __init__(
        self,
        *,
        header: Header,
        settings: Settings,
        configs: Sequence[RawObject] | None = None,
        pm: pluggy.PluginManager | None = None,
        pace: Callable[[float], object] | None = None,
    ) -> None:
        self.header = header
        self.settings = settings
        self.scheduler = Scheduler(QUEUES)
        # As the live syncer's list and watch of the configs (the API server filters there).
        self._config_selector = selectorsyntax.parse(settings.syncer_config_selector)
        self._pace = pace
        start = _epoch(header.recorded_at)
        self.apis = {side: self._memory_api(side, start) for side in Side}
        # Both sides' stores in ``Side`` order, for what runs after every record and write.
        self._api_order = tuple(self.apis[side] for side in Side)
        for api in self.apis.values():
            api.deferred = True  # writers get their answer before their change comes back
        for recorded in header.resources:
            self.apis[recorded.side].declare_initial_list(recorded.info.gvr)
        self.writers = {side: PlanRecorder(self.apis[side], self._record_write) for side in Side}
        self.pipeline = Pipeline(
            settings=settings,
            driver=Driver(
                clock=self._clock,
                queues={name: self.scheduler.queue(name) for name in QUEUES},
                writers=self.writers,
                readers=self.apis,
                served=self._served,
                open_source=self._open_source,
                request_rediscovery=self._request_rediscovery,
                collection_known=self._recorded,
                warn=self._warn,
                config_notice=self._config_notice,
            ),
            pm=pm,
        )
        self._reconcilers: dict[str, Callable[[ObjectKey], None]] = {
            "downsync": self.flows[Direction.DOWN].reconcile,
            "upsync": self.flows[Direction.UP].reconcile,
            "status": self.status_return.reconcile,
        }
        self._static_configs = list(configs) if configs is not None else None
        if self._static_configs is None and header.syncer_configs:
            self._static_configs = list(header.syncer_configs)
        self._served_before: dict[Side, frozenset[GroupVersionResource]] = {}
        # Collections whose recording started later (RESOURCE records).
        self._declared: set[tuple[Side, str, str]] = set()
        self._current = ""
        self._started = False
        self._rediscover = True
        self._seen_generations: tuple[int, ...] = ()
        self._config_changes = 0
        self._seen_config_changes = -1
        self._warnings: list[str] = []
        self._writes: list[PlannedWrite] = []
        self._records = self._batches = self._reconciles = 0
        self.apis[Side.UPSTREAM].subscribe(self._config_changed)

    def _memory_api(self, side: Side, start: float) -> MemoryApi:
        info = self.header.sides.get(side) or self.header.sides.get(side.other)
        served = ServedResources(
            info.discovery if info else (), info.preferred_versions if info else {}
        )
        return MemoryApi(side=side, served=served, now=lambda: start + self.now)

    # -- running -----------------------------------------------------------------------------

    def run(self, records: Iterable[Record]) -> ReplayResult:
        """Replay every record, then what is still due; return the plan."""
        batch: list[Record] = []
        for record in records:
            if batch and record.t != batch[0].t:
                self.step(batch)
                batch = []
            batch.append(record)
        if batch:
            self.step(batch)
        self.finish()
        return self.result()

    def step(self, batch: list[Record]) -> None:
        """Apply records of one instant (``batch[0].t``), after the work due before it, and
        reconcile until quiescent. ``run`` calls this; so can a driver that wants to look at
        the memory stores between instants (the benchmark generator does)."""
        t = batch[0].t
        if self._started:
            self._advance_to(t)
        if self._pace is not None and t > self.now:
            self._pace(t - self.now)
        self.scheduler.now = max(self.now, t)
        for record in batch:
            self._apply(record)
            self._deliver()
        self._records += len(batch)
        self._batches += 1
        if not self._started and self._initial_lists_done():
            self._start()
        elif self._started:
            self._drain()

    def finish(self) -> None:
        """Run what is still due after the last record (retries bounded), then stop."""
        if not self._started:
            self._start()
        self.scheduler.finishing = True
        while self.scheduler.release_next(until=float("inf")):
            self._drain()

    def informers(self) -> list[MemoryInformer]:
        """Every informer of the replayed syncer: sources, owned copies, upstream namespaces."""
        return [i for i in self.pipeline.informers() if isinstance(i, MemoryInformer)]

    def result(self) -> ReplayResult:
        scheduler = self.scheduler
        return ReplayResult(
            writes=tuple(self._writes),
            rejected=tuple(scheduler.rejected),
            pending=tuple(sorted(scheduler.pending, key=lambda p: (p.flow, p.key))),
            warnings=tuple(self._warnings),
            statistics=ReplayStatistics(
                records=self._records,
                batches=self._batches,
                reconciles=self._reconciles,
                duration=scheduler.now,
            ),
        )

    def _apply(self, record: Record) -> None:
        api = self.apis[record.side]
        if record.type is RecordType.SYNCED:
            api.mark_synced(record.gvr)
            if self._started:
                self._resync_sources(record.gvr, record.side)
            return
        if record.type is RecordType.RESOURCE:
            api.declare_initial_list(record.gvr)
            self._declared.add((record.side, record.gvr.group, record.gvr.resource))
            return
        obj = record.object
        if obj is None:
            return
        api.apply_recorded(
            record.gvr,
            _RECORD_EVENTS[record.type],
            obj,
            inferred=record.type is RecordType.DELETED and record.inferred,
        )

    def _initial_lists_done(self) -> bool:
        return all(self.apis[r.side].has_synced(r.info.gvr) for r in self.header.resources)

    def _start(self) -> None:
        """What the syncer does once its caches are filled: select, watch, clean up, sync."""
        self._started = True
        self._rediscover = False
        self._seen_generations = tuple(self.apis[side].served.generation for side in Side)
        self._seen_config_changes = self._config_changes
        self._served_before = self._served_now()
        self.pipeline.scope_upstream_namespace_watch()
        self._apply_selection()
        self.pipeline.janitor.start({side: self.apis[side].served.resources for side in Side})
        self._drain()

    # -- queues and virtual time -------------------------------------------------------------

    @property
    def now(self) -> float:
        """Virtual seconds since the recording started."""
        return self.scheduler.now

    def _clock(self) -> float:
        return self.scheduler.now

    def _advance_to(self, t: float) -> None:
        """Run, in order of their due time, the delayed keys due at or before ``t``."""
        while self.scheduler.release_next(until=t):
            self._drain()

    def _drain(self) -> None:
        """Reconcile queued keys, in sorted order, until no queue holds one."""
        scheduler = self.scheduler
        for _ in range(MAX_ROUNDS_PER_INSTANT):
            self._follow_changes()
            if not scheduler.busy:
                return
            for name in QUEUES:
                keys = scheduler.take(name)
                if name == "status" and not self.settings.status_return:
                    continue
                for key in keys:
                    self._process(name, key)
        scheduler.abandon_queued(
            error_type="Livelock",
            message=f"still queued after {MAX_ROUNDS_PER_INSTANT} rounds at "
            f"t={self.now:.3f}s: writes keep triggering each other",
        )

    def _process(self, name: str, key: ObjectKey) -> None:
        self._current = name
        try:
            self._reconcilers[name](key)
        except Exception as exc:  # noqa: BLE001 - classified by the scheduler, as live
            if self.scheduler.failed(name, key, exc):
                self.hooks.object_rejected(key=key, error=exc)
                if isinstance(exc, errors.RetryableError):  # a field fight: reported, retried
                    self._warn(f"{name}: {exc}")
        else:
            self._reconciles += 1
            self.scheduler.succeeded(name, key)
        finally:
            self._current = ""
            self._deliver()

    def _deliver(self) -> None:
        """The watch events of the changes made since the last call, to the informers."""
        for api in self._api_order:
            api.deliver()

    def _record_write(self, action: Action, result: RawObject | None) -> None:
        """Every successful write of a flow: one line of the plan."""
        self._writes.append(
            PlannedWrite(
                seq=len(self._writes) + 1,
                t=self.now,
                flow=self._current or "syncer",
                action=action,
                object_bytes=None if result is None else len(orjson.dumps(result)),
            )
        )

    # -- selection and sources (the live syncer's control loop) ------------------------------

    def _config_changed(self, gvr: GroupVersionResource, event: EventType, obj: RawObject) -> None:
        if (gvr.group, gvr.resource) in configapi.CONFIG_RESOURCES:
            self._config_changes += 1

    def _request_rediscovery(self) -> None:
        self._rediscover = True

    def _follow_changes(self) -> None:
        """Re-select when the configs or the served resources changed (new CRDs)."""
        if not self._started:
            return
        generations = tuple(api.served.generation for api in self._api_order)
        dynamic = self._static_configs is None
        configs_changed = dynamic and self._config_changes != self._seen_config_changes
        if self._rediscover or generations != self._seen_generations or configs_changed:
            self._rediscover = False
            if generations != self._seen_generations:
                self._seen_generations = generations
                before, self._served_before = self._served_before, self._served_now()
                self.pipeline.served_changed(
                    {
                        side: [
                            info
                            for info in self.apis[side].served.resources
                            if info.gvr not in before.get(side, frozenset())
                        ]
                        for side in Side
                    }
                )
            self._seen_config_changes = self._config_changes
            self._apply_selection()

    def _configs(self) -> list[RawObject]:
        """The configs the syncer merges: given, or upstream; those its selector picks."""
        if self._static_configs is not None:
            found = self._static_configs
        else:
            up = self.apis[Side.UPSTREAM]
            found = []
            for group, resource in configapi.CONFIG_RESOURCES:
                info = up.served.by_group_resource(group, resource)
                if info is not None:
                    found.extend(up.objects(info.gvr))
        return [obj for obj in found if self._config_selector.matches(labels_of(obj))]

    def _warn(self, message: str) -> None:
        if message not in self._warnings:
            self._warnings.append(message)

    def _config_notice(self, notice: ConfigNotice) -> None:
        """What the live syncer posts as a Warning Event on a config, a replay reports."""
        if notice.event_type == "Warning":
            self._warn(f"{notice.ref}: {notice.message}")

    def _apply_selection(self) -> None:
        self.pipeline.apply_selection(self.pipeline.selection_from(self._configs()))

    def _resync_sources(self, gvr: GroupVersionResource, side: Side) -> None:
        """A collection's late initial list is complete: look at all of it again."""
        for direction, flow in self.flows.items():
            state = flow.sources.get(gvr)
            if direction.source is side and state is not None and state.informer is not None:
                state.informer.resync()

    # -- what the pipeline asks of its driver ------------------------------------------------

    def _served(self, side: Side) -> ServedResources:
        return self.apis[side].served

    def _served_now(self) -> dict[Side, frozenset[GroupVersionResource]]:
        return {side: frozenset(i.gvr for i in self.apis[side].served.resources) for side in Side}

    def _open_source(
        self, side: Side, info: ResourceInfo, label_selector: str, namespaces: tuple[str, ...]
    ) -> MemoryInformer:
        """A memory informer of ``info``: what the live watch would see, in ``namespaces``."""
        return MemoryInformer(
            api=self.apis[side],
            gvr=info.gvr,
            label_selector=label_selector,
            namespaces=namespaces,
            clock=self._clock,
        )

    def _recorded(self, side: Side, gvr: GroupVersionResource) -> bool:
        """Whether the snapshot recorded ``gvr`` on ``side`` (else nothing is known of it)."""
        return (
            any(
                r.side is side
                and (r.info.gvr.group, r.info.gvr.resource) == (gvr.group, gvr.resource)
                for r in self.header.resources
            )
            or (side, gvr.group, gvr.resource) in self._declared
        )
