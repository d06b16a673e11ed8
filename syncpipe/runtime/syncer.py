"""The syncer process: wires sources, hook chain and sinks for both directions.

One control loop (a thread) owns the moving parts: it refreshes discovery (when a CRD or
APIService event says what is served changed, see ``runtime.apiwatch``, and in a slow safety
sweep), turns the SyncerConfigs into a merged selection, and starts or stops informers as
resources are selected, appear (a CRD created later) or disappear. Workers never touch that
bookkeeping; they read a snapshot of the resource table. At rest it makes no request but the
heartbeat.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import functools
import logging
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any

import attrs
import pluggy

from syncpipe import builtin, errors
from syncpipe.builtin import namespaces, ownership
from syncpipe.clients import discovery
from syncpipe.clients.rest import RestClient
from syncpipe.clients.watching import CollectionListerWatcher
from syncpipe.clients.writer import ClusterWriter
from syncpipe.config import syncerconfig
from syncpipe.config.selection import Selection
from syncpipe.config.settings import Settings
from syncpipe.hooks import manager
from syncpipe.hooks.context import SyncContext
from syncpipe.model.events import Direction, Event, EventType, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import annotations_of, name_of
from syncpipe.model.resources import NAMESPACE_GVR, GroupVersionResource, ResourceInfo
from syncpipe.runtime import apiwatch, conditions, configstatus, metrics, ratelimit, routing
from syncpipe.runtime.availability import ApiAvailability, ConfigNotice
from syncpipe.runtime.controller import Controller
from syncpipe.runtime.events import EventRecorder
from syncpipe.runtime.flow import (
    RETURN_STATUS_ANNOTATION,
    Flow,
    SourceState,
    StatusReturn,
    sources_wanted,
)
from syncpipe.runtime.safety import DeletionGuard
from syncpipe.runtime.statushold import STATUS_HOLD_RECHECK_SECONDS, StatusHold
from syncpipe.runtime.statuspacing import StatusPacer
from syncpipe.runtime.workqueue import WorkQueue
from syncpipe.source.informer import EventSource, Informer, NamespacedInformer, SharedSource
from syncpipe.source.polling import PollingSource

log = logging.getLogger(__name__)

CONFIG_GROUP = apiwatch.CONFIG_GROUP
SYNCER_CONFIGS = GroupVersionResource(CONFIG_GROUP, "v2alpha1", "syncerconfigs")
EDGE_SYNC_CONFIGS = GroupVersionResource(CONFIG_GROUP, "v2alpha1", "edgesyncconfigs")
# The control loop's retry delay when a side cannot be reached: 1 s doubling to this cap, so a
# fixed server (or credential) is picked up within seconds, not half a minute.
CONTROL_MAX_BACKOFF = 8.0
# How often the control loop wakes up when nothing asks it to.
CONTROL_TICK_SECONDS = 1.0
# The janitor waits for the first sync to go idle, but not longer than this.
JANITOR_MAX_DELAY_SECONDS = 30.0
CONFIG_KINDS = {"SyncerConfig": SYNCER_CONFIGS, "EdgeSyncConfig": EDGE_SYNC_CONFIGS}


def _namespace_boilerplate(obj: dict[str, Any]) -> bool:
    """What the server itself puts in every namespace: not a reason to keep it."""
    name = name_of(obj)
    kind = obj.get("kind")
    if kind == "ServiceAccount" and name == "default":
        return True
    if kind == "ConfigMap" and name == "kube-root-ca.crt":
        return True
    return kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token"


def _describe_source(gvr: GroupVersionResource, state: SourceState) -> str:
    """``v1/configmaps (in shop, web; labels app=shop)``: a resource and what its watch asks."""
    scope = [f"in {', '.join(state.namespaces)}"] if state.namespaces else []
    scope += [f"labels {state.label_selector}"] if state.label_selector else []
    return f"{gvr} ({'; '.join(scope)})" if scope else str(gvr)


def reconcile_workers_beyond_writes(settings: Settings) -> int:
    """Downsync workers beyond the write concurrency (whose writers bound the writes in
    flight): they reconcile while the others wait for their writes, so that
    ``write_concurrency`` writes stay under way during an initial sync instead of fewer."""
    return max(2, settings.write_concurrency // 2)


@attrs.frozen
class _Index:
    """One side's discovery, indexed for the per-object lookups."""

    by_kind: dict[tuple[str, str, str], ResourceInfo]
    by_gvr: dict[GroupVersionResource, ResourceInfo]
    preferred: dict[str, str]

    @classmethod
    def of(cls, result: discovery.DiscoveryResult) -> _Index:
        return cls(
            by_kind={(i.gvr.group, i.gvr.version, i.kind): i for i in result.resources},
            by_gvr={i.gvr: i for i in result.resources},
            preferred=dict(result.preferred_versions),
        )


