"""The replay engine: the live syncer's flows, driven synchronously over memory stores.

``ReplayEngine`` builds exactly what ``syncpipe.runtime.syncer.Syncer`` builds — the plugin
manager with the built-in plugins and the installed ones, ``Hooks``, one
``syncpipe.runtime.flow.Flow`` per direction, ``StatusReturn``, the deletion guard — and
hands them a ``MemoryApi`` per side instead of a cluster. The flows' reconciles, hook chain,
three-way diff and planner are the live ones; only the shell around them is different:

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

import attrs
import orjson
import pluggy

from syncpipe import builtin, errors
from syncpipe.builtin import namespaces, ownership
from syncpipe.config import configapi, selectorsyntax, syncerconfig
from syncpipe.config.selection import Selection
from syncpipe.config.settings import Settings
from syncpipe.hooks import manager
from syncpipe.hooks.context import SyncContext
from syncpipe.model.actions import Action
from syncpipe.model.events import Direction, Event, EventType, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject, annotations_of, labels_of, name_of
from syncpipe.model.resources import NAMESPACE_GVR, GroupVersionResource, ResourceInfo
from syncpipe.replay.memstore import MemoryApi
from syncpipe.replay.plan import PlannedWrite, PlanRecorder, ReplayResult, ReplayStatistics
from syncpipe.replay.scheduler import Scheduler
from syncpipe.replay.served import ServedResources
from syncpipe.replay.snapshot import Header, Record, RecordType
from syncpipe.replay.sources import MemoryInformer
from syncpipe.runtime import routing
from syncpipe.runtime.flow import (
    RETURN_STATUS_ANNOTATION,
    FightGuard,
    Flow,
    SourceState,
    StatusReturn,
    sources_wanted,
)
from syncpipe.runtime.safety import DeletionGuard
from syncpipe.runtime.statuspacing import StatusPacer

log = logging.getLogger(__name__)

CONFIG_RESOURCES = frozenset(configapi.CONFIG_RESOURCES)
QUEUES = ("downsync", "upsync", "status")
# Rounds of "reconcile every queued key" within one instant before the replay calls it a
# livelock (writes that keep triggering each other) and reports the keys as pending.
MAX_ROUNDS_PER_INSTANT = 1000

_RECORD_EVENTS = {
    RecordType.LIST: EventType.ADDED,
    RecordType.ADDED: EventType.ADDED,
    RecordType.MODIFIED: EventType.MODIFIED,
    RecordType.DELETED: EventType.DELETED,
}


def build_hooks(settings: Settings, pm: pluggy.PluginManager | None = None) -> manager.Hooks:
    """The hooks exactly as ``Syncer.__init__`` assembles them (plugins, mapper, transforms)."""
    if pm is None:
        pm = manager.build(builtins=builtin.MODULES, disabled=settings.disabled_plugins)
    ctx = SyncContext(
        syncer_name=settings.syncer_name,
        selection=Selection.empty(),
        plugin_settings=settings.plugin_settings,
    )
    hooks = manager.Hooks(pm=pm, ctx=ctx, transform_order=settings.transform_order)
    hooks.configure()
    mappers = hooks.namespace_mappers()
    mapper = mappers.get(settings.namespace_mapping) or namespaces.build_mapper(
        settings.namespace_mapping, syncer_name=settings.syncer_name
    )
    hooks.ctx = attrs.evolve(ctx, namespace_mapper=mapper)
    hooks.transforms()  # fail fast on duplicate transform names
    return hooks


def _epoch(rfc3339: str) -> float:
    try:
        moment = datetime.datetime.strptime(rfc3339 + "+0000", "%Y-%m-%dT%H:%M:%SZ%z")
    except ValueError:
        return 0.0
    return moment.timestamp()


class ReplayEngine:
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
        self.status_pacer = StatusPacer(
            window=settings.status_settle_seconds, clock=lambda: self.now
        )
        self._pace = pace
        start = _epoch(header.recorded_at)
        self.apis = {side: self._memory_api(side, start) for side in Side}
        for api in self.apis.values():
            api.deferred = True  # writers get their answer before their change comes back
        for recorded in header.resources:
            self.apis[recorded.side].declare_initial_list(recorded.info.gvr)
        self.hooks = build_hooks(settings, pm)
        self.guard = DeletionGuard(
            owned_count=self._owned_count,
            max_fraction=settings.max_inferred_delete_fraction,
            min_held=settings.min_inferred_deletes_held,
            window=settings.resync_period,
            confirmed=settings.confirm_held_deletions,
            clock=lambda: self.now,
        )
        self.writers = {side: PlanRecorder(self.apis[side], self._record_write) for side in Side}
        self.flows = {
            direction: Flow(
                direction=direction,
                hooks=self.hooks,
                target_writer=self.writers[direction.target],
                resolver=self,
                guard=self.guard,
                on_missing_api=self._request_rediscovery,
                source_namespace_exists=(
                    self._upstream_namespace_exists
                    if direction is Direction.DOWN
                    else lambda _name: None
                ),
                fights=FightGuard(clock=lambda: self.now),
            )
            for direction in Direction
        }
        self._status_off: frozenset[str] = frozenset()
        self.status_return = StatusReturn(
            flow=self.flows[Direction.DOWN],
            upstream_writer=self.writers[Side.UPSTREAM],
            configs_without_status=lambda: self._status_off,
        )
        self._reconcilers: dict[str, Callable[[ObjectKey], None]] = {
            "downsync": self.flows[Direction.DOWN].reconcile,
            "upsync": self.flows[Direction.UP].reconcile,
            "status": self.status_return.reconcile,
        }
        self._static_configs = list(configs) if configs is not None else None
        if self._static_configs is None and header.syncer_configs:
            self._static_configs = list(header.syncer_configs)
        self._targets: dict[tuple[Direction, GroupVersionResource], MemoryInformer] = {}
        self._upstream_namespaces: MemoryInformer | None = None
        # Collections whose recording started later (RESOURCE records).
        self._declared: set[tuple[Side, str, str]] = set()
        self._inferred: set[tuple[str, str, str, str]] = set()
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
        found = [
            state.informer
            for flow in self.flows.values()
            for state in flow.sources.values()
            if isinstance(state.informer, MemoryInformer)
        ]
        found.extend(self._targets.values())
        if self._upstream_namespaces is not None:
            found.append(self._upstream_namespaces)
        return found

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
        if record.type is RecordType.DELETED and record.inferred:
            meta = obj.get("metadata") or {}
            self._inferred.add(
                (record.gvr.group, record.gvr.resource, meta.get("namespace") or "", meta["name"])
            )
        api.apply_recorded(record.gvr, _RECORD_EVENTS[record.type], obj)

    def _initial_lists_done(self) -> bool:
        return all(self.apis[r.side].has_synced(r.info.gvr) for r in self.header.resources)

    def _start(self) -> None:
        """What the syncer does once its caches are filled: select, watch, clean up, sync."""
        self._started = True
        self._rediscover = False
        self._seen_generations = tuple(self.apis[side].served.generation for side in Side)
        self._seen_config_changes = self._config_changes
        self._watch_upstream_namespaces()
        self._apply_selection()
        self._janitor()
        self._drain()

    # -- queues and virtual time -------------------------------------------------------------

    @property
    def now(self) -> float:
        """Virtual seconds since the recording started."""
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
        for side in Side:
            self.apis[side].deliver()

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
        if (gvr.group, gvr.resource) in CONFIG_RESOURCES:
            self._config_changes += 1

    def _request_rediscovery(self) -> None:
        self._rediscover = True

    def _follow_changes(self) -> None:
        """Re-select when the configs or the served resources changed (new CRDs)."""
        if not self._started:
            return
        generations = tuple(self.apis[side].served.generation for side in Side)
        dynamic = self._static_configs is None
        configs_changed = dynamic and self._config_changes != self._seen_config_changes
        if self._rediscover or generations != self._seen_generations or configs_changed:
            self._rediscover = False
            self._seen_generations = generations
            self._seen_config_changes = self._config_changes
            self._apply_selection()

    def _configs(self) -> list[RawObject]:
        """The configs the syncer merges: given, or upstream; those its selector picks."""
        if self._static_configs is not None:
            found = self._static_configs
        else:
            up = self.apis[Side.UPSTREAM]
            found = []
            for group, resource in sorted(CONFIG_RESOURCES):
                info = up.served.by_group_resource(group, resource)
                if info is not None:
                    found.extend(up.objects(info.gvr))
        return [obj for obj in found if self._config_selector.matches(labels_of(obj))]

    def _selection(self) -> Selection:
        parsed: list[syncerconfig.AnyConfig] = []
        status_off: set[str] = set()
        for obj in self._configs():
            source = f"{obj.get('kind')}/{name_of(obj)}"
            if annotations_of(obj).get(RETURN_STATUS_ANNOTATION) == "false":
                status_off.add(source)
            try:
                parsed.append(syncerconfig.parse_config(obj, source=source))
            except errors.ConfigError as exc:
                self._warn(f"ignoring malformed {source}: {exc}")
        self._status_off = frozenset(status_off)
        return Selection.from_configs(parsed)

    def _warn(self, message: str) -> None:
        if message not in self._warnings:
            self._warnings.append(message)

    def _apply_selection(self) -> None:
        selection = self._selection()
        changed = selection != self.hooks.ctx.selection
        if changed:
            self.hooks.ctx = attrs.evolve(self.hooks.ctx, selection=selection)
        if selection.is_empty:
            self._warn("no SyncerConfig selects anything: nothing to sync")
        up, down = self.apis[Side.UPSTREAM].served, self.apis[Side.DOWNSTREAM].served
        wanted = {
            Direction.DOWN: selection.resolve_downsync(
                up.resources, preferred_versions=up.preferred_versions
            ),
            Direction.UP: selection.resolve_upsync(
                down.resources, preferred_versions=down.preferred_versions
            ),
        }
        for problem in selection.downsync_scope_problems(up.resources):
            self._warn(f"selection problem: {problem}")
        for problem in selection.overlaps(up.resources):
            self._warn(f"selection problem: {problem}")
        for direction, infos in wanted.items():
            wanted_sources = sources_wanted(
                selection,
                direction,
                infos,
                max_namespaced_watches=self.settings.max_namespaced_watches,
            )
            self._reconcile_sources(direction, wanted_sources, changed)

    def _reconcile_sources(
        self,
        direction: Direction,
        wanted: dict[GroupVersionResource, SourceState],
        selection_changed: bool,
    ) -> None:
        flow = self.flows[direction]
        removed = False
        for gvr, state in wanted.items():
            current = flow.sources.get(gvr)
            if current is not None and current.same_watch(state):
                continue
            state.informer = self._source_informer(
                direction, state.info, label_selector=state.label_selector
            )
            flow.sources[gvr] = state  # as the syncer: one assignment replaces the old source
            if current is not None:
                if current.informer is not None:
                    current.informer.stop()
                continue
            # As the syncer: the copies' cache is started with their source's.
            target = self.target_info(direction, gvr.api_version, state.info.kind)
            if target is not None:
                self.target_informer(direction, target)
        for gvr in [g for g in flow.sources if g not in wanted]:
            state = flow.sources.pop(gvr)
            if state.informer is not None:
                state.informer.stop()
            removed = True
        if selection_changed or removed:
            queue = "downsync" if direction is Direction.DOWN else "upsync"
            for state in list(flow.sources.values()):
                if state.informer is not None:
                    for key in state.informer.store:
                        self.scheduler.add(queue, key)
            for (d, _), informer in sorted(self._targets.items(), key=lambda kv: kv[0][1]):
                if d is direction:
                    informer.resync()

    def _resync_sources(self, gvr: GroupVersionResource, side: Side) -> None:
        """A collection's late initial list is complete: look at all of it again."""
        for direction, flow in self.flows.items():
            state = flow.sources.get(gvr)
            if direction.source is side and state is not None and state.informer is not None:
                state.informer.resync()

    def _source_informer(
        self, direction: Direction, info: ResourceInfo, *, label_selector: str = ""
    ) -> MemoryInformer:
        informer = MemoryInformer(
            api=self.apis[direction.source],
            gvr=info.gvr,
            label_selector=label_selector,
            clock=lambda: self.now,
        )
        flow = self.flows[direction]
        queue = "downsync" if direction is Direction.DOWN else "upsync"
        inferred = self._inferred

        def on_source(event: Event) -> None:
            key = event.key
            marker = (key.gvr.group, key.gvr.resource, key.namespace, key.name)
            is_inferred = event.type is EventType.DELETED and marker in inferred
            inferred.discard(marker)
            flow.note_source_event(key, inferred_delete=is_inferred)
            if routing.needs_reconcile(direction, event):
                self.scheduler.add(queue, key)

        informer.add_handler(on_source)
        informer.start()
        return informer

    def _watch_upstream_namespaces(self) -> None:
        """As the syncer: upstream Namespaces are always watched, so a copied Namespace is
        deleted only once its upstream Namespace is gone."""
        info = self.apis[Side.UPSTREAM].served.by_gvr(NAMESPACE_GVR)
        if info is None:
            return
        informer = MemoryInformer(
            api=self.apis[Side.UPSTREAM], gvr=NAMESPACE_GVR, clock=lambda: self.now
        )

        def on_namespace(event: Event) -> None:
            if event.type is EventType.DELETED:
                self.scheduler.add("downsync", event.key)

        informer.add_handler(on_namespace)
        informer.start()
        self._upstream_namespaces = informer

    def _upstream_namespace_exists(self, name: str) -> bool | None:
        """Whether upstream has namespace ``name``; ``None`` when the snapshot cannot say
        (upstream Namespaces were not recorded)."""
        informer = self._upstream_namespaces
        if informer is None or not self._recorded(Side.UPSTREAM, NAMESPACE_GVR):
            return None
        if not informer.has_synced():
            return None
        return informer.store.get(ObjectKey(NAMESPACE_GVR, "", name)) is not None

    def _recorded(self, side: Side, gvr: GroupVersionResource) -> bool:
        return (
            any(
                r.side is side
                and (r.info.gvr.group, r.info.gvr.resource) == (gvr.group, gvr.resource)
                for r in self.header.resources
            )
            or (side, gvr.group, gvr.resource) in self._declared
        )

    def _owner_selector(self) -> str:
        return f"{ownership.OWNER_LABEL}={ownership.owner_label_value(self.settings.syncer_name)}"

    def _janitor(self) -> None:
        """As the syncer at start: follow owned copies of resources no longer selected."""
        mapper = self.hooks.ctx.namespace_mapper
        index = getattr(mapper, "reverse_index", None)
        if index is not None:
            for ns in self.apis[Side.DOWNSTREAM].objects(NAMESPACE_GVR):
                upstream_ns = annotations_of(ns).get(namespaces.UPSTREAM_NAMESPACE_ANNOTATION)
                if upstream_ns:
                    index.remember(upstream_ns, name_of(ns))
        label = ownership.owner_label_value(self.settings.syncer_name)
        for direction in Direction:
            api = self.apis[direction.target]
            for group, resource in api.stored_resources():
                info = api.served.by_group_resource(group, resource)
                if info is None or not (info.listable and info.watchable):
                    continue
                if (group, resource) in CONFIG_RESOURCES:
                    continue
                if (direction, info.gvr) in self._targets:
                    continue
                owned = any(
                    labels_of(o).get(ownership.OWNER_LABEL) == label for o in api.objects(info.gvr)
                )
                if owned:
                    self.target_informer(direction, info)

    def _owned_count(self) -> int:
        return sum(len(informer.store) for informer in self._targets.values())

    # -- TargetResolver ------------------------------------------------------------------------

    def target_info(self, direction: Direction, api_version: str, kind: str) -> ResourceInfo | None:
        served = self.apis[direction.target].served
        group, _, version = api_version.rpartition("/")
        return served.find_kind(group, kind, version) or served.find_kind(group, kind)

    def target_info_by_gvr(
        self, direction: Direction, gvr: GroupVersionResource
    ) -> ResourceInfo | None:
        return self.apis[direction.target].served.by_gvr(gvr)

    def target_informer(self, direction: Direction, info: ResourceInfo) -> MemoryInformer:
        informer = self._targets.get((direction, info.gvr))
        if informer is not None:
            return informer
        informer = MemoryInformer(
            api=self.apis[direction.target],
            gvr=info.gvr,
            label_selector=self._owner_selector(),
            clock=lambda: self.now,
        )
        flow = self.flows[direction]
        queue = "downsync" if direction is Direction.DOWN else "upsync"
        pacer = self.status_pacer
        status_on = routing.copies_return_status(
            direction, info, enabled=self.settings.status_return
        )

        def on_target(event: Event) -> None:
            if event.obj is None:
                return
            key = flow.source_key_of_copy(event.obj, event.key)
            if key is None:
                return
            echo = event.type in (EventType.ADDED, EventType.MODIFIED) and flow.is_own_echo(
                event.key, event.obj
            )
            if not echo and routing.needs_reconcile(direction, event):
                self.scheduler.add(queue, key)
            if status_on and routing.target_needs_status_return(event):
                delay = pacer.delay(key)
                if delay > 0:
                    self.scheduler.add_after("status", key, delay)
                else:  # the leading edge: now, as live
                    self.scheduler.add("status", key)

        informer.add_handler(on_target)
        self._targets[(direction, info.gvr)] = informer
        informer.start()
        return informer
