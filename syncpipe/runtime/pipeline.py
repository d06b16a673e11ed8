"""The syncer's composition, written once: what both drivers run.

``Pipeline`` assembles the hooks (plugins, namespace mapper, transforms, the write counter),
the deletion guard, one ``Flow`` per direction and status return; it turns configs into the
merged selection, reconciles the source watches to it, routes source and owned-copy events
to the queues (status pacing, echo suppression), watches the upstream Namespaces it needs to
know about (by name where the selection names them, like the sources), and looks for
owned copies of resources nobody selects (the janitor). It is the ``TargetResolver`` the
flows ask about the target side.

What differs between the live syncer and a replay is only what a ``Driver`` gives it: a
clock, queues, the writers and readers of each side, what each side serves, and how a watch
of one collection is opened (live: informers over REST; replay: informers over memory
stores). ``runtime.syncer.Syncer`` adds threads, discovery, controllers, readiness and
conditions; ``replay.engine.ReplayEngine`` adds virtual time, its scheduler and the memory
stores. A behaviour added here is in both.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import attrs
import pluggy

from syncpipe import builtin, errors
from syncpipe.builtin import namespaces, ownership
from syncpipe.config.mergedselection import Selection
from syncpipe.config.settings import Settings
from syncpipe.hooks import manager
from syncpipe.hooks.context import SyncContext
from syncpipe.model.events import Direction, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import NAMESPACE_GVR, GroupVersionResource, ResourceInfo
from syncpipe.runtime import handlers, metrics, routing
from syncpipe.runtime.availability import ApiAvailability, ConfigNotice
from syncpipe.runtime.flow import (
    WAIT_FOR_CACHE_SECONDS,
    Flow,
    SourceState,
    Writer,
    sources_wanted,
)
from syncpipe.runtime.handlers import Queue
from syncpipe.runtime.janitor import ClusterReader, Janitor
from syncpipe.runtime.safety import DeletionGuard, FightGuard
from syncpipe.runtime.selecting import read_configs, selection_problems
from syncpipe.runtime.servedview import ServedView
from syncpipe.runtime.statuspacing import StatusPacer
from syncpipe.runtime.statusreturn import StatusReturn
from syncpipe.source.informer import EventSource

log = logging.getLogger(__name__)

# The queues a driver provides: one per flow, and status return's.
QUEUE_NAMES = ("downsync", "upsync", "status")
DIRECTION_QUEUES = {Direction.DOWN: "downsync", Direction.UP: "upsync"}


# Opens (does not start) a watch of one collection of one side: the resource, the label
# selector its server filters by, the namespaces watched one by one (empty: all; for the
# Namespaces resource, the Namespaces watched by name).
OpenSource = Callable[[Side, ResourceInfo, str, tuple[str, ...]], EventSource]


def _no_scope() -> frozenset[str] | None:
    return None


def _every_collection_known(_side: Side, _gvr: GroupVersionResource) -> bool:
    return True


def _ignore_notice(_notice: ConfigNotice) -> None:
    return None


@attrs.frozen(kw_only=True)
class Driver:
    """What a driver gives the pipeline (see the module docstring)."""

    clock: Callable[[], float]
    queues: Mapping[str, Queue]
    writers: Mapping[Side, Writer]
    readers: Mapping[Side, ClusterReader]
    served: Callable[[Side], ServedView | None]
    open_source: OpenSource
    request_rediscovery: Callable[[], None]
    # The API groups discovery covers now (None: every group).
    discovery_scope: Callable[[], frozenset[str] | None] = _no_scope
    # Whether the driver can tell anything about a collection (a replay: it was recorded).
    collection_known: Callable[[Side, GroupVersionResource], bool] = _every_collection_known
    # Problems worth telling the user (the live syncer logs them, a replay reports them).
    warn: Callable[[str], None] = log.warning
    # What changed about the APIs a config names (the live syncer posts an Event).
    config_notice: Callable[[ConfigNotice], None] = _ignore_notice
    # Whether writes count in this process's Prometheus metrics: the live syncer's do (it
    # serves ``/metrics``); a replay's planned writes are not the process's writes.
    counts_writes: bool = False


def build_hooks(
    settings: Settings, pm: pluggy.PluginManager | None = None, *, counts_writes: bool = False
) -> manager.Hooks:
    """The hooks of a syncer: plugins (built-in, installed, minus the disabled ones), the
    write counter (``counts_writes``), the namespace mapper in the context, transforms checked
    for duplicates."""
    if pm is None:
        pm = manager.build(builtins=builtin.MODULES, disabled=settings.disabled_plugins)
    if counts_writes and not pm.has_plugin(metrics.WRITE_COUNTER):
        pm.register(metrics.WriteCounter(), name=metrics.WRITE_COUNTER)
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


def owner_selector(syncer_name: str) -> str:
    """The label selector of the copies ``syncer_name`` owns."""
    return f"{ownership.OWNER_LABEL}={ownership.owner_label_value(syncer_name)}"


class Pipeline:
    """Hooks, guards, flows, selection, event routing and janitor of one syncer."""

    def __init__(
        self, *, settings: Settings, driver: Driver, pm: pluggy.PluginManager | None = None
    ) -> None:
        self.settings = settings
        self.driver = driver
        self.hooks = build_hooks(settings, pm, counts_writes=driver.counts_writes)
        self.namespace_mapper = self.hooks.ctx.namespace_mapper
        self.owner_selector = owner_selector(settings.syncer_name)
        self.targets: dict[tuple[Direction, GroupVersionResource], EventSource] = {}
        self.targets_lock = threading.Lock()
        self.apis = ApiAvailability()
        self.config_problems: dict[str, list[str]] = {}
        self.selection_problems: list[str] = []
        self.status_off: frozenset[str] = frozenset()
        self.upstream_namespaces: EventSource | None = None
        # The upstream Namespaces watched by name (None: all); empty while none is needed.
        self.upstream_namespace_scope: frozenset[str] | None = frozenset()
        self._namespace_watch_lock = threading.RLock()
        # Whether implicit namespaces may have become empty (an owned copy deleted).
        self.collect_namespaces = True
        # Groups a copy needed that discovery did not cover (added by workers).
        self.demanded_groups: set[str] = set()
        self.janitor = Janitor(
            readers=driver.readers,
            served=driver.served,
            owner_selector=self.owner_selector,
            namespace_mapper=self.namespace_mapper,
            followed=self.followed,
            follow=self.target_informer,
        )
        self._reported_empty = False
        self.status_pacer = StatusPacer(window=settings.status_settle_seconds, clock=driver.clock)
        self.guard = DeletionGuard(
            owned_count=self.owned_count,
            max_fraction=settings.max_inferred_delete_fraction,
            min_held=settings.min_inferred_deletes_held,
            window=settings.resync_period,
            confirmed=settings.confirm_held_deletions,
            clock=driver.clock,
        )
        self.flows = {
            direction: Flow(
                direction=direction,
                hooks=self.hooks,
                target_writer=driver.writers[direction.target],
                resolver=self,
                guard=self.guard,
                on_missing_api=driver.request_rediscovery,
                source_namespace_exists=(
                    self.upstream_namespace_exists
                    if direction is Direction.DOWN
                    else lambda _name: None
                ),
                fights=FightGuard(clock=driver.clock),
            )
            for direction in (Direction.DOWN, Direction.UP)
        }
        self.status_return = StatusReturn(
            flow=self.flows[Direction.DOWN],
            upstream_writer=driver.writers[Side.UPSTREAM],
            configs_without_status=lambda: self.status_off,
        )

    # -- configs → selection → sources -------------------------------------------------------

    def selection_from(self, configs: Iterable[RawObject]) -> Selection:
        """The merged selection of ``configs``; malformed ones are left out and reported
        (once each), those that turn status return off remembered."""
        found = read_configs(configs)
        for name, message in found.ignored.items():
            if self.config_problems.get(name) != found.problems[name]:
                self.driver.warn(message)
        self.config_problems = found.problems
        self.status_off = found.status_off
        return found.selection

    def apply_selection(self, selection: Selection) -> None:
        """Make the hooks' context, the sources and the owned copies follow ``selection``."""
        changed = selection != self.hooks.ctx.selection
        if changed:
            self.hooks.ctx = attrs.evolve(self.hooks.ctx, selection=selection)
            log.info("selection changed: %d rules", len(selection.rules))
        if selection.is_empty and not self._reported_empty:
            self.driver.warn("no SyncerConfig selects anything: nothing to sync")
        self._reported_empty = selection.is_empty
        up, down = self.driver.served(Side.UPSTREAM), self.driver.served(Side.DOWNSTREAM)
        if up is None or down is None:
            return
        for notice in self.apis.note_entries(
            {
                Side.UPSTREAM: selection.unserved(Direction.DOWN, up.resources),
                Side.DOWNSTREAM: selection.unserved(Direction.UP, down.resources),
            }
        ):
            self.driver.config_notice(notice)
        problems = selection_problems(selection, up.resources)
        if problems != self.selection_problems:
            for problem in problems:
                self.driver.warn(f"selection problem: {problem}")
        self.selection_problems = problems
        wanted = {
            Direction.DOWN: selection.resolve_downsync(
                up.resources, preferred_versions=dict(up.preferred_versions)
            ),
            Direction.UP: selection.resolve_upsync(
                down.resources, preferred_versions=dict(down.preferred_versions)
            ),
        }
        # Before the sources: a Namespace source borrows this watch (live).
        self.scope_upstream_namespace_watch()
        for direction, infos in wanted.items():
            wanted_sources = sources_wanted(
                selection, direction, infos, max_namespaced_watches=self.max_namespaced_watches
            )
            self.reconcile_sources(direction, wanted_sources, changed)

    @property
    def max_namespaced_watches(self) -> int:
        """Namespaces watched one by one at most (0 with ``--source poll``: polling lists a
        collection as a whole)."""
        return 0 if self.settings.source_mode == "poll" else self.settings.max_namespaced_watches

    def reconcile_sources(
        self,
        direction: Direction,
        wanted: dict[GroupVersionResource, SourceState],
        selection_changed: bool,
    ) -> None:
        """Start, replace and stop ``direction``'s source watches to match ``wanted``; after a
        selection change every source object and owned copy is looked at again."""
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
            state.informer = self._start_source(direction, state)
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
            queue = self.driver.queues[DIRECTION_QUEUES[direction]]
            for state in list(flow.sources.values()):
                if state.informer is not None:
                    for key in list(state.informer.store):
                        queue.add(key)
            for informer in self.targets_of(direction):
                informer.resync()  # every owned copy is re-examined (deselected ones deleted)

    def _start_source(self, direction: Direction, state: SourceState) -> EventSource:
        informer = self.driver.open_source(
            direction.source, state.info, state.label_selector, state.namespaces
        )
        queue = self.driver.queues[DIRECTION_QUEUES[direction]]
        informer.add_handler(handlers.on_source(direction, self.flows[direction], queue))
        informer.start()
        return informer

    # -- upstream namespaces -----------------------------------------------------------------

    def scope_upstream_namespace_watch(self, also: str = "") -> None:
        """Watch the upstream Namespaces the syncer needs to know about
        (``routing.upstream_namespace_scope``; ``also``: one more, asked about by a reconcile),
        re-opening the watch when that set changes.

        A copied Namespace is deleted only when its upstream Namespace is gone, which must be
        known even after its namespace was deselected: the Namespaces of the copies count.
        The new watch replaces the old in one assignment; until its first list is in, a
        question about a Namespace is answered "retry", never "gone". The Namespace copies
        are looked at again then, so a Namespace deleted while no watch covered it is seen.
        """
        served = self.driver.served(Side.UPSTREAM)
        info = None if served is None else served.by_gvr(NAMESPACE_GVR)
        if info is None:
            return
        scope = routing.upstream_namespace_scope(
            self.hooks.ctx.selection,
            info,
            itertools.chain(self._copied_namespaces(), (also,) if also else ()),
            max_namespaced_watches=self.max_namespaced_watches,
        )
        with self._namespace_watch_lock:
            if scope == self.upstream_namespace_scope:
                return
            old = self.upstream_namespaces
            self.upstream_namespaces = None  # not lent to the watch replacing it
            informer = None
            if scope is None or scope:
                informer = self.driver.open_source(
                    Side.UPSTREAM, info, "", tuple(sorted(scope or ()))
                )
                informer.add_handler(
                    handlers.on_upstream_namespace(
                        self.driver.queues[DIRECTION_QUEUES[Direction.DOWN]]
                    )
                )
            self.upstream_namespaces = informer
            self.upstream_namespace_scope = scope
            self._reopen_namespace_source()
            if informer is not None:
                informer.start()
        log.info(
            "upstream Namespaces watched: %s",
            "all" if scope is None else ", ".join(sorted(scope)) or "none",
        )
        if old is not None:
            old.stop(timeout=2.0)
        with self.targets_lock:
            copies = self.targets.get((Direction.DOWN, NAMESPACE_GVR))
        if copies is not None:
            copies.resync()

    def _copied_namespaces(self) -> Iterator[str]:
        """The upstream Namespaces whose copies this syncer owns downstream (their locators;
        read only when the scope asks, not under a wildcard)."""
        with self.targets_lock:
            copies = self.targets.get((Direction.DOWN, NAMESPACE_GVR))
        if copies is None:
            return
        for key in list(copies.store):
            copy = copies.store.get(key)
            source = None if copy is None else ownership.source_of(copy)
            if source is not None and source[:2] == ("", NAMESPACE_GVR.resource):
                yield source[3]

    def _reopen_namespace_source(self) -> None:
        """A Namespace source borrows the upstream Namespace watch (live): after that watch
        was replaced, borrow the new one (one assignment, as ``reconcile_sources`` does)."""
        flow = self.flows[Direction.DOWN]
        current = flow.sources.get(NAMESPACE_GVR)
        if current is None or current.informer is None:
            return
        fresh = attrs.evolve(current, informer=None)
        fresh.informer = self._start_source(Direction.DOWN, fresh)
        flow.sources[NAMESPACE_GVR] = fresh
        current.informer.stop(timeout=2.0)

    def upstream_namespace_exists(self, name: str) -> bool | None:
        """Whether upstream has namespace ``name``; ``None`` when that cannot be known (not
        served, not recorded). A Namespace no watch covers yet gets one; until a watch's first
        list is in, the reconcile asking is retried."""
        if not self.driver.collection_known(Side.UPSTREAM, NAMESPACE_GVR):
            return None
        scope = self.upstream_namespace_scope
        if scope is not None and name not in scope:
            self.scope_upstream_namespace_watch(also=name)
        with self._namespace_watch_lock:
            informer, scope = self.upstream_namespaces, self.upstream_namespace_scope
        if informer is None or (scope is not None and name not in scope):
            return None
        if not informer.has_synced():
            raise errors.RetryableError(
                f"upstream Namespace {name} not known yet", delay=WAIT_FOR_CACHE_SECONDS
            )
        return informer.store.get(ObjectKey(NAMESPACE_GVR, "", name)) is not None

    # -- owned copies (TargetResolver) -------------------------------------------------------

    def target_info(self, direction: Direction, api_version: str, kind: str) -> ResourceInfo | None:
        served = self.driver.served(direction.target)
        if served is None:
            return None
        group, _, version = api_version.rpartition("/")
        found = served.find_kind(group, kind, version) or served.find_kind(group, kind)
        if found is None:
            self.apis.copy_waits(direction.target, api_version, kind)
            scope = self.driver.discovery_scope()
            if scope is not None and group not in scope:
                # A transform put the copy in a group discovery does not cover yet: cover it
                # (the flow asks for rediscovery and retries the key).
                self.demanded_groups.add(group)
        return found

    def target_info_by_gvr(
        self, direction: Direction, gvr: GroupVersionResource
    ) -> ResourceInfo | None:
        served = self.driver.served(direction.target)
        return None if served is None else served.by_gvr(gvr)

    def target_informer(self, direction: Direction, info: ResourceInfo) -> EventSource:
        # Asked on every reconcile: an informer once started is found without the lock (one
        # dict read is atomic); only starting one takes it.
        informer = self.targets.get((direction, info.gvr))
        if informer is not None:
            return informer
        with self.targets_lock:
            informer = self.targets.get((direction, info.gvr))
            if informer is None:
                informer = self._start_target(direction, info)
                self.targets[(direction, info.gvr)] = informer
            return informer

    def _start_target(self, direction: Direction, info: ResourceInfo) -> EventSource:
        informer = self.driver.open_source(direction.target, info, self.owner_selector, ())
        informer.add_handler(
            handlers.on_owned_copy(
                direction,
                info,
                flow=self.flows[direction],
                queue=self.driver.queues[DIRECTION_QUEUES[direction]],
                status_queue=self.driver.queues["status"],
                pacer=self.status_pacer,
                status_return=self.settings.status_return,
                on_namespaced_delete=self._namespace_may_be_empty,
            )
        )
        informer.start()
        return informer

    def _namespace_may_be_empty(self) -> None:
        self.collect_namespaces = True

    def followed(self, direction: Direction) -> set[str]:
        """The group/resources whose owned copies ``direction`` watches."""
        with self.targets_lock:
            return {gvr.group_resource for (d, gvr) in self.targets if d is direction}

    def targets_of(self, direction: Direction) -> list[EventSource]:
        """``direction``'s owned-copy informers, in resource order."""
        with self.targets_lock:
            found = [(gvr, i) for (d, gvr), i in self.targets.items() if d is direction]
        return [informer for _, informer in sorted(found, key=lambda pair: pair[0])]

    def owned_count(self) -> int:
        with self.targets_lock:
            return sum(len(i.store) for i in self.targets.values())

    def served_changed(self, appeared: Mapping[Side, Iterable[ResourceInfo]]) -> None:
        """What a side serves changed: kinds copies waited for are served now, and a resource
        that ``appeared`` (a CRD, an APIService back) may hold copies of ours from before."""

        def served(side: Side, group: str, version: str, kind: str) -> bool:
            view = self.driver.served(side)
            return view is not None and view.find_kind(group, kind, version) is not None

        self.apis.forget_served(served)
        if self.janitor.done:
            self.janitor.look(appeared)

    # -- what the drivers report -------------------------------------------------------------

    def informers(self) -> list[EventSource]:
        """Every informer of the pipeline: sources, owned copies, upstream namespaces."""
        found = [
            state.informer
            for flow in self.flows.values()
            for state in list(flow.sources.values())
            if state.informer is not None
        ]
        with self.targets_lock:
            found.extend(self.targets.values())
        if self.upstream_namespaces is not None:
            found.append(self.upstream_namespaces)
        return found

    def kind_of(self, key: ObjectKey) -> str:
        for flow in self.flows.values():
            state = flow.sources.get(key.gvr)
            if state is not None:
                return state.info.kind
        return ""


class DrivesPipeline:
    """A driver's view of its pipeline's parts, under the names the drivers always had."""

    pipeline: Pipeline

    @property
    def hooks(self) -> manager.Hooks:
        return self.pipeline.hooks

    @property
    def guard(self) -> DeletionGuard:
        return self.pipeline.guard

    @property
    def flows(self) -> dict[Direction, Flow]:
        return self.pipeline.flows

    @property
    def status_return(self) -> StatusReturn:
        return self.pipeline.status_return

    @property
    def status_pacer(self) -> StatusPacer:
        return self.pipeline.status_pacer

    @property
    def namespace_mapper(self) -> Any:
        return self.pipeline.namespace_mapper
