"""Test a plugin without clusters: the real pipeline over manifests, and the writes it plans.

In the spirit of pytest's ``pytester`` and Datasette's test client, a test states both sides
as plain manifests, the SyncerConfigs and the plugins under test, and asserts on what the
syncer would write::

    harness = PipelineHarness(plugins=[my_plugin], plugin_options={"team-label": {"team": "a"}})
    harness.upstream.apply(DEPLOYMENT_YAML)
    result = harness.sync()
    assert result.created("apps/v1", "Deployment", "shop/web")["metadata"]["labels"] == ...
    harness.assert_at_rest()

**What runs is the real pipeline**: ``sync()`` turns the stated objects into a snapshot (a
header with the discovery of a real kube-apiserver 1.20.2, the objects as initial lists) and
feeds it to ``syncpipe.replay.engine.ReplayEngine`` — the driver of ``syncpipe replay`` —
with the built-in plugins and the given ones: the same hooks, transforms, three-way diff,
planner, ownership rules and status return as ``syncpipe run``. Writes go to the replay's
in-memory API servers, so the next pass sees them.

**Configs**: given to the harness (fixed), or stated upstream as objects like any other
(followed as they change: a config change that de-selects an object deletes its copy), or
by default one selecting exactly the objects stated upstream at the first pass.

**Passes**: the first ``sync()`` is a syncer starting on the stated state. Changes stated
afterwards (``apply``, ``delete``, ``set_status`` on either side) reach the same syncer as
watch events an hour of virtual time later (longer than every window the syncer keeps:
status settling, the deletion breaker's window), and the next ``sync()`` returns only the
writes they caused. Each pass runs everything due, retries included, before returning.

**At rest**: ``at_rest()`` starts a second, fresh syncer on the converged state of both sides
(every object reconciled again, as after a restart); ``assert_at_rest()`` fails, listing
them, if it plans any write. A pipeline that is not idempotent fights itself in production.

**Not emulated** (the in-memory API server's limits, see ``syncpipe.replay.memstore``):
server-side defaulting and validation (a Deployment keeps exactly the fields you wrote),
admission webhooks, finalizers and graceful deletion (deletes are immediate), garbage
collection of dependents, controllers (nothing sets a status unless you ``set_status``) and
the syncer's own bookkeeping writes (heartbeat, conditions, Events).
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
import pluggy

from syncpipe import builtin
from syncpipe.config import crds
from syncpipe.config.settings import Settings
from syncpipe.hooks import manager
from syncpipe.model.events import Direction, Side
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import GroupVersionResource, ResourceInfo
from syncpipe.replay import explain as explaining
from syncpipe.replay.capture import CONFIG_RESOURCES
from syncpipe.replay.engine import ReplayEngine
from syncpipe.replay.explain import Explanation
from syncpipe.replay.served import ServedResources, infos_of_crd
from syncpipe.replay.snapshot import (
    Header,
    Record,
    RecordedResource,
    RecordType,
    SideInfo,
    resource_from_json,
)
from syncpipe.testing.clusterstate import STARTED_AT, ClusterState
from syncpipe.testing.manifests import Manifest, manifests_of, select_everything
from syncpipe.testing.planned import PassResult, Write

__all__ = ["ClusterState", "PipelineHarness", "manifests_of", "select_everything"]
# ``ClusterState``, ``manifests_of`` and ``select_everything`` live in ``clusterstate`` and
# ``manifests``; they are part of the harness's API and re-exported here.

DISCOVERY_FILE = "discovery-kube-apiserver-v1.20.2.json"
"""What a real kube-apiserver 1.20.2 serves (the test control planes' version), captured from
one with ``syncpipe.replay.capture.describe_side``; both harness sides serve it, plus the
resources of the CustomResourceDefinitions stated on them."""

PASS_INTERVAL = 3600.0
"""Virtual seconds between passes: longer than every window the syncer keeps, so each pass
starts quiet (a status change is a quiet object's change, written at once)."""


@functools.cache
def kube_apiserver_discovery() -> SideInfo:
    """The packaged discovery of kube-apiserver 1.20.2 (see ``DISCOVERY_FILE``)."""
    data = orjson.loads(
        importlib.resources.files("syncpipe.testing").joinpath(DISCOVERY_FILE).read_bytes()
    )
    return SideInfo(
        server_version=data["server_version"],
        discovery=[resource_from_json(r) for r in data["discovery"]],
        preferred_versions=data["preferred_versions"],
    )


@functools.cache
def side_discovery(side: Side) -> SideInfo:
    """What each harness side serves: kube-apiserver 1.20.2's discovery, and upstream also the
    SyncerConfig and EdgeSyncConfig APIs (their CRDs installed, as ``syncpipe crds`` does), so
    configs can be stated there."""
    base = kube_apiserver_discovery()
    if side is Side.DOWNSTREAM:
        return base
    config_apis = [info for crd in crds.all_crd_manifests() for info in infos_of_crd(crd)]
    preferred = dict(base.preferred_versions)
    for info in config_apis:
        preferred.setdefault(info.gvr.group, info.gvr.version)
    return SideInfo(
        server_version=base.server_version,
        discovery=(*base.discovery, *config_apis),
        preferred_versions=preferred,
    )


def _is_config(record: Record) -> bool:
    return (record.gvr.group, record.gvr.resource) in CONFIG_RESOURCES


def _named(plugins: Sequence[object] | Mapping[str, object]) -> dict[str, object]:
    """Each plugin under its name: as given, else its module's or its class's name."""
    if isinstance(plugins, Mapping):
        return dict(plugins)
    return {str(getattr(p, "__name__", None) or type(p).__name__): p for p in plugins}


def _listed_resources(served: ServedResources) -> list[ResourceInfo]:
    """One version (the preferred) of every resource that can be listed and watched."""
    found: dict[tuple[str, str], ResourceInfo] = {}
    for info in served.resources:
        group_resource = (info.gvr.group, info.gvr.resource)
        if "/" in info.gvr.resource or not (info.listable and info.watchable):
            continue
        preferred = served.by_group_resource(*group_resource)
        if preferred is not None:
            found[group_resource] = preferred
    return [found[k] for k in sorted(found)]


def _snapshot(
    per_side: Mapping[Side, tuple[ServedResources, Iterable[Record]]],
) -> tuple[Header, list[Record]]:
    """A snapshot at ``t = 0``: every listable resource recorded, these objects listed."""
    resources: list[RecordedResource] = []
    records: list[Record] = []
    for side, (served, listed) in per_side.items():
        records.extend(listed)
        for info in _listed_resources(served):
            resources.append(RecordedResource(side=side, info=info))
            records.append(Record(t=0.0, side=side, type=RecordType.SYNCED, gvr=info.gvr))
    header = Header(
        recorded_at=STARTED_AT,
        sides={side: side_discovery(side) for side in per_side},
        resources=resources,
    )
    return header, records


class PipelineHarness:
    """The syncer's pipeline over stated objects (see the module docstring).

    ``configs``: the SyncerConfig/EdgeSyncConfig objects (dicts or YAML), fixed. Default: the
    configs stated upstream (``harness.upstream.apply(config)``), followed as they change, as
    the syncer follows them; when none is stated at the first ``sync()``, one selecting exactly
    the objects stated upstream then (``select_everything``).
    ``plugins``: plugin objects or modules with ``@hookimpl`` functions, registered beside the
    built-in ones (and the installed ones too with ``installed_plugins=True``), by name: give
    ``{entry-point name: plugin}``, or a list to name each by its module (``__name__``) or
    class.
    ``plugin_options``: as ``--plugin-opt NAME.KEY=VALUE`` gives them, ``{NAME: {KEY: VALUE}}``.
    ``settings``: more ``syncpipe.config.settings.Settings`` fields (``namespace_mapping``,
    ``status_return``...), as the ``syncpipe run`` flags of the same names set them.
    """

    def __init__(
        self,
        *,
        configs: Sequence[Manifest] | None = None,
        plugins: Sequence[object] | Mapping[str, object] = (),
        plugin_options: Mapping[str, Mapping[str, Any]] | None = None,
        syncer_name: str = "edge1",
        installed_plugins: bool = False,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.configs = None if configs is None else manifests_of(*configs)
        self.plugins = _named(plugins)
        self.installed_plugins = installed_plugins
        self.settings = Settings(
            syncer_name=syncer_name,
            plugin_settings={k: dict(v) for k, v in (plugin_options or {}).items()},
            **(settings or {}),
        )
        self._served = {
            side: ServedResources(info.discovery, info.preferred_versions)
            for side, info in ((side, side_discovery(side)) for side in Side)
        }
        self.upstream = ClusterState(self, Side.UPSTREAM)
        self.downstream = ClusterState(self, Side.DOWNSTREAM)
        self._engine: ReplayEngine | None = None
        self._resource_versions = dict.fromkeys(Side, 100)
        self._seen: tuple[int, int, int, frozenset[str]] = (0, 0, 0, frozenset())

    @property
    def started(self) -> bool:
        """Whether the first pass ran (stated changes are events from then on)."""
        return self._engine is not None

    @property
    def engine(self) -> ReplayEngine:
        """The replay engine of the passes (its ``apis`` are the two sides' memory stores)."""
        if self._engine is None:
            raise RuntimeError("no pass has run yet: call sync() first")
        return self._engine

    def served(self, side: Side) -> ServedResources:
        """What ``side`` serves now (discovery plus its CRDs)."""
        return self._engine.apis[side].served if self._engine is not None else self._served[side]

    def next_resource_version(self, side: Side) -> str:
        """A resourceVersion above every one ``side`` has handed out."""
        current = self._resource_versions[side]
        if self._engine is not None:
            current = max(current, int(self._engine.apis[side].resource_version or 0))
        self._resource_versions[side] = current + 1
        return str(current + 1)

    def plugin_manager(self) -> pluggy.PluginManager:
        """A fresh plugin manager: built-ins, the given plugins (and installed ones if asked)."""
        pm = manager.build(
            builtins=builtin.MODULES,
            load_entry_points=self.installed_plugins,
            disabled=self.settings.disabled_plugins,
        )
        for name, plugin in self.plugins.items():
            # Given and also installed (installed_plugins=True): the one registered is enough.
            if not pm.is_blocked(name) and not pm.is_registered(plugin) and not pm.has_plugin(name):
                pm.register(plugin, name=name)
        pm.check_pending()
        return pm

    def _new_engine(self, header: Header, configs: Sequence[RawObject] | None) -> ReplayEngine:
        return ReplayEngine(
            header=header, settings=self.settings, configs=configs, pm=self.plugin_manager()
        )

    def sync(self) -> PassResult:
        """Run one pass: the stated state (first pass) or the changes stated since the last
        pass, and everything they cause; return the writes of this pass."""
        if self._engine is None:
            initial = self.upstream.initial_records()
            if self.configs is None and not any(_is_config(r) for r in initial):
                self.configs = [select_everything(*(r.object for r in initial if r.object))]
            header, records = _snapshot(
                {
                    side: (self._served[side], state.initial_records())
                    for side, state in (
                        (Side.UPSTREAM, self.upstream),
                        (Side.DOWNSTREAM, self.downstream),
                    )
                }
            )
            self._engine = self._new_engine(header, self.configs)
        else:
            t = self._engine.now + PASS_INTERVAL
            records = [*self.upstream.take_changes(t), *self.downstream.take_changes(t)]
        engine = self._engine
        if records:
            engine.step(records)
        engine.finish()
        return self._new_since_last(engine)

    def _new_since_last(self, engine: ReplayEngine) -> PassResult:
        total = engine.result()
        writes, rejected, pending, warned = self._seen
        self._seen = (
            len(total.writes),
            len(total.rejected),
            len(total.pending),
            frozenset(total.warnings),
        )
        return _pass_result(
            engine,
            writes=total.writes[writes:],
            rejected=total.rejected[rejected:],
            pending=total.pending[pending:],
            warnings=tuple(w for w in total.warnings if w not in warned),
        )

    def at_rest(self) -> PassResult:
        """What a fresh syncer started on both sides' current state would write (nothing,
        if the pipeline converged): the same configs, plugins and settings."""
        engine = self.engine
        per_side = {}
        for side in Side:
            api = engine.apis[side]
            listed: list[Record] = []
            for group, resource in api.stored_resources():
                info = api.served.by_group_resource(group, resource)
                if info is None:
                    continue
                listed.extend(
                    Record(t=0.0, side=side, type=RecordType.LIST, gvr=info.gvr, object=obj)
                    for obj in api.objects(info.gvr)
                )
            per_side[side] = (api.served, listed)
        header, records = _snapshot(per_side)
        fresh = self._new_engine(header, self.configs)
        result = fresh.run(records)
        return _pass_result(
            fresh,
            writes=result.writes,
            rejected=result.rejected,
            pending=result.pending,
            warnings=result.warnings,
        )

    def explain(
        self, api_version: str, kind: str, name: str, *, direction: Direction = Direction.DOWN
    ) -> Explanation:
        """What ``syncpipe explain`` says about object ``name`` of the source side after the
        passes so far: the configs selecting it (or the closest entries), vetoes, each
        transform's effect, the writes about it. ``str()`` of the result is not its text:
        ``syncpipe.replay.explain_render.render_text`` is."""
        engine = self.engine
        served = engine.apis[direction.source].served
        group = api_version.rpartition("/")[0]
        info = served.find_kind(group, kind)
        if info is None:
            raise KeyError(f"{kind} of {api_version} is not served {direction.source.value}")
        key = explaining.object_key(info, name)
        return explaining.explain(engine, engine.result(), direction=direction, key=key)

    def assert_at_rest(self) -> None:
        """Fail, listing them, if a fresh syncer on the converged state would write."""
        again = self.at_rest()
        if again.writes or again.rejected or again.pending:
            raise AssertionError(
                f"not at rest: a syncer restarted on the converged state plans\n{again.listing()}"
            )


def _pass_result(engine: ReplayEngine, **parts: Any) -> PassResult:
    def kind_of(side: Side, gvr: GroupVersionResource, body: RawObject | None) -> str:
        info = engine.apis[side].served.by_gvr(gvr)
        return info.kind if info is not None else str((body or {}).get("kind", ""))

    writes = tuple(
        Write.of(w, kind_of(w.action.side, w.action.key.gvr, getattr(w.action, "body", None)))
        for w in parts.pop("writes")
    )
    return PassResult(writes=writes, **parts)