class Syncer:
    """One syncer between an upstream (mailbox) and a downstream (edge) API server."""

    def __init__(
        self,
        *,
        settings: Settings,
        upstream: RestClient,
        downstream: RestClient,
        pm: pluggy.PluginManager | None = None,
    ) -> None:
        self.settings = settings
        self.upstream = upstream
        self.downstream = downstream
        self.upstream_writer = ClusterWriter(upstream, max_in_flight=settings.write_concurrency)
        self.downstream_writer = ClusterWriter(downstream, max_in_flight=settings.write_concurrency)
        if pm is None:
            pm = manager.build(builtins=builtin.MODULES, disabled=settings.disabled_plugins)
        ctx = SyncContext(
            syncer_name=settings.syncer_name,
            selection=Selection.empty(),
            plugin_settings=settings.plugin_settings,
        )
        if not pm.has_plugin("syncpipe.metrics"):
            pm.register(metrics.WriteCounter(), name="syncpipe.metrics")
        self.hooks = manager.Hooks(pm=pm, ctx=ctx, transform_order=settings.transform_order)
        self.hooks.configure()
        mappers = self.hooks.namespace_mappers()
        if settings.namespace_mapping in mappers:
            self.namespace_mapper = mappers[settings.namespace_mapping]
        else:
            self.namespace_mapper = namespaces.build_mapper(
                settings.namespace_mapping, syncer_name=settings.syncer_name
            )
        self.hooks.ctx = attrs.evolve(ctx, namespace_mapper=self.namespace_mapper)
        self.hooks.transforms()  # fail fast on duplicate transform names

        self._config_informers: dict[GroupVersionResource, Informer] = {}
        self._targets: dict[tuple[Direction, GroupVersionResource], EventSource] = {}
        self._targets_lock = threading.Lock()
        self._config_problems: dict[str, list[str]] = {}
        self._selection_problems: list[str] = []
        self._rejected: dict[str, str] = {}
        self._apis = ApiAvailability()
        # What the last status write said per SyncerConfig: conditions are written when it changes.
        self._reported: dict[str, tuple[tuple[str, ...], ...]] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._rediscover = True
        # When an established CRD's API is not in discovery yet: ask again at this time.
        self._rediscover_due: float | None = None
        self._pending_retries = 0
        # The groups discovery covers (None: all; so at the start, for the janitor).
        self._discovery_scope: frozenset[str] | None = None
        # Groups a copy needed that discovery did not cover (added by workers).
        self._demanded_groups: set[str] = set()
        self._discovery: dict[Side, discovery.DiscoveryResult] = {}
        # Lookups by kind and by GVR on the per-object path: built once per discovery refresh.
        self._indexes: dict[Side, _Index] = {}
        self._last_discovery = 0.0
        self._last_heartbeat = 0.0
        self._janitor_done = False
        # Whether implicit namespaces may have become empty (an owned copy deleted, a sweep).
        self._collect_namespaces = True
        self._api_watches = {
            side: apiwatch.ApiWatch(
                side=side,
                request_rediscovery=self._api_changed,
                new_source=functools.partial(self._api_source, side),
            )
            for side in Side
        }
        self._started_at: float | None = None
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()
        self._events_up = EventRecorder(
            upstream, syncer_name=settings.syncer_name, kind_of=self._kind_of
        )
        self._events_down = EventRecorder(
            downstream, syncer_name=settings.syncer_name, kind_of=self._kind_of
        )

        self.guard = DeletionGuard(
            owned_count=self.owned_count,
            max_fraction=settings.max_inferred_delete_fraction,
            min_held=settings.min_inferred_deletes_held,
            window=settings.resync_period,
            confirmed=settings.confirm_held_deletions,
        )
        writers = {Direction.DOWN: self.downstream_writer, Direction.UP: self.upstream_writer}
        self.flows = {
            direction: Flow(
                direction=direction,
                hooks=self.hooks,
                target_writer=writers[direction],
                resolver=self,
                guard=self.guard,
                on_missing_api=self.request_rediscovery,
                source_namespace_exists=(
                    self._upstream_namespace_exists
                    if direction is Direction.DOWN
                    else lambda _name: None
                ),
            )
            for direction in (Direction.DOWN, Direction.UP)
        }
        self._upstream_namespaces: EventSource | None = None
        self._status_off: frozenset[str] = frozenset()
        self.status_return = StatusReturn(
            flow=self.flows[Direction.DOWN],
            upstream_writer=self.upstream_writer,
            configs_without_status=lambda: self._status_off,
        )
        self.queues: dict[str, WorkQueue[ObjectKey]] = {
            name: WorkQueue(name=name, rate_limiter=ratelimit.default_controller_rate_limiter())
            for name in ("downsync", "upsync", "status")
        }
        self.status_hold = StatusHold(backlog=lambda: len(self.queues["downsync"]))
        self.status_pacer = StatusPacer(window=settings.status_settle_seconds, clock=time.monotonic)
        self.controllers = {
            "downsync": Controller(
                name="downsync",
                queue=self.queues["downsync"],
                reconcile=self.flows[Direction.DOWN].reconcile,
                workers=settings.write_concurrency + reconcile_workers_beyond_writes(settings),
                on_rejected=self._report_rejected,
                on_success=self._clear_rejected,
            ),
            "upsync": Controller(
                name="upsync",
                queue=self.queues["upsync"],
                reconcile=self.flows[Direction.UP].reconcile,
                workers=max(1, settings.write_concurrency // 2),
                on_rejected=self._report_rejected,
                on_success=self._clear_rejected,
            ),
            "status": Controller(
                name="status",
                queue=self.queues["status"],
                reconcile=self._return_status,
                workers=max(1, settings.write_concurrency // 2),
                on_rejected=self._report_rejected,
            ),
        }

    def register_gauges(self) -> None:
        """Point the process-wide gauges at this syncer (the one a process runs)."""
        metrics.gauge(
            "syncpipe_queue_depth",
            "Keys waiting in the work queues.",
            lambda: float(sum(len(q) for q in self.queues.values())),
        )
        metrics.gauge(
            "syncpipe_objects_owned", "Copies this syncer owns.", lambda: float(self.owned_count())
        )
        metrics.gauge(
            "syncpipe_watch_restarts",
            "Watch restarts (reconnects and relists) over all sources.",
            lambda: float(self._watch_restarts()),
        )
        metrics.gauge(
            "syncpipe_ready", "1 once the initial sync is done.", lambda: float(self.ready.is_set())
        )

    def _watch_restarts(self) -> int:
        total = 0
        for informer in self._all_informers():
            reflector = getattr(informer, "reflector", None)
            if reflector is not None:
                stats = reflector.statistics()
                total += stats.restarts + stats.expired
        return total

    @property
    def down_queue(self) -> WorkQueue[ObjectKey]:
        return self.queues["downsync"]

    def _return_status(self, key: ObjectKey) -> None:
        """Status return, put back for a while when downsync has a backlog (see
        ``runtime.statushold``)."""
        if self.status_hold.should_wait(key):
            delay = max(self.settings.status_settle_seconds, STATUS_HOLD_RECHECK_SECONDS)
            self.queues["status"].add_after(key, delay)
            return
        self.status_return.reconcile(key)

    def _queue_for(self, direction: Direction) -> WorkQueue[ObjectKey]:
        return self.queues["downsync" if direction is Direction.DOWN else "upsync"]

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        # The pipeline hands each event across threads (watch → dispatch → worker); with
        # CPython's default 5 ms switch interval a busy thread delays every handoff by up to
        # that much, which dominated single-change latency. 1 ms costs little throughput.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
        self.hooks.startup(self)
        for name, controller in self.controllers.items():
            if name != "status" or self.settings.status_return:
                controller.start()
        self._thread = threading.Thread(target=self._control_loop, name="control", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful: stop watching, drain in-flight writes (within ``timeout``), then return."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10.0)
        for informer in self._all_informers():
            informer.stop(timeout=2.0)
        for controller in self.controllers.values():
            controller.stop(timeout=timeout)
        self.hooks.shutdown(self)

    def alive(self) -> bool:
        """False once the control loop thread died (liveness: restart the process)."""
        return self._thread is None or self._thread.is_alive() or self._stopping.is_set()

    def request_rediscovery(self) -> None:
        self._rediscover = True
        self._wake.set()

    def _api_changed(self) -> None:
        """A CRD or APIService changed what is served: rediscover, and allow the retries for
        a new API not in discovery yet again (one stuck API must not use them up for all)."""
        self._pending_retries = 0
        self.request_rediscovery()

    def owned_count(self) -> int:
        with self._targets_lock:
            return sum(len(i.store) for i in self._targets.values())

    def statistics(self) -> dict[str, Any]:
        return {
            "sources": {d.value: len(f.sources) for d, f in self.flows.items()},
            "owned": self.owned_count(),
            "queues": {name: q.statistics() for name, q in self.queues.items()},
            "requests_downstream": dict(self.downstream.requests_by_verb),
            "requests_upstream": dict(self.upstream.requests_by_verb),
            "status_returns_held": self.status_hold.held,
        }

    @property
    def discovery_scope(self) -> frozenset[str] | None:
        """The API groups discovery covers now (``None``: every group, as at the start)."""
        return self._discovery_scope

    def served(self, *, group: str, side: Side = Side.UPSTREAM) -> tuple[ResourceInfo, ...]:
        """What the latest discovery of ``side`` found in ``group``."""
        found = self._discovery.get(side)
        return () if found is None else tuple(i for i in found.resources if i.gvr.group == group)

    def describe(self) -> dict[str, list[str]]:
        """What is being synced: the selected resources of each direction, each with the
        label selector its API server filters the watch by, if any."""
        return {
            direction.value: sorted(
                _describe_source(gvr, state) for gvr, state in flow.sources.items()
            )
            for direction, flow in self.flows.items()
        }

    def progress(self) -> dict[str, int]:
        """Counters for a progress line: objects cached on the source side, owned copies,
        queued keys and writes so far."""
        cached = sum(
            len(s.informer.store)
            for flow in self.flows.values()
            for s in flow.sources.values()
            if s.informer is not None
        )
        writes = sum(
            n
            for rest in (self.downstream, self.upstream)
            for verb, n in rest.requests_by_verb.items()
            if verb in ("create", "patch", "update", "delete")
        )
        queued = sum(len(q) for name, q in self.queues.items() if name != "status")
        return {"seen": cached, "owned": self.owned_count(), "queued": queued, "writes": writes}

    def open_watches(self) -> dict[str, int]:
        """Watches this syncer keeps open, by side (a lent informer's counted once)."""
        counts = {side.value: 0 for side in Side}
        seen: set[int] = set()
        for source in self._all_informers():
            if isinstance(source, SharedSource) or id(source) in seen:
                continue
            seen.add(id(source))
            reflectors = getattr(source, "reflectors", None)
            watches = (
                len(reflectors) if reflectors is not None else int(hasattr(source, "reflector"))
            )
            counts[source.store.side.value] += watches
        return counts

    def _rest_of(self, side: Side) -> RestClient:
        return self.upstream if side is Side.UPSTREAM else self.downstream

    def _api_source(self, side: Side, info: ResourceInfo) -> EventSource:
        return self._new_source(side, info, CollectionListerWatcher(self._rest_of(side), info.gvr))

    def _all_informers(self) -> list[EventSource]:
        found: list[EventSource] = list(self._config_informers.values())
        for watch in self._api_watches.values():
            found.extend(watch.informers.values())
        if self._upstream_namespaces is not None:
            found.append(self._upstream_namespaces)
        for flow in self.flows.values():
            found.extend(s.informer for s in flow.sources.values() if s.informer is not None)
        with self._targets_lock:
            found.extend(self._targets.values())
        return found

    # -- TargetResolver ------------------------------------------------------------------------

    def target_info(self, direction: Direction, api_version: str, kind: str) -> ResourceInfo | None:
        index = self._indexes.get(direction.target)
        if index is None:
            return None
        group, _, version = api_version.rpartition("/")
        found = index.by_kind.get((group, version, kind))
        if found is None:
            preferred = index.preferred.get(group, "")
            found = index.by_kind.get((group, preferred, kind))
        if found is None:
            self._apis.copy_waits(direction.target, api_version, kind)
            scope = self._discovery_scope
            if scope is not None and group not in scope:
                # A transform put the copy in a group discovery does not cover yet: cover it
                # (the flow asks for rediscovery and retries the key).
                self._demanded_groups.add(group)
        return found

    def target_info_by_gvr(
        self, direction: Direction, gvr: GroupVersionResource
    ) -> ResourceInfo | None:
        index = self._indexes.get(direction.target)
        return None if index is None else index.by_gvr.get(gvr)

    def target_informer(self, direction: Direction, info: ResourceInfo) -> EventSource:
        with self._targets_lock:
            informer = self._targets.get((direction, info.gvr))
            if informer is None:
                informer = self._start_target_informer(direction, info)
                self._targets[(direction, info.gvr)] = informer
            return informer

    # -- the control loop ----------------------------------------------------------------------

    def _control_loop(self) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            tick = CONTROL_TICK_SECONDS
            try:
                self._control_step()
                backoff = 1.0
            except errors.ApiError as exc:
                log.warning("control loop: %s (retrying in %.0fs)", exc, backoff + 1)
                self._wake.wait(backoff)
                backoff = min(backoff * 2, CONTROL_MAX_BACKOFF)
            except Exception:
                log.exception("control loop failed (retrying in %.0fs)", backoff)
                self._wake.wait(backoff)
                backoff = min(backoff * 2, CONTROL_MAX_BACKOFF)
            if self._rediscover_due is not None:
                tick = min(tick, max(0.0, self._rediscover_due - time.monotonic()))
            self._wake.wait(tick)
            self._wake.clear()

    def _control_step(self) -> None:
        now = time.monotonic()
        sweep = now - self._last_discovery > self.settings.discovery_interval
        retry = self._rediscover_due is not None and now >= self._rediscover_due
        if self._rediscover or sweep or retry:
            self._rediscover = False
            self._refresh_discovery(now, self._discovery_scope)
            if sweep:
                self._collect_namespaces = True  # the safety net for what no event announced
        if not self._configs_synced():
            # The first lists are under way: wait for them here rather than a whole tick (an
            # empty list announces nothing that would wake the loop).
            for informer in self._config_informers.values():
                informer.wait_for_sync(timeout=1.0)
            if not self._configs_synced():
                return
        selection = self._current_selection()
        if self._janitor_done:
            # After the start-up janitor (which looks at every resource): only what is used.
            followed = {gvr.group for (_, gvr) in self._targets_snapshot()}
            scope = apiwatch.discovery_groups(
                selection, followed=followed | frozenset(self._demanded_groups)
            )
            if scope != self._discovery_scope:
                log.info("discovery covers %s", "every group" if scope is None else sorted(scope))
                self._refresh_discovery(now, scope)
        self._apply_selection(selection)
        if self._started_at is None:
            self._started_at = now
        if not self._janitor_done and (
            self._first_sync_idle() or now - self._started_at > JANITOR_MAX_DELAY_SECONDS
        ):
            # After the first sync rather than during it: its lists of every resource would
            # compete with the initial creates for the API server (and this process).
            self._janitor({side: result.resources for side, result in self._discovery.items()})
            self._janitor_done = True
        if self._janitor_done:
            self._update_readiness()
        if now - self._last_heartbeat > self.settings.heartbeat_interval:
            self._heartbeat()
            if self.ready.is_set() and self._collect_namespaces:
                self._collect_namespaces = False
                self._collect_empty_namespaces()
            self._last_heartbeat = now
        else:
            self._heartbeat(only_changed=True)  # a condition that changed is told at once

    def _targets_snapshot(self) -> list[tuple[Direction, GroupVersionResource]]:
        with self._targets_lock:
            return list(self._targets)

    def _refresh_discovery(self, now: float, groups: frozenset[str] | None) -> None:
        """Discovery of both sides in ``groups`` (``None``: all), and what follows from it."""
        with concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="discover") as pool:
            upstream = pool.submit(discovery.discover, self.upstream, groups=groups)
            downstream = pool.submit(discovery.discover, self.downstream, groups=groups)
            found = {Side.UPSTREAM: upstream.result(), Side.DOWNSTREAM: downstream.result()}
        before = {side: result.by_gvr() for side, result in self._discovery.items()}
        self._discovery = found
        self._discovery_scope = groups
        self._indexes = {side: _Index.of(result) for side, result in found.items()}
        self._last_discovery = now
        self._rediscover_due = None
        self._apis.forget_served(
            lambda side, group, version, kind: (group, version, kind) in self._indexes[side].by_kind
        )
        for side, watch in self._api_watches.items():
            watch.ensure(found[side])
        self._ensure_config_informers()
        self._ensure_upstream_namespace_watch()
        if self._janitor_done:
            # A resource that appeared since (a CRD, an APIService back, a group now covered)
            # may hold copies of ours from before: the janitor looks at those only.
            self._janitor(
                {
                    side: [i for i in result.resources if i.gvr not in before.get(side, {})]
                    for side, result in found.items()
                }
            )
        missing = set().union(
            *(watch.missing_apis(found[side], groups) for side, watch in self._api_watches.items())
        )
        if not missing:
            self._pending_retries = 0
        elif self._pending_retries < apiwatch.PENDING_MAX_RETRIES:
            self._pending_retries += 1
            self._rediscover_due = now + apiwatch.PENDING_RETRY_SECONDS
        elif self._pending_retries == apiwatch.PENDING_MAX_RETRIES:
            self._pending_retries += 1
            log.warning("established CRDs not in discovery (until the next sweep): %s", missing)

    def _ensure_config_informers(self) -> None:
        served = self._discovery[Side.UPSTREAM].by_gvr()
        for gvr in (SYNCER_CONFIGS, EDGE_SYNC_CONFIGS):
            if gvr in served and gvr not in self._config_informers:
                informer = Informer(
                    gvr=gvr,
                    side=Side.UPSTREAM,
                    # The server filters by --syncer-config-selector: a config relabelled out
                    # of it is a DELETED event, one relabelled into it an ADDED one.
                    lister_watcher=CollectionListerWatcher(
                        self.upstream, gvr, label_selector=self.settings.syncer_config_selector
                    ),
                    name=f"upstream:{gvr.resource}",
                )
                informer.add_handler(lambda _event: self._wake.set())
                informer.start()
                self._config_informers[gvr] = informer
        if SYNCER_CONFIGS not in served and not self._config_informers:
            log.warning(
                "the SyncerConfig API (%s) is not served upstream yet; install it with "
                "`syncpipe crds | kubectl apply -f -` (waiting)",
                SYNCER_CONFIGS,
            )

    def _upstream_namespace_exists(self, name: str) -> bool | None:
        informer = self._upstream_namespaces
        if informer is None or not informer.has_synced():
            return None
        return informer.store.get(ObjectKey(NAMESPACE_GVR, "", name)) is not None

    def _running_watch(self, side: Side, gvr: GroupVersionResource) -> Informer | None:
        """An informer that already watches all of ``gvr`` on ``side`` for the syncer's own
        needs (CRDs and APIServices for discovery, upstream Namespaces for clean-up): a source
        of the same collection borrows it instead of opening a second watch of it."""
        watching = self._api_watches[side].informers.get((gvr.group, gvr.resource))
        if side is Side.UPSTREAM and gvr == NAMESPACE_GVR:
            watching = self._upstream_namespaces
        if isinstance(watching, Informer) and watching.store.gvr == gvr:
            return watching
        return None

    def _ensure_upstream_namespace_watch(self) -> None:
        """Upstream Namespaces are always watched: a copied Namespace is deleted only when its
        upstream Namespace is gone, which must be known even after namespaces were deselected."""
        if self._upstream_namespaces is not None:
            return
        info = self._indexes[Side.UPSTREAM].by_gvr.get(NAMESPACE_GVR)
        if info is None:
            return
        informer = self._new_source(
            Side.UPSTREAM, info, CollectionListerWatcher(self.upstream, NAMESPACE_GVR)
        )
        queue = self._queue_for(Direction.DOWN)

        def on_namespace(event: Event) -> None:
            if event.type is EventType.DELETED:
                queue.add(event.key)

        informer.add_handler(on_namespace)
        informer.start()
        self._upstream_namespaces = informer

    def _configs_synced(self) -> bool:
        return bool(self._config_informers) and all(
            i.has_synced() for i in self._config_informers.values()
        )

    def _current_selection(self) -> Selection:
        parsed: list[syncerconfig.AnyConfig] = []
        problems: dict[str, list[str]] = {}
        status_off: set[str] = set()
        for informer in self._config_informers.values():
            for obj in informer.store.list():
                name = name_of(obj)
                source = f"{obj.get('kind')}/{name}"
                if annotations_of(obj).get(RETURN_STATUS_ANNOTATION) == "false":
                    status_off.add(source)
                try:
                    parsed.append(syncerconfig.parse_config(obj, source=source))
                except errors.ConfigError as exc:
                    problems[name] = [f"{m} @ {p}" for p, m in exc.problems]
                    if self._config_problems.get(name) != problems[name]:
                        log.error("ignoring malformed %s: %s", source, exc)
        self._config_problems = problems
        self._status_off = frozenset(status_off)
        return Selection.from_configs(parsed)

    def _apply_selection(self, selection: Selection) -> None:
        changed = selection != self.hooks.ctx.selection
        if changed:
            self.hooks.ctx = attrs.evolve(self.hooks.ctx, selection=selection)
            log.info("selection changed: %d rules", len(selection.rules))
        up, down = self._discovery[Side.UPSTREAM], self._discovery[Side.DOWNSTREAM]
        wanted = {
            Direction.DOWN: selection.resolve_downsync(
                up.resources, preferred_versions=up.preferred_versions
            ),
            Direction.UP: selection.resolve_upsync(
                down.resources, preferred_versions=down.preferred_versions
            ),
        }
        notices = self._apis.note_entries(
            {
                Side.UPSTREAM: selection.unserved(Direction.DOWN, up.resources),
                Side.DOWNSTREAM: selection.unserved(Direction.UP, down.resources),
            }
        )
        for notice in notices:
            self._config_event(notice)
        problems = [str(p) for p in selection.downsync_scope_problems(up.resources)]
        problems += [str(p) for p in selection.overlaps(up.resources)]
        if problems != self._selection_problems:
            for problem in problems:
                log.warning("selection problem: %s", problem)
        self._selection_problems = problems
        for direction, infos in wanted.items():
            wanted_sources = sources_wanted(
                selection,
                direction,
                infos,
                # Polling lists the collection as a whole (--source poll).
                max_namespaced_watches=0
                if self.settings.source_mode == "poll"
                else self.settings.max_namespaced_watches,
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
            if current is not None:
                log.info(
                    "%s: %s now watched with label selector %r in %s",
                    direction.value,
                    gvr,
                    state.label_selector,
                    ", ".join(state.namespaces) or "every namespace",
                )
            state.informer = self._start_source_informer(direction, state)
            # One assignment replaces the old source: a reconcile meanwhile finds either one,
            # never none (which would read as "deleted upstream"); the new one answers "not
            # synced yet" until its first list is in. The selection changed too, so every
            # copy is re-examined below.
            flow.sources[gvr] = state
            if current is not None:
                if current.informer is not None:
                    current.informer.stop(timeout=2.0)
                continue
            # Copies usually keep their source's kind: watch them from the start, so the
            # first reconciles need not wait for a cache started on demand.
            target = self.target_info(direction, gvr.api_version, state.info.kind)
            if target is not None:
                self.target_informer(direction, target)
        for gvr in [g for g in flow.sources if g not in wanted]:
            log.info("%s: %s no longer selected; cleaning up owned copies", direction.value, gvr)
            state = flow.sources.pop(gvr)
            if state.informer is not None:
                state.informer.stop(timeout=2.0)
            removed = True
        if selection_changed or removed:
            queue = self._queue_for(direction)
            for state in list(flow.sources.values()):
                if state.informer is not None:
                    for key in list(state.informer.store):
                        queue.add(key)
            with self._targets_lock:
                targets = [i for (d, _), i in self._targets.items() if d is direction]
            for informer in targets:
                informer.resync()  # every owned copy is re-examined (deselected ones deleted)

    def _start_source_informer(self, direction: Direction, state: SourceState) -> EventSource:
        side = direction.source
        rest = self.upstream if side is Side.UPSTREAM else self.downstream
        info, selector = state.info, state.label_selector
        informer: EventSource
        watching = None if selector or state.namespaces else self._running_watch(side, info.gvr)
        if watching is not None:
            informer = SharedSource(watching)  # one watch serves both
        elif state.namespaces:
            informer = NamespacedInformer(
                gvr=info.gvr,
                side=side,
                lister_watchers={
                    ns: CollectionListerWatcher(
                        rest, info.gvr, namespace=ns, label_selector=selector
                    )
                    for ns in state.namespaces
                },
                resync_period=self.settings.resync_period,
            )
        else:
            informer = self._new_source(
                side, info, CollectionListerWatcher(rest, info.gvr, label_selector=selector)
            )
        flow = self.flows[direction]
        queue = self._queue_for(direction)

        def on_source(event: Event) -> None:
            if event.type is EventType.BOOKMARK:
                return
            flow.note_source_event(
                event.key,
                inferred_delete=event.type is EventType.DELETED and event.final_state_unknown,
            )
            if routing.needs_reconcile(direction, event):
                queue.add(event.key)

        informer.add_handler(on_source)
        informer.start()
        return informer

    def _new_source(
        self, side: Side, info: ResourceInfo, lister_watcher: CollectionListerWatcher
    ) -> EventSource:
        """An informer, or a polling source where watching is off or not offered."""
        if self.settings.source_mode == "poll" or not info.watchable:
            return PollingSource(
                gvr=info.gvr,
                side=side,
                lister=lister_watcher,
                name=f"{side.value}:{info.gvr}",
                interval=self.settings.poll_interval,
                resync_period=self.settings.resync_period,
            )
        return Informer(
            gvr=info.gvr,
            side=side,
            lister_watcher=lister_watcher,
            resync_period=self.settings.resync_period,
        )

    def _owner_selector(self) -> str:
        return f"{ownership.OWNER_LABEL}={ownership.owner_label_value(self.settings.syncer_name)}"

    def _start_target_informer(self, direction: Direction, info: ResourceInfo) -> EventSource:
        side = direction.target
        rest = self.downstream if side is Side.DOWNSTREAM else self.upstream
        informer = self._new_source(
            side,
            info,
            CollectionListerWatcher(rest, info.gvr, label_selector=self._owner_selector()),
        )
        flow = self.flows[direction]
        queue = self._queue_for(direction)
        pacer = self.status_pacer
        status_on = routing.copies_return_status(
            direction, info, enabled=self.settings.status_return
        )
        collects_namespaces = direction is Direction.DOWN and info.namespaced

        def on_target(event: Event) -> None:
            if event.type is EventType.BOOKMARK or event.obj is None:
                return
            key = flow.source_key_of_copy(event.obj, event.key)
            if key is None:
                return
            echo = event.type in (EventType.ADDED, EventType.MODIFIED) and flow.is_own_echo(
                event.key, event.obj
            )
            if not echo and routing.needs_reconcile(direction, event):
                queue.add(key)
            if status_on and routing.target_needs_status_return(event):
                self.queues["status"].add_after(key, pacer.delay(key))
            if collects_namespaces and event.type is EventType.DELETED:
                self._collect_namespaces = True  # its namespace may be empty now

        informer.add_handler(on_target)
        informer.start()
        return informer

    def _janitor(self, candidates: dict[Side, Iterable[ResourceInfo]]) -> None:
        """Watch owned copies of resources no longer selected (deselected while we were down).

        ``candidates`` are the resources of each side to look at: everything served at the
        start, later what appeared since the previous discovery. Their informers' first list
        queues every copy; the reconcile finds no selected source and deletes them.
        """
        index = self.namespace_mapper.reverse_index
        if index is not None:
            items, _ = self.downstream.list(NAMESPACE_GVR)
            for item in items:
                upstream_ns = annotations_of(item).get(namespaces.UPSTREAM_NAMESPACE_ANNOTATION)
                if upstream_ns:
                    index.remember(upstream_ns, name_of(item))
        selector = self._owner_selector()
        for direction in (Direction.DOWN, Direction.UP):
            side = direction.target
            rest = self.downstream if side is Side.DOWNSTREAM else self.upstream
            with self._targets_lock:
                # By group and resource: another version of a watched resource lists the same
                # objects (CRDs at v1 and v1beta1), and a second informer would double them.
                watched = {gvr.group_resource for (d, gvr) in self._targets if d is direction}
            for info in candidates.get(side, ()):
                if info.gvr.group_resource in watched or not (info.listable and info.watchable):
                    continue
                if info.gvr == SYNCER_CONFIGS or info.gvr == EDGE_SYNC_CONFIGS:
                    continue
                try:
                    owned = rest.any_exists(info.gvr, label_selector=selector)
                except errors.ApiError:
                    continue
                if owned:
                    log.info("found owned %s on %s", info.gvr, side.value)
                    self.target_informer(direction, info)

    def _collect_empty_namespaces(self) -> None:
        """Delete namespaces syncpipe created implicitly downstream once nothing is left in them.

        Implicit namespaces (made so an object had somewhere to go, not copies of an upstream
        Namespace) carry our owner label but no source locator. One is deleted only when no
        owned copy is in it and a list of every namespaced resource finds nothing: deleting a
        namespace deletes everything in it, ours or not.
        """
        try:
            owned, _ = self.downstream.list(NAMESPACE_GVR, label_selector=self._owner_selector())
        except errors.ApiError:
            self._collect_namespaces = True  # look again at the next heartbeat
            return
        implicit = [
            name_of(ns)
            for ns in owned
            if ownership.SOURCE_ANNOTATION not in annotations_of(ns)
            and not (ns.get("metadata") or {}).get("deletionTimestamp")
            and ownership.is_owned(ns, syncer_name=self.settings.syncer_name)
        ]
        if not implicit:
            return
        with self._targets_lock:
            occupied = {
                key.namespace
                for (direction, _), informer in self._targets.items()
                if direction is Direction.DOWN
                for key in list(informer.store)
            }
        implicit = [ns for ns in implicit if ns not in occupied]
        down = self._discovery.get(Side.DOWNSTREAM)
        if down is None or not implicit:
            return
        if self._discovery_scope is not None:
            # Emptiness means empty of everything, not only of the groups the syncer uses.
            down = discovery.discover(self.downstream)
        namespaced = [
            i for i in down.resources if i.namespaced and i.listable and i.gvr.resource != "events"
        ]
        for namespace in implicit:
            if self._has_objects(namespace, namespaced):
                continue
            log.info("deleting namespace %s: created by syncpipe and now empty", namespace)
            try:
                uid = ""
                obj = self.downstream.get_or_none(NAMESPACE_GVR, "", namespace)
                if obj is not None:
                    uid = str((obj.get("metadata") or {}).get("uid", ""))
                self.downstream.delete(NAMESPACE_GVR, "", namespace, uid=uid)
            except errors.ApiError as exc:
                log.info("could not delete namespace %s: %s", namespace, exc)

    def _has_objects(self, namespace: str, resources: list[ResourceInfo]) -> bool:
        for info in resources:
            items, _ = self._safe_list(info, namespace)
            if any(not _namespace_boilerplate(item) for item in items):
                return True
        return False

    def _safe_list(self, info: ResourceInfo, namespace: str) -> tuple[list[Any], str]:
        try:
            return self.downstream.list(info.gvr, namespace)
        except errors.ApiError:
            return [{}], ""  # unknown counts as not empty

    def _first_sync_idle(self) -> bool:
        """Every informer has listed and no sync queue holds or processes a key."""
        busy = any(
            q.statistics().depth or q.statistics().processing
            for name, q in self.queues.items()
            if name != "status"
        )
        # The API watches do not count: a syncer not allowed to read CRDs or APIServices (RBAC
        # of an older syncer-gen) still syncs, and follows new APIs by its safety sweep.
        watching_apis = {id(i) for w in self._api_watches.values() for i in w.informers.values()}
        return not busy and all(
            i.has_synced() for i in self._all_informers() if id(i) not in watching_apis
        )

    def _update_readiness(self) -> None:
        if self.ready.is_set():
            return
        if self._first_sync_idle():
            informers = self._all_informers()
            log.info(
                "initial sync done: %d informers, %d owned", len(informers), self.owned_count()
            )
            self.ready.set()

    # -- reporting -------------------------------------------------------------------------------

    def _report_rejected(self, key: ObjectKey, exc: Exception) -> None:
        self._rejected[str(key)] = str(exc)
        self.hooks.object_rejected(key=key, error=exc)
        recorder = self._events_up if key.gvr in self.flows[Direction.DOWN].sources else None
        if recorder is None and key.gvr in self.flows[Direction.UP].sources:
            recorder = self._events_down
        if recorder is not None:
            recorder.record(key, exc)

    def _clear_rejected(self, key: ObjectKey) -> None:
        """A key that reconciled cleanly is no longer a problem to report."""
        if self._rejected:
            self._rejected.pop(str(key), None)

    def serving(self) -> bool:
        """Ready for probes: initial sync done and every source can read its side now."""
        return self.ready.is_set() and not self._source_errors()

    def _source_errors(self) -> list[str]:
        """Sources that cannot read their side now (RBAC revoked, token expired)."""
        found = []
        for flow in self.flows.values():
            for gvr, state in list(flow.sources.items()):
                error = getattr(state.informer, "last_error", None)
                if isinstance(error, errors.ApiForbidden | errors.ApiUnauthorized):
                    found.append(f"{flow.direction.source.value} {gvr}: {error}")
        return found

    def _kind_of(self, key: ObjectKey) -> str:
        for flow in self.flows.values():
            state = flow.sources.get(key.gvr)
            if state is not None:
                return state.info.kind
        return ""

    def _config_event(self, notice: ConfigNotice) -> None:
        kind, _, name = notice.ref.partition("/")
        if notice.event_type == "Warning":
            log.warning("%s: %s", notice.ref, notice.message)
        else:
            log.info("%s: %s", notice.ref, notice.message)
        gvr = CONFIG_KINDS.get(kind)
        informer = self._config_informers.get(gvr) if gvr is not None else None
        key = None if gvr is None else ObjectKey(gvr, "", name)
        obj = None if key is None or informer is None else informer.store.get(key)
        if key is None or obj is None:
            return  # a config deleted meanwhile: nothing to tell
        self._events_up.post(
            key,
            kind=kind,
            uid=str((obj.get("metadata") or {}).get("uid", "")),
            reason=notice.reason,
            message=notice.message,
            event_type=notice.event_type,
        )

    def _conditions_for(self, name: str) -> list[dict[str, str]]:
        facts = conditions.ConfigFacts(
            config_problems=self._config_problems.get(name, ()),
            unreadable=self._source_errors(),
            rejected=sorted(self._rejected.items())[: conditions.SHOWN_PER_REASON],
            selection_problems=self._selection_problems,
            unserved=self._apis.for_config(f"SyncerConfig/{name}"),
            held_deletions=len(self.guard.held) if self.guard.tripped else None,
            held_vetoed_by=self.guard.vetoes_held(),
        )
        return conditions.conditions(facts)

    def _heartbeat(self, *, only_changed: bool = False) -> None:
        """Write each SyncerConfig's heartbeat and conditions (``only_changed``: only where the
        conditions differ from what was last written)."""
        informer = self._config_informers.get(SYNCER_CONFIGS)
        if informer is None:
            return
        now = datetime.datetime.now(datetime.UTC)
        # Another syncer's entry counts as alive for three of its heartbeats, or ours.
        stale_after = max(configstatus.STALE_AFTER_SECONDS, 3 * self.settings.heartbeat_interval)
        configs = informer.store.list()
        for gone in self._reported.keys() - {name_of(obj) for obj in configs}:
            del self._reported[gone]
        for obj in configs:
            name = name_of(obj)
            wanted = self._conditions_for(name)
            summary = tuple(tuple(c.values()) for c in wanted)
            if only_changed and self._reported.get(name) == summary:
                continue
            self._reported[name] = summary
            patch = configstatus.heartbeat_patch(
                syncer_name=self.settings.syncer_name,
                conditions=wanted,
                status=obj.get("status") or {},
                now=now,
                stale_after=stale_after,
                sync_target_uid=self.settings.sync_target_uid,
            )
            try:
                self.upstream.merge_patch(SYNCER_CONFIGS, "", name, patch, subresource="status")
            except errors.ApiError as exc:
                log.debug("heartbeat on SyncerConfig %s failed: %s", name, exc)
