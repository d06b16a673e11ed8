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
the syncer's own bookkeeping writes (heartbeat, conditions, Events). The SyncerConfigs are
fixed for the harness's life.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
import pluggy
import yaml

from syncpipe import builtin
from syncpipe.config import manifests
from syncpipe.config.documents import located_objects, objects_of
from syncpipe.config.settings import Settings
from syncpipe.hooks import manager
from syncpipe.model.events import Side
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import CRD_GVR, NAMESPACE_GVR, GroupVersionResource, ResourceInfo
from syncpipe.replay.engine import ReplayEngine
from syncpipe.replay.served import ServedResources
from syncpipe.replay.snapshot import (
    Header,
    Record,
    RecordedResource,
    RecordType,
    SideInfo,
    resource_from_json,
)
from syncpipe.testing.planned import PassResult, Write

__all__ = ["ClusterState", "PipelineHarness", "manifests_of", "select_everything"]

DISCOVERY_FILE = "discovery-kube-apiserver-v1.20.2.json"
"""What a real kube-apiserver 1.20.2 serves (the test control planes' version), captured from
one with ``syncpipe.replay.capture.describe_side``; both harness sides serve it, plus the
resources of the CustomResourceDefinitions stated on them."""

STARTED_AT = "2026-01-01T00:00:00Z"
"""The virtual start of every harness run: creation timestamps derive from it."""

PASS_INTERVAL = 3600.0
"""Virtual seconds between passes: longer than every window the syncer keeps, so each pass
starts quiet (a status change is a quiet object's change, written at once)."""

Manifest = RawObject | str


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


def manifests_of(*items: Manifest) -> list[RawObject]:
    """Objects from dicts and YAML strings (multi-document; ``kind: List`` unpacked)."""
    found: list[RawObject] = []
    for item in items:
        if isinstance(item, str):
            found.extend(dict(obj) for _, obj in located_objects(item, file="<manifest>"))
        else:
            found.extend(dict(obj) for _, obj in objects_of(item))
    return found


def select_everything(*items: Manifest, name: str = "everything") -> RawObject:
    """A SyncerConfig selecting exactly these objects and their namespaces, by name (what
    ``syncpipe config from-manifests`` writes)."""
    text = yaml.safe_dump_all(manifests_of(*items))
    objects = manifests.read_manifest_objects(text, file="<manifests>")
    config = manifests.syncer_config_selecting(manifests.resolve(objects), name=name)
    return config.to_dict()


def _group_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _split_name(name: str) -> tuple[str, str]:
    namespace, _, short = name.rpartition("/")
    return namespace, short


