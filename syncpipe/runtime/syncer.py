"""The live driver: the pipeline (``runtime.pipeline``) run by threads against two API servers.

One control loop (a thread) owns the moving parts: it refreshes discovery (when a CRD or
APIService event says what is served changed, see ``runtime.apiwatch``, and in a slow safety
sweep), turns the SyncerConfigs into a merged selection, and has the pipeline start or stop
informers as resources are selected, appear (a CRD created later) or disappear. Workers never
touch that bookkeeping; they read a snapshot of the resource table. At rest it makes no
request but the heartbeat. What the syncer decides is the pipeline's, shared with the replay;
this module adds threads, discovery, the config informers, controllers, readiness, reporting
and the heartbeat.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pluggy

from syncpipe import errors
from syncpipe.clients import discovery
from syncpipe.clients.clusterwriter import ClusterWriter
from syncpipe.clients.rest import RestClient
from syncpipe.clients.watching import CollectionListerWatcher
from syncpipe.config import configapi
from syncpipe.config.settings import Settings
from syncpipe.model.events import Direction, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import NAMESPACE_GVR, GroupVersionResource, ResourceInfo
from syncpipe.runtime import (
    apiwatch,
    interpreter,
    metrics,
    namespacecleanup,
    ratelimit,
    syncerstats,
)
from syncpipe.runtime.availability import ConfigNotice
from syncpipe.runtime.configwatch import ConfigWatch
from syncpipe.runtime.controller import Controller
from syncpipe.runtime.heartbeat import Heartbeat
from syncpipe.runtime.livediscovery import LiveDiscovery
from syncpipe.runtime.pipeline import QUEUE_NAMES, Driver, DrivesPipeline, Pipeline
from syncpipe.runtime.reporting import Reporting
from syncpipe.runtime.restsources import RestSources
from syncpipe.runtime.statushold import STATUS_HOLD_RECHECK_SECONDS, StatusHold
from syncpipe.runtime.workqueue import WorkQueue
from syncpipe.source.informer import EventSource, Informer

log = logging.getLogger(__name__)

# Where tests and tools have long imported them from (defined in ``config.configapi``).
SYNCER_CONFIGS = configapi.SYNCER_CONFIGS
EDGE_SYNC_CONFIGS = configapi.EDGE_SYNC_CONFIGS

# The control loop's retry delay when a side cannot be reached: 1 s doubling to this cap, so a
# fixed server (or credential) is picked up within seconds, not half a minute.
CONTROL_MAX_BACKOFF = 8.0
# How often the control loop wakes up when nothing asks it to.
CONTROL_TICK_SECONDS = 1.0
# The janitor waits for the first sync to go idle, but not longer than this.
JANITOR_MAX_DELAY_SECONDS = 30.0


def reconcile_workers_beyond_writes(settings: Settings) -> int:
    """Downsync workers beyond the write concurrency (whose writers bound the writes in
    flight): they reconcile while the others wait for their writes, so that
    ``write_concurrency`` writes stay under way during an initial sync instead of fewer."""
    return max(2, settings.write_concurrency // 2)


class Syncer(DrivesPipeline):
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
        clients = {Side.UPSTREAM: upstream, Side.DOWNSTREAM: downstream}
        self._sources = RestSources(
            settings=settings, clients=clients, running_watch=self._running_watch
        )
        self.queues: dict[str, WorkQueue[ObjectKey]] = {
            name: WorkQueue(name=name, rate_limiter=ratelimit.default_controller_rate_limiter())
            for name in QUEUE_NAMES
        }
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._configs = ConfigWatch(
            upstream=upstream,
            label_selector=settings.syncer_config_selector,
            on_change=self._wake.set,
            recovery=self._sources.recoveries[Side.UPSTREAM],
        )
        self._discovery = LiveDiscovery(
            clients=clients, new_source=self._api_source, wake=self._wake.set
        )
        # The CRD and APIService watches (tests look at them).
        self._api_watches = self._discovery.api_watches
        self._last_heartbeat = 0.0
        self._started_at: float | None = None
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()
        self.pipeline = Pipeline(
            settings=settings,
            driver=Driver(
                clock=time.monotonic,
                queues=self.queues,
                writers={
                    Side.UPSTREAM: self.upstream_writer,
                    Side.DOWNSTREAM: self.downstream_writer,
                },
                readers=clients,
                served=self._discovery.served,
                open_source=self._sources.open,
                request_rediscovery=self._discovery.request,
                discovery_scope=self._discovery_scope,
                warn=log.warning,
                config_notice=self._config_event,
                counts_writes=True,
            ),
            pm=pm,
        )
        self._reporting = Reporting(
            settings=settings,
            upstream=upstream,
            downstream=downstream,
            pipeline=self.pipeline,
            config_object=self._config_object,
        )
        # Rejected keys and why (the same dict as the reporting's; tests look at it).
        self._rejected = self._reporting.rejected
        self._heartbeat_writer = Heartbeat(upstream=upstream, settings=settings)
        self.status_hold = StatusHold(backlog=lambda: len(self.queues["downsync"]))
        self.controllers = {
            "downsync": Controller(
                name="downsync",
                queue=self.queues["downsync"],
                reconcile=self.flows[Direction.DOWN].reconcile,
                workers=settings.write_concurrency + reconcile_workers_beyond_writes(settings),
                on_rejected=self._reporting.report_rejected,
                on_success=self._reporting.clear_rejected,
            ),
            "upsync": Controller(
                name="upsync",
                queue=self.queues["upsync"],
                reconcile=self.flows[Direction.UP].reconcile,
                workers=max(1, settings.write_concurrency // 2),
                on_rejected=self._reporting.report_rejected,
                on_success=self._reporting.clear_rejected,
            ),
            "status": Controller(
                name="status",
                queue=self.queues["status"],
                reconcile=self._return_status,
                workers=max(1, settings.write_concurrency // 2),
                on_rejected=self._reporting.report_rejected,
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
        return syncerstats.watch_restarts(self._all_informers())

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

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        interpreter.prefer_prompt_handoffs()
        interpreter.freeze_long_lived_objects()  # the modules and the composition
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
        interpreter.thaw_frozen_objects()

    def alive(self) -> bool:
        """False once the control loop thread died (liveness: restart the process)."""
        return self._thread is None or self._thread.is_alive() or self._stopping.is_set()

    def request_rediscovery(self) -> None:
        self._discovery.request()

    def owned_count(self) -> int:
        return self.pipeline.owned_count()

    def cache_sizes(self) -> dict[str, int]:
        """Objects this syncer caches, by part (see ``syncerstats.cache_sizes``)."""
        return syncerstats.cache_sizes(
            self.flows,
            owned=self.owned_count(),
            upstream_namespaces=self.pipeline.upstream_namespaces,
        )

    def statistics(self) -> dict[str, Any]:
        return {
            "sources": {d.value: len(f.sources) for d, f in self.flows.items()},
            "owned": self.owned_count(),
            "queues": {name: q.statistics() for name, q in self.queues.items()},
            "requests_downstream": dict(self.downstream.requests_by_verb),
            "requests_upstream": dict(self.upstream.requests_by_verb),
            "status_returns_held": self.status_hold.held,
            "watches_woken_by_recovery": {
                side.value: recovery.wakeups for side, recovery in self._sources.recoveries.items()
            },
        }

    @property
    def discovery_scope(self) -> frozenset[str] | None:
        """The API groups discovery covers now (``None``: every group, as at the start)."""
        return self._discovery.scope

    def served(self, *, group: str, side: Side = Side.UPSTREAM) -> tuple[ResourceInfo, ...]:
        """What the latest discovery of ``side`` found in ``group``."""
        found = self._discovery.results.get(side)
        return () if found is None else tuple(i for i in found.resources if i.gvr.group == group)

    def describe(self) -> dict[str, list[str]]:
        """What is being synced: the selected resources of each direction, each with the
        label selector its API server filters the watch by, if any."""
        return syncerstats.describe(self.flows)

    def progress(self) -> dict[str, int]:
        """Counters for a progress line: objects cached on the source side, owned copies,
        queued keys and writes so far."""
        return {
            "seen": syncerstats.cached_sources(self.flows),
            "owned": self.owned_count(),
            "queued": sum(len(q) for name, q in self.queues.items() if name != "status"),
            "writes": syncerstats.writes(
                rest.requests_by_verb for rest in (self.downstream, self.upstream)
            ),
        }

    def open_watches(self) -> dict[str, int]:
        """Watches this syncer keeps open, by side (a lent informer's counted once)."""
        return syncerstats.open_watches(self._all_informers())

    def _rest_of(self, side: Side) -> RestClient:
        return self.upstream if side is Side.UPSTREAM else self.downstream

    def _api_source(self, side: Side, info: ResourceInfo) -> EventSource:
        return self._sources.unshared(
            side, info, CollectionListerWatcher(self._rest_of(side), info.gvr)
        )

    def _all_informers(self) -> list[EventSource]:
        found: list[EventSource] = list(self._configs.informers.values())
        found.extend(self._discovery.api_informers())
        found.extend(self.pipeline.informers())
        return found

    def _running_watch(self, side: Side, gvr: GroupVersionResource) -> Informer | None:
        """An informer that already watches all of ``gvr`` on ``side`` for the syncer's own
        needs (CRDs and APIServices for discovery, upstream Namespaces for clean-up): a source
        of the same collection borrows it instead of opening a second watch of it."""
        watching = self._api_watches[side].informers.get((gvr.group, gvr.resource))
        if side is Side.UPSTREAM and gvr == NAMESPACE_GVR:
            watching = self.pipeline.upstream_namespaces
        if isinstance(watching, Informer) and watching.store.gvr == gvr:
            return watching
        return None

    def _discovery_scope(self) -> frozenset[str] | None:
        return self._discovery.scope

    def _config_event(self, notice: ConfigNotice) -> None:
        self._reporting.config_event(notice)

    def _config_object(self, key: ObjectKey) -> RawObject | None:
        return self._configs.get(key)

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
            if self._discovery.retry_due is not None:
                tick = min(tick, max(0.0, self._discovery.retry_due - time.monotonic()))
            self._wake.wait(tick)
            self._wake.clear()

    def _control_step(self) -> None:
        now = time.monotonic()
        pipeline = self.pipeline
        due, sweep = self._discovery.due(now, sweep_interval=self.settings.discovery_interval)
        if due:
            self._refresh_discovery(now, self._discovery.scope)
            if sweep:
                pipeline.collect_namespaces = True  # the safety net for what no event announced
        # The first lists may be under way: wait for them here rather than a whole tick (an
        # empty list announces nothing that would wake the loop).
        if not self._configs.synced() and not self._configs.synced(wait=1.0):
            return
        selection = pipeline.selection_from(self._configs.configs())
        if pipeline.janitor.done:
            # After the start-up janitor (which looks at every resource): only what is used.
            with pipeline.targets_lock:
                followed = {gvr.group for (_, gvr) in pipeline.targets}
            scope = apiwatch.discovery_groups(
                selection, followed=followed | frozenset(pipeline.demanded_groups)
            )
            if scope != self._discovery.scope:
                log.info("discovery covers %s", "every group" if scope is None else sorted(scope))
                self._refresh_discovery(now, scope)
        pipeline.apply_selection(selection)
        if self._started_at is None:
            self._started_at = now
        if not pipeline.janitor.done and (
            self._first_sync_idle() or now - self._started_at > JANITOR_MAX_DELAY_SECONDS
        ):
            # After the first sync rather than during it: its lists of every resource would
            # compete with the initial creates for the API server (and this process).
            pipeline.janitor.start(
                {side: found.resources for side, found in self._discovery.results.items()}
            )
        if pipeline.janitor.done:
            self._update_readiness()
        if now - self._last_heartbeat > self.settings.heartbeat_interval:
            self._heartbeat()
            if self.ready.is_set() and pipeline.collect_namespaces:
                pipeline.collect_namespaces = False
                self._collect_empty_namespaces()
            self._last_heartbeat = now
        else:
            self._heartbeat(only_changed=True)  # a condition that changed is told at once

    def _refresh_discovery(self, now: float, groups: frozenset[str] | None) -> None:
        """Discovery of both sides in ``groups`` (``None``: all), and what follows from it."""
        appeared = self._discovery.refresh(now, groups)
        self._configs.ensure(self._discovery.results[Side.UPSTREAM].by_gvr())
        self.pipeline.scope_upstream_namespace_watch()
        # A resource that appeared since (a CRD, an APIService back, a group now covered)
        # may hold copies of ours from before: once started, the janitor looks at those.
        self.pipeline.served_changed(appeared)

    def _collect_empty_namespaces(self) -> None:
        down = self._discovery.results.get(Side.DOWNSTREAM)
        if down is not None and self._discovery.scope is not None:
            # Emptiness means empty of everything, not only of the groups the syncer uses.
            down = discovery.discover(self.downstream)
        looked = namespacecleanup.collect_empty_namespaces(
            downstream=self.downstream,
            pipeline=self.pipeline,
            namespaced=None if down is None else down.resources,
        )
        if not looked:
            self.pipeline.collect_namespaces = True  # look again at the next heartbeat

    # -- readiness ---------------------------------------------------------------------------

    def _first_sync_idle(self) -> bool:
        """Every informer has listed and no sync queue holds or processes a key."""
        busy = any(
            q.statistics().depth or q.statistics().processing
            for name, q in self.queues.items()
            if name != "status"
        )
        # The API watches do not count: a syncer not allowed to read CRDs or APIServices (RBAC
        # of an older syncer-gen) still syncs, and follows new APIs by its safety sweep.
        watching_apis = {id(i) for i in self._discovery.api_informers()}
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
            interpreter.freeze_long_lived_objects()  # and the initial caches
            self.ready.set()

    def serving(self) -> bool:
        """Ready for probes: initial sync done and every source can read its side now."""
        return self.ready.is_set() and not self._reporting.source_errors()

    def _heartbeat(self, *, only_changed: bool = False) -> None:
        """Write each SyncerConfig's heartbeat and conditions (see ``runtime.heartbeat``)."""
        self._heartbeat_writer.write(
            self._configs.syncer_configs(),
            self._reporting.conditions_for,
            only_changed=only_changed,
        )
