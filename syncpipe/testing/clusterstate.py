"""One side of the offline harness: the objects stated on it, as a server would hold them.

Before the harness's first pass the stated objects are the side's initial state; afterwards
each statement is a change the next pass delivers as a watch event. The server's part is
emulated here, no more: uid, resourceVersion, creationTimestamp and generation are assigned,
a replacement keeps the stored status, a namespaced object's Namespace is created with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from syncpipe.config.manifests import DEFAULT_NAMESPACE
from syncpipe.model.events import Side
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import CRD_GVR, NAMESPACE_GVR, GroupVersionResource, ResourceInfo
from syncpipe.replay.served import ServedResources
from syncpipe.replay.snapshot import Record, RecordType
from syncpipe.testing.manifests import Manifest, manifests_of

if TYPE_CHECKING:
    from syncpipe.testing.harness import PipelineHarness

STARTED_AT = "2026-01-01T00:00:00Z"
"""The virtual start of every harness run: creation timestamps derive from it."""


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
        for given in manifests_of(*items):
            obj = given
            if self._resource_of(given).namespaced:
                meta = given.get("metadata") or {}
                # As kubectl apply without -n: the namespace is the context's, here "default".
                namespace = str(meta.get("namespace") or DEFAULT_NAMESPACE)
                obj = {**given, "metadata": {**meta, "namespace": namespace}}
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
        if (info.gvr.group, info.gvr.resource) == (CRD_GVR.group, CRD_GVR.resource):
            # Its objects can be stated right after it (the replay learns it again from the
            # CRD's own event, which changes nothing more).
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


def _spec_of(obj: RawObject) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}
