"""The syncer process: wires sources, hook chain and sinks for both directions.

One control loop (a thread) owns the moving parts: it refreshes discovery, turns the
SyncerConfigs into a merged selection, and starts or stops informers as resources are selected,
appear (a CRD created later) or disappear. Workers never touch that bookkeeping; they read a
snapshot of the resource table.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs
import pluggy

from syncpipe import builtin, errors
from syncpipe.builtin import ownership
from syncpipe.clients import discovery
from syncpipe.clients.rest import RestClient
from syncpipe.clients.watching import CollectionListerWatcher
from syncpipe.clients.writer import ClusterWriter
from syncpipe.config import syncerconfig
from syncpipe.config.selection import Selection
from syncpipe.config.settings import Settings
from syncpipe.hooks import manager
from syncpipe.hooks.context import SyncContext
from syncpipe.model.events import Event, EventType, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import name_of
from syncpipe.model.resources import GroupVersionResource, ResourceInfo
from syncpipe.runtime import ratelimit
from syncpipe.runtime.controller import Controller
from syncpipe.runtime.downsync import DownsyncReconciler, ResourceState, StatusReconciler
from syncpipe.runtime.safety import DeletionGuard
from syncpipe.runtime.workqueue import WorkQueue
from syncpipe.source.informer import Informer

log = logging.getLogger(__name__)

CONFIG_GROUP = "edge.kubestellar.io"
SYNCER_CONFIGS = GroupVersionResource(CONFIG_GROUP, "v2alpha1", "syncerconfigs")
EDGE_SYNC_CONFIGS = GroupVersionResource(CONFIG_GROUP, "v2alpha1", "edgesyncconfigs")
# How often the control loop wakes up when nothing asks it to.
CONTROL_TICK_SECONDS = 1.0


def _now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        self.upstream_writer = ClusterWriter(upstream)
        self.downstream_writer = ClusterWriter(downstream)
        if pm is None:
            pm = manager.build(builtins=builtin.MODULES, disabled=settings.disabled_plugins)
        ctx = SyncContext(
            syncer_name=settings.syncer_name,
            selection=Selection.empty(),
            plugin_settings=settings.plugin_settings,
        )
        self.hooks = manager.Hooks(pm=pm, ctx=ctx, transform_order=settings.transform_order)
        self.hooks.configure()
        mappers = self.hooks.namespace_mappers()
        if settings.namespace_mapping not in mappers:
            raise errors.ConfigError(
                [("--namespace-mapping", f"unknown mapper {settings.namespace_mapping!r}")]
            )
        self.namespace_mapper = mappers[settings.namespace_mapping]
        self.hooks.ctx = attrs.evolve(ctx, namespace_mapper=self.namespace_mapper)
        self.hooks.transforms()  # fail fast on duplicate transform names

        self._resources: dict[GroupVersionResource, ResourceState] = {}
        self._config_informers: dict[GroupVersionResource, Informer] = {}
        self._config_problems: dict[str, list[str]] = {}
        self._rejected: dict[str, str] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._rediscover = True
        self._up_discovery: discovery.DiscoveryResult | None = None
        self._down_discovery: discovery.DiscoveryResult | None = None
        self._last_discovery = 0.0
        self._last_heartbeat = 0.0
        self._selection_loaded = False
        self._janitor_done = False
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()

        self.guard = DeletionGuard(
            owned_count=self.owned_count,
            max_fraction=settings.max_inferred_delete_fraction,
            min_held=settings.min_inferred_deletes_held,
            window=settings.resync_period,
            confirmed=settings.confirm_held_deletions,
        )
        self.downsync = DownsyncReconciler(
            hooks=self.hooks,
            resources=lambda: self._resources,
            downstream_writer=self.downstream_writer,
            guard=self.guard,
            downstream_namespace_for=self.namespace_mapper.downstream_namespace_for,
            on_missing_api=self.request_rediscovery,
        )
        self.status = StatusReconciler(
            hooks=self.hooks,
            resources=lambda: self._resources,
            upstream_writer=self.upstream_writer,
            target_key=self.downsync.target_key,
        )
        self.down_queue: WorkQueue[ObjectKey] = WorkQueue(
            name="downsync", rate_limiter=ratelimit.default_controller_rate_limiter()
        )
        self.status_queue: WorkQueue[ObjectKey] = WorkQueue(
            name="status", rate_limiter=ratelimit.default_controller_rate_limiter()
        )
        self.down_controller = Controller(
            name="downsync",
            queue=self.down_queue,
            reconcile=self.downsync.reconcile,
            workers=settings.write_concurrency,
            on_rejected=self._report_rejected,
        )
        self.status_controller = Controller(
            name="status",
            queue=self.status_queue,
            reconcile=self.status.reconcile,
            workers=max(1, settings.write_concurrency // 2),
            on_rejected=self._report_rejected,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.hooks.startup(self)
        self.down_controller.start()
        if self.settings.status_return:
            self.status_controller.start()
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
        self.down_controller.stop(timeout=timeout)
        self.status_controller.stop(timeout=timeout)
        self.hooks.shutdown(self)

    def request_rediscovery(self) -> None:
        self._rediscover = True
        self._wake.set()

    def owned_count(self) -> int:
        return sum(
            len(state.downstream.store) for state in self._resources.values() if state.downstream
        )

    def statistics(self) -> dict[str, Any]:
        return {
            "resources": len(self._resources),
            "owned": self.owned_count(),
            "downsync_queue": self.down_queue.statistics(),
            "status_queue": self.status_queue.statistics(),
            "writes_downstream": dict(self.downstream.requests_by_verb),
            "writes_upstream": dict(self.upstream.requests_by_verb),
        }

    def _all_informers(self) -> list[Informer]:
        found = list(self._config_informers.values())
        for state in self._resources.values():
            found.extend(i for i in (state.upstream, state.downstream) if i is not None)
        return found

    # -- the control loop ----------------------------------------------------------------------

    def _control_loop(self) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            try:
                self._control_step()
                backoff = 1.0
            except errors.ApiError as exc:
                log.warning("control loop: %s (retrying in %.0fs)", exc, backoff)
                self._wake.wait(backoff)
                backoff = min(backoff * 2, 30.0)
            except Exception:
                log.exception("control loop failed (retrying in %.0fs)", backoff)
                self._wake.wait(backoff)
                backoff = min(backoff * 2, 30.0)
            self._wake.wait(CONTROL_TICK_SECONDS)
            self._wake.clear()

    def _control_step(self) -> None:
        now = time.monotonic()
        if self._rediscover or now - self._last_discovery > self.settings.discovery_interval:
            self._up_discovery = discovery.discover(self.upstream)
            self._down_discovery = discovery.discover(self.downstream)
            self._last_discovery = now
            self._rediscover = False
            self._ensure_config_informers()
        if not self._configs_synced():
            return
        selection = self._current_selection()
        self._apply_selection(selection)
        if not self._janitor_done:
            self._janitor()
            self._janitor_done = True
        self._retire_finished_cleanups()
        self._update_readiness()
        if now - self._last_heartbeat > self.settings.heartbeat_interval:
            self._heartbeat()
            self._last_heartbeat = now

    def _ensure_config_informers(self) -> None:
        assert self._up_discovery is not None  # noqa: S101 - set by the caller
        served = self._up_discovery.by_gvr()
        for gvr in (SYNCER_CONFIGS, EDGE_SYNC_CONFIGS):
            if gvr in served and gvr not in self._config_informers:
                informer = Informer(
                    gvr=gvr,
                    side=Side.UPSTREAM,
                    lister_watcher=CollectionListerWatcher(self.upstream, gvr),
                    name=f"upstream:{gvr.resource}",
                )
                informer.add_handler(lambda _event: self._wake.set())
                informer.start()
                self._config_informers[gvr] = informer
        if SYNCER_CONFIGS not in served and not self._selection_loaded:
            log.warning(
                "the SyncerConfig API (%s) is not served upstream yet; install it with "
                "`syncpipe crds | kubectl apply -f -` (waiting)",
                SYNCER_CONFIGS,
            )

    def _configs_synced(self) -> bool:
        return bool(self._config_informers) and all(
            i.has_synced() for i in self._config_informers.values()
        )

    def _current_selection(self) -> Selection:
        parsed: list[syncerconfig.AnyConfig] = []
        problems: dict[str, list[str]] = {}
        for informer in self._config_informers.values():
            for obj in informer.store.list():
                name = name_of(obj)
                try:
                    parsed.append(
                        syncerconfig.parse_config(obj, source=f"{obj.get('kind')}/{name}")
                    )
                except errors.ConfigError as exc:
                    problems[name] = [f"{m} @ {p}" for p, m in exc.problems]
                    log.error("ignoring malformed %s %s: %s", obj.get("kind"), name, exc)
        self._config_problems = problems
        return Selection.from_configs(parsed)

    def _apply_selection(self, selection: Selection) -> None:
        assert self._up_discovery is not None  # noqa: S101
        assert self._down_discovery is not None  # noqa: S101
        changed = selection != self.hooks.ctx.selection
        if changed:
            self.hooks.ctx = attrs.evolve(self.hooks.ctx, selection=selection)
            log.info("selection changed: %d rules", len(selection.rules))
        self._selection_loaded = True
        wanted = {
            info.gvr: info
            for info in selection.resolve_downsync(
                self._up_discovery.resources,
                preferred_versions=self._up_discovery.preferred_versions,
            )
        }
        down_served = {(i.gvr.group, i.gvr.resource): i for i in self._down_discovery.resources}
        for gvr, info in wanted.items():
            state = self._resources.get(gvr)
            if state is None:
                state = ResourceState(upstream_info=info)
                self._resources[gvr] = state
            if state.upstream is None:
                state.upstream_info = info
                state.upstream = self._start_upstream_informer(info)
            down_info = down_served.get((gvr.group, gvr.resource))
            if state.downstream is None and down_info is not None:
                state.downstream_info = down_info
                state.downstream = self._start_downstream_informer(gvr, down_info)
        for gvr, state in list(self._resources.items()):
            if gvr not in wanted and state.upstream is not None:
                log.info("no longer selected upstream: %s; cleaning up owned copies", gvr)
                state.upstream.stop(timeout=2.0)
                state.upstream = None
                if state.downstream is not None:
                    for key in list(state.downstream.store):
                        self.down_queue.add(self._upstream_key(gvr, key))
        if changed:
            for gvr, state in self._resources.items():
                for informer in (state.upstream, state.downstream):
                    if informer is None:
                        continue
                    for key in list(informer.store):
                        if informer is state.upstream:
                            self.down_queue.add(key)
                        else:
                            self.down_queue.add(self._upstream_key(gvr, key))

    def _upstream_key(self, upstream_gvr: GroupVersionResource, down_key: ObjectKey) -> ObjectKey:
        namespace = ""
        if down_key.namespace:
            namespace = (
                self.namespace_mapper.upstream_namespace_for(down_key.namespace)
                or down_key.namespace
            )
        return ObjectKey(upstream_gvr, namespace, down_key.name)

    def _start_upstream_informer(self, info: ResourceInfo) -> Informer:
        informer = Informer(
            gvr=info.gvr,
            side=Side.UPSTREAM,
            lister_watcher=CollectionListerWatcher(self.upstream, info.gvr),
            resync_period=self.settings.resync_period,
        )

        def on_upstream(event: Event) -> None:
            if event.type is EventType.BOOKMARK:
                return
            self.downsync.note_inferred_delete(
                event.key, event.type is EventType.DELETED and event.final_state_unknown
            )
            self.down_queue.add(event.key)
            if info.gvr.resource == "customresourcedefinitions" and event.type in (
                EventType.ADDED,
                EventType.DELETED,
            ):
                self.request_rediscovery()

        informer.add_handler(on_upstream)
        informer.start()
        return informer

    def _start_downstream_informer(
        self, upstream_gvr: GroupVersionResource, info: ResourceInfo
    ) -> Informer:
        selector = (
            f"{ownership.OWNER_LABEL}={ownership.owner_label_value(self.settings.syncer_name)}"
        )
        informer = Informer(
            gvr=info.gvr,
            side=Side.DOWNSTREAM,
            lister_watcher=CollectionListerWatcher(
                self.downstream, info.gvr, label_selector=selector
            ),
            resync_period=self.settings.resync_period,
        )
        settle = self.settings.status_settle_seconds

        def on_downstream(event: Event) -> None:
            if event.type is EventType.BOOKMARK:
                return
            key = self._upstream_key(upstream_gvr, event.key)
            self.down_queue.add(key)
            if self.settings.status_return and event.type is not EventType.DELETED:
                self.status_queue.add_after(key, settle)

        informer.add_handler(on_downstream)
        informer.start()
        return informer

    def _janitor(self) -> None:
        """Find owned copies of resources no longer selected (deselected while we were down)."""
        assert self._down_discovery is not None  # noqa: S101
        selector = (
            f"{ownership.OWNER_LABEL}={ownership.owner_label_value(self.settings.syncer_name)}"
        )
        known = {(g.group, g.resource) for g in self._resources}
        for info in self._down_discovery.resources:
            if (info.gvr.group, info.gvr.resource) in known or not info.listable:
                continue
            if not info.watchable:
                continue
            try:
                items, _ = self.downstream.list(info.gvr, label_selector=selector)
            except errors.ApiError:
                continue
            if not items:
                continue
            log.info("found %d owned %s no longer selected: cleaning up", len(items), info.gvr)
            state = ResourceState(upstream_info=None, downstream_info=info)
            state.downstream = self._start_downstream_informer(info.gvr, info)
            self._resources[info.gvr] = state
            for item in items:
                self.down_queue.add(ObjectKey.from_object(info.gvr, item))

    def _retire_finished_cleanups(self) -> None:
        for gvr, state in list(self._resources.items()):
            if state.upstream is None and state.downstream is not None:
                if state.downstream.has_synced() and len(state.downstream.store) == 0:
                    state.downstream.stop(timeout=2.0)
                    del self._resources[gvr]
            elif state.upstream is None and state.downstream is None:
                del self._resources[gvr]

    def _update_readiness(self) -> None:
        if self.ready.is_set():
            return
        informers = [s.upstream for s in self._resources.values() if s.upstream is not None]
        informers += [s.downstream for s in self._resources.values() if s.downstream is not None]
        stats = self.down_queue.statistics()
        if all(i.has_synced() for i in informers) and stats.depth == 0 and stats.processing == 0:
            log.info(
                "initial sync done: %d informers, %d owned", len(informers), self.owned_count()
            )
            self.ready.set()

    # -- reporting -------------------------------------------------------------------------------

    def _report_rejected(self, key: ObjectKey, exc: Exception) -> None:
        self._rejected[str(key)] = str(exc)
        self.hooks.object_rejected(key=key, error=exc)

    def _heartbeat(self) -> None:
        informer = self._config_informers.get(SYNCER_CONFIGS)
        if informer is None:
            return
        stamp = _now_rfc3339()
        for obj in informer.store.list():
            name = name_of(obj)
            problems = self._config_problems.get(name)
            rejected = sorted(self._rejected.items())[:5]
            if problems:
                condition = {
                    "type": "Ready",
                    "status": "False",
                    "reason": "InvalidConfig",
                    "message": "; ".join(problems)[:1000],
                }
            elif rejected:
                condition = {
                    "type": "Ready",
                    "status": "False",
                    "reason": "ObjectsRejected",
                    "message": "; ".join(f"{k}: {v}" for k, v in rejected)[:1000],
                }
            else:
                condition = {"type": "Ready", "status": "True", "reason": "Syncing", "message": ""}
            old = {c.get("type"): c for c in (obj.get("status") or {}).get("conditions") or ()}
            prev = old.get("Ready") or {}
            same = all(prev.get(k) == condition[k] for k in ("status", "reason", "message"))
            condition["lastTransitionTime"] = (
                prev.get("lastTransitionTime", stamp) if same else stamp
            )
            patch = {"status": {"lastSyncerHeartbeatTime": stamp, "conditions": [condition]}}
            try:
                self.upstream.merge_patch(SYNCER_CONFIGS, "", name, patch, subresource="status")
            except errors.ApiError as exc:
                log.debug("heartbeat on SyncerConfig %s failed: %s", name, exc)


def run_until(stop: Callable[[], bool], syncer: Syncer, poll: float = 0.5) -> None:
    """Block until ``stop()`` answers true, then stop the syncer gracefully."""
    syncer.start()
    try:
        while not stop():
            time.sleep(poll)
    finally:
        syncer.stop()