class ClusterState:
    """One side of the harness: the objects stated on it, and its changes between passes.

    Before the first ``sync()`` the stated objects are the side's initial state; afterwards
    each call is a change the next pass delivers as a watch event. Objects are given as a
    client sends them: the harness adds what a server would (uid, resourceVersion,
    creationTimestamp, generation) and the Namespace of a namespaced object if none was
    stated (as if it had been created first).
    """

    def __init__(self, harness: PipelineHarness, side: Side) -> None:
        self._harness = harness
        self.side = side
        self._initial: dict[tuple[GroupVersionResource, str, str], RawObject] = {}
        self._changes: list[tuple[RecordType, RawObject]] = []
        self._uids = 0

    # -- stating changes ---------------------------------------------------------------------

    def apply(self, *items: Manifest) -> None:
        """Create these objects, or replace them (a stored ``.status`` is kept unless given)."""
        for obj in manifests_of(*items):
            namespace = str((obj.get("metadata") or {}).get("namespace") or "")
            if namespace and self._resource_of(obj).namespaced:
                self._ensure_namespace(namespace)
            self._put(obj)

    def delete(self, api_version: str, kind: str, name: str) -> None:
        """Delete ``name`` (``namespace/name``, or ``name`` when cluster-scoped)."""
        current = self.get(api_version, kind, name)
        if current is None:
            raise KeyError(f"no {kind} {name} {self.side.value} to delete")
        if self._harness.started:
            self._changes.append((RecordType.DELETED, current))
        else:
            del self._initial[self._key(current)]

    def set_status(self, api_version: str, kind: str, name: str, status: Mapping[str, Any]) -> None:
        """Set ``name``'s ``.status``, as its controller would (e.g. the edge's for a copy)."""
        current = self.get(api_version, kind, name)
        if current is None:
            raise KeyError(f"no {kind} {name} {self.side.value} to set the status of")
        self._put({**current, "status": dict(status)}, keep_status=False)

    def get(self, api_version: str, kind: str, name: str) -> RawObject | None:
        """The object ``name`` on this side now (changes stated since the last pass
        included), or ``None``."""
        group, version = _group_version(api_version)
        info = self.served.find_kind(group, kind, version) or self.served.find_kind(group, kind)
        if info is None:
            raise KeyError(f"{kind} of {api_version} is not served {self.side.value}")
        namespace, short = _split_name(name)
        return self._current((info.gvr, namespace if info.namespaced else "", short))

    def _current(self, key: tuple[GroupVersionResource, str, str]) -> RawObject | None:
        for record_type, obj in reversed(self._changes):
            if self._key(obj) == key:
                return None if record_type is RecordType.DELETED else obj
        if self._harness.started:
            return self._harness.engine.apis[self.side].get_or_none(*key)
        return self._initial.get(key)

    # -- internals ---------------------------------------------------------------------------

    @property
    def served(self) -> ServedResources:
        return self._harness.served(self.side)

    def _resource_of(self, obj: RawObject) -> ResourceInfo:
        group, version = _group_version(str(obj.get("apiVersion", "")))
        kind = str(obj.get("kind", ""))
        info = self.served.find_kind(group, kind, version)
        if info is None:
            raise KeyError(
                f"{kind} of {obj.get('apiVersion')!r} is not served {self.side.value}: "
                "state its CustomResourceDefinition first"
            )
        return info

    def _key(self, obj: RawObject) -> tuple[GroupVersionResource, str, str]:
        info = self._resource_of(obj)
        meta = obj.get("metadata") or {}
        return info.gvr, str(meta.get("namespace") or "") if info.namespaced else "", meta["name"]

    def _ensure_namespace(self, name: str) -> None:
        if self.get(NAMESPACE_GVR.api_version, "Namespace", name) is None:
            self._put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def _put(self, obj: RawObject, *, keep_status: bool = True) -> None:
        info = self._resource_of(obj)
        key = self._key(obj)
        current = self._current(key)
        served = self._as_served(obj, current, info, keep_status=keep_status)
        is_crd = (info.gvr.group, info.gvr.resource) == (CRD_GVR.group, CRD_GVR.resource)
        if is_crd and not self._harness.started:
            self.served.crd_changed(served, deleted=False)
        if self._harness.started:
            event = RecordType.MODIFIED if current is not None else RecordType.ADDED
            self._changes.append((event, served))
        else:
            self._initial[key] = served

    def _as_served(
        self,
        obj: RawObject,
        current: RawObject | None,
        info: ResourceInfo,
        *,
        keep_status: bool,
    ) -> RawObject:
        """``obj`` with the metadata a server assigns; an update keeps uid and creation
        time and bumps ``generation`` when the spec changed."""
        meta = dict(obj.get("metadata") or {})
        if info.namespaced and not meta.get("namespace"):
            meta["namespace"] = "default"
        served = {**obj, "metadata": meta}
        if current is None:
            self._uids += 1
            meta["uid"] = f"{self.side.value}-{self._uids:04d}"
            meta["creationTimestamp"] = STARTED_AT
            if "spec" in obj or self.served.is_custom(info.gvr):
                meta["generation"] = 1
        else:
            old = current.get("metadata") or {}
            for field in ("uid", "creationTimestamp"):
                meta[field] = old[field]
            if "generation" in old:
                changed = _spec_of(current) != _spec_of(served)
                meta["generation"] = int(old["generation"]) + (1 if changed else 0)
            if keep_status and "status" not in obj and "status" in current:
                served["status"] = current["status"]
        meta["resourceVersion"] = self._harness.next_resource_version(self.side)
        return served

    def initial_records(self) -> list[Record]:
        """The initial lists: every stated object (Namespaces and CRDs first)."""
        order = {NAMESPACE_GVR.resource: 0, CRD_GVR.resource: 1}
        keys = sorted(self._initial, key=lambda k: (order.get(k[0].resource, 2), k))
        return [
            Record(t=0.0, side=self.side, type=RecordType.LIST, gvr=k[0], object=self._initial[k])
            for k in keys
        ]

    def take_changes(self, t: float) -> list[Record]:
        """The changes stated since the last pass, as watch events at ``t``."""
        records = [
            Record(t=t, side=self.side, type=record_type, gvr=self._key(obj)[0], object=obj)
            for record_type, obj in self._changes
        ]
        self._changes = []
        return records


def _named(plugins: Sequence[object] | Mapping[str, object]) -> dict[str, object]:
    """Each plugin under its name: as given, else its module's or its class's name."""
    if isinstance(plugins, Mapping):
        return dict(plugins)
    return {str(getattr(p, "__name__", None) or type(p).__name__): p for p in plugins}


def _spec_of(obj: RawObject) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}


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
    base = kube_apiserver_discovery()
    resources: list[RecordedResource] = []
    records: list[Record] = []
    for side, (served, listed) in per_side.items():
        records.extend(listed)
        for info in _listed_resources(served):
            resources.append(RecordedResource(side=side, info=info))
            records.append(Record(t=0.0, side=side, type=RecordType.SYNCED, gvr=info.gvr))
    header = Header(
        recorded_at=STARTED_AT,
        sides=dict.fromkeys(per_side, base),
        resources=resources,
    )
    return header, records


class PipelineHarness:
    """The syncer's pipeline over stated objects (see the module docstring).

    ``configs``: the SyncerConfig/EdgeSyncConfig objects (dicts or YAML); default: at the
    first ``sync()``, one selecting exactly the objects stated upstream (``select_everything``).
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
        base = kube_apiserver_discovery()
        self._served = {
            side: ServedResources(base.discovery, base.preferred_versions) for side in Side
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
            if not pm.is_blocked(name):
                pm.register(plugin, name=name)
        pm.check_pending()
        return pm

    def _new_engine(self, header: Header, configs: Sequence[RawObject]) -> ReplayEngine:
        return ReplayEngine(
            header=header, settings=self.settings, configs=configs, pm=self.plugin_manager()
        )

    def sync(self) -> PassResult:
        """Run one pass: the stated state (first pass) or the changes stated since the last
        pass, and everything they cause; return the writes of this pass."""
        if self._engine is None:
            if self.configs is None:
                upstream = [r.object for r in self.upstream.initial_records() if r.object]
                self.configs = [select_everything(*upstream)]
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
        fresh = self._new_engine(header, self.configs or ())
        result = fresh.run(records)
        return _pass_result(
            fresh,
            writes=result.writes,
            rejected=result.rejected,
            pending=result.pending,
            warnings=result.warnings,
        )

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
