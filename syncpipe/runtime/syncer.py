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

import concurrent.futures
import functools
import logging
import sys
import threading
import time
from typing import Any

import pluggy

from syncpipe import errors
from syncpipe.clients import discovery
from syncpipe.clients.rest import RestClient
from syncpipe.clients.watching import CollectionListerWatcher
from syncpipe.clients.writer import ClusterWriter
from syncpipe.config import configapi
from syncpipe.config.settings import Settings
from syncpipe.model.events import Direction, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import NAMESPACE_GVR, GroupVersionResource, ResourceInfo
from syncpipe.runtime import apiwatch, conditions, metrics, namespacecleanup, ratelimit
from syncpipe.runtime.availability import ConfigNotice
from syncpipe.runtime.controller import Controller
from syncpipe.runtime.events import EventRecorder
from syncpipe.runtime.flow import SourceState
from syncpipe.runtime.heartbeat import Heartbeat
from syncpipe.runtime.pipeline import QUEUE_NAMES, Driver, Pipeline
from syncpipe.runtime.restsources import RestSources
from syncpipe.runtime.servedview import IndexedDiscovery
from syncpipe.runtime.statushold import STATUS_HOLD_RECHECK_SECONDS, StatusHold
from syncpipe.runtime.workqueue import WorkQueue
from syncpipe.source.informer import EventSource, Informer, SharedSource

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
        clients = {Side.UPSTREAM: upstream, Side.DOWNSTREAM: downstream}
        self._sources = RestSources(
            settings=settings, clients=clients, running_watch=self._running_watch
        )
        self.queues: dict[str, WorkQueue[ObjectKey]] = {
            name: WorkQueue(name=name, rate_limiter=ratelimit.default_controller_rate_limiter())
            for name in QUEUE_NAMES
        }
        self._config_informers: dict[GroupVersionResource, Informer] = {}
        self._rejected: dict[str, str] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._rediscover = True
        # When an established CRD's API is not in discovery yet: ask again at this time.
        self._rediscover_due: float | None = None
        self._pending_retries = 0
        # The groups discovery covers (None: all; so at the start, for the janitor).
        self._discovery_scope: frozenset[str] | None = None
        self._discovery: dict[Side, discovery.DiscoveryResult] = {}
        # Lookups by kind and by GVR on the per-object path: built once per discovery refresh.
        self._indexes: dict[Side, IndexedDiscovery] = {}
        self._last_discovery = 0.0
        self._last_heartbeat = 0.0
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
                served=self._served,
                open_source=self._sources.open,
                request_rediscovery=self.request_rediscovery,
                discovery_scope=lambda: self._discovery_scope,
                warn=log.warning,
                config_notice=self._config_event,
            ),
            pm=pm,
        )
        self.hooks = self.pipeline.hooks
        self.namespace_mapper = self.pipeline.namespace_mapper
        self.guard = self.pipeline.guard
        self.flows = self.pipeline.flows
        self.status_return = self.pipeline.status_return
        self.status_pacer = self.pipeline.status_pacer
        self._events_up = EventRecorder(
            upstream, syncer_name=settings.syncer_name, kind_of=self.pipeline.kind_of
        )
        self._events_down = EventRecorder(
            downstream, syncer_name=settings.syncer_name, kind_of=self.pipeline.kind_of
        )
        self._heartbeat_writer = Heartbeat(upstream=upstream, settings=settings)
        self.status_hold = StatusHold(backlog=lambda: len(self.queues["downsync"]))
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
        return self.pipeline.owned_count()

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
        return self._sources.unshared(
            side, info, CollectionListerWatcher(self._rest_of(side), info.gvr)
        )

    def _all_informers(self) -> list[EventSource]:
        found: list[EventSource] = list(self._config_informers.values())
        for watch in self._api_watches.values():
            found.extend(watch.informers.values())
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

    def _served(self, side: Side) -> IndexedDiscovery | None:
        return self._indexes.get(side)

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
        pipeline = self.pipeline
        sweep = now - self._last_discovery > self.settings.discovery_interval
        retry = self._rediscover_due is not None and now >= self._rediscover_due
        if self._rediscover or sweep or retry:
            self._rediscover = False
            self._refresh_discovery(now, self._discovery_scope)
            if sweep:
                pipeline.collect_namespaces = True  # the safety net for what no event announced
        if not self._configs_synced():
            # The first lists are under way: wait for them here rather than a whole tick (an
            # empty list announces nothing that would wake the loop).
            for informer in self._config_informers.values():
                informer.wait_for_sync(timeout=1.0)
            if not self._configs_synced():
                return
        selection = pipeline.selection_from(
            obj for informer in self._config_informers.values() for obj in informer.store.list()
        )
        if pipeline.janitor_done:
            # After the start-up janitor (which looks at every resource): only what is used.
            with pipeline.targets_lock:
                followed = {gvr.group for (_, gvr) in pipeline.targets}
            scope = apiwatch.discovery_groups(
                selection, followed=followed | frozenset(pipeline.demanded_groups)
            )
            if scope != self._discovery_scope:
                log.info("discovery covers %s", "every group" if scope is None else sorted(scope))
                self._refresh_discovery(now, scope)
        pipeline.apply_selection(selection)
        if self._started_at is None:
            self._started_at = now
        if not pipeline.janitor_done and (
            self._first_sync_idle() or now - self._started_at > JANITOR_MAX_DELAY_SECONDS
        ):
            # After the first sync rather than during it: its lists of every resource would
            # compete with the initial creates for the API server (and this process).
            pipeline.janitor({side: result.resources for side, result in self._discovery.items()})
            pipeline.janitor_done = True
        if pipeline.janitor_done:
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
        with concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="discover") as pool:
            upstream = pool.submit(discovery.discover, self.upstream, groups=groups)
            downstream = pool.submit(discovery.discover, self.downstream, groups=groups)
            found = {Side.UPSTREAM: upstream.result(), Side.DOWNSTREAM: downstream.result()}
        before = {side: result.by_gvr() for side, result in self._discovery.items()}
        self._discovery = found
        self._discovery_scope = groups
        self._indexes = {side: IndexedDiscovery.of(result) for side, result in found.items()}
        self._last_discovery = now
        self._rediscover_due = None
        for side, watch in self._api_watches.items():
            watch.ensure(found[side])
        self._ensure_config_informers()
        self.pipeline.ensure_upstream_namespace_watch()
        self.pipeline.served_changed(
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
        for gvr in configapi.CONFIG_GVRS:
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
        if configapi.SYNCER_CONFIGS not in served and not self._config_informers:
            log.warning(
                "the SyncerConfig API (%s) is not served upstream yet; install it with "
                "`syncpipe crds | kubectl apply -f -` (waiting)",
                configapi.SYNCER_CONFIGS,
            )

    def _configs_synced(self) -> bool:
        return bool(self._config_informers) and all(
            i.has_synced() for i in self._config_informers.values()
        )

    def _collect_empty_namespaces(self) -> None:
        down = self._discovery.get(Side.DOWNSTREAM)
        if down is not None and self._discovery_scope is not None:
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

    def serving(self) -> bool:
        """Ready for probes: initial sync done and every source can read its side now."""
        return self.ready.is_set() and not self._source_errors()

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

    def _source_errors(self) -> list[str]:
        """Sources that cannot read their side now (RBAC revoked, token expired)."""
        found = []
        for flow in self.flows.values():
            for gvr, state in list(flow.sources.items()):
                error = getattr(state.informer, "last_error", None)
                if isinstance(error, errors.ApiForbidden | errors.ApiUnauthorized):
                    found.append(f"{flow.direction.source.value} {gvr}: {error}")
        return found

    def _config_event(self, notice: ConfigNotice) -> None:
        kind, _, name = notice.ref.partition("/")
        if notice.event_type == "Warning":
            log.warning("%s: %s", notice.ref, notice.message)
        else:
            log.info("%s: %s", notice.ref, notice.message)
        gvr = configapi.CONFIG_KINDS.get(kind)
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
        pipeline = self.pipeline
        facts = conditions.ConfigFacts(
            config_problems=pipeline.config_problems.get(name, ()),
            unreadable=self._source_errors(),
            rejected=sorted(self._rejected.items())[: conditions.SHOWN_PER_REASON],
            selection_problems=pipeline.selection_problems,
            unserved=pipeline.apis.for_config(f"SyncerConfig/{name}"),
            held_deletions=len(self.guard.held) if self.guard.tripped else None,
        )
        return conditions.conditions(facts)

    def _heartbeat(self, *, only_changed: bool = False) -> None:
        """Write each SyncerConfig's heartbeat and conditions (see ``runtime.heartbeat``)."""
        informer = self._config_informers.get(configapi.SYNCER_CONFIGS)
        if informer is not None:
            self._heartbeat_writer.write(
                informer.store.list(), self._conditions_for, only_changed=only_changed
            )
