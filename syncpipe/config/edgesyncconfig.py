"""Parse the legacy EdgeSyncConfig objects (``edge.kubestellar.io/v2alpha1``) into frozen values.

EdgeSyncConfig predates SyncerConfig and is still what ``syncer-gen`` creates (with an empty
spec), so syncpipe reads it too. Its entries name a **kind**, not a resource, with a name and
namespace that may each be ``"*"``; they are resolved against discovery (``ResourceInfo.kind``)
by the selection. Differences from the original that a config author can notice:

* ``kind`` and ``name`` are required in every entry (an entry without them never worked);
* ``namespace`` is ``""`` for cluster-scoped kinds and must be set (a namespace or ``"*"``)
  for namespaced ones; a mismatch is reported by ``Selection.downsync_scope_problems`` and
  the entry selects nothing, where the original sent requests that failed;
* ``version`` may be omitted: the server's preferred version is used, as in the original.

``conversions`` (denaturing/renaturing) are parsed and kept as data; nothing applies them yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs

from syncpipe.config import configapi, names
from syncpipe.config.reader import ROOT, Reader, child

GROUP, VERSION, API_VERSION = configapi.GROUP, configapi.VERSION, configapi.API_VERSION
KIND = "EdgeSyncConfig"

_SPEC_FIELDS = ("downSyncedResources", "upSyncedResources", "conversions")
_ENTRY_FIELDS = ("kind", "group", "version", "name", "namespace")


def _entries_tuple(values: Iterable[EdgeSyncResource]) -> tuple[EdgeSyncResource, ...]:
    return tuple(values)


def _conversions_tuple(values: Iterable[Conversion]) -> tuple[Conversion, ...]:
    return tuple(values)


def _version_or_empty_problem(value: str) -> str | None:
    return None if value == "" else names.version_problem(value)


def _namespace_or_empty_problem(value: str) -> str | None:
    return None if value == "" else names.namespace_problem(value)


@attrs.frozen(kw_only=True)
class EdgeSyncResource:
    """Objects of one kind: a name (or ``"*"``) in a namespace (``""``, a name or ``"*"``)."""

    kind: str
    name: str
    group: str = ""
    version: str = ""  # "" = the server's preferred version
    namespace: str = ""  # "" = cluster-scoped

    def to_dict(self) -> dict[str, Any]:
        entry = {"kind": self.kind, "group": self.group, "version": self.version}
        entry.update(name=self.name, namespace=self.namespace)
        return {key: value for key, value in entry.items() if value}


@attrs.frozen
class Conversion:
    """A renaming rule between the upstream (denatured) and downstream (live) form of objects."""

    upstream: EdgeSyncResource
    downstream: EdgeSyncResource


@attrs.frozen(kw_only=True)
class EdgeSyncConfig:
    """What one EdgeSyncConfig asks the syncer to downsync and upsync, by kind and name."""

    kind: ClassVar[str] = KIND

    name: str
    down_synced: tuple[EdgeSyncResource, ...] = attrs.field(default=(), converter=_entries_tuple)
    up_synced: tuple[EdgeSyncResource, ...] = attrs.field(default=(), converter=_entries_tuple)
    conversions: tuple[Conversion, ...] = attrs.field(default=(), converter=_conversions_tuple)

    @property
    def ref(self) -> str:
        """``EdgeSyncConfig/<name>``: how selections and messages name this config."""
        return f"{KIND}/{self.name}"

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, source: str = "") -> EdgeSyncConfig:
        """Parse an EdgeSyncConfig object; raise ``ConfigError`` listing every problem."""
        return parse_edge_sync_config(doc, source=source)

    def to_dict(self) -> dict[str, Any]:
        """The object as the API server stores it (empty lists omitted)."""
        spec: dict[str, Any] = {}
        if self.down_synced:
            spec["downSyncedResources"] = [e.to_dict() for e in self.down_synced]
        if self.up_synced:
            spec["upSyncedResources"] = [e.to_dict() for e in self.up_synced]
        if self.conversions:
            spec["conversions"] = [
                {"upstream": c.upstream.to_dict(), "downstream": c.downstream.to_dict()}
                for c in self.conversions
            ]
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": self.name},
            "spec": spec,
        }


def parse_edge_sync_config(doc: Mapping[str, Any], *, source: str = "") -> EdgeSyncConfig:
    """Parse an EdgeSyncConfig object; raise ``ConfigError`` listing every problem."""
    reader = Reader()
    name = reader.object_header(doc, kind=KIND, api_version=API_VERSION)
    spec = reader.spec(doc, fields=_SPEC_FIELDS)
    spec_path = child(ROOT, "spec")
    config = EdgeSyncConfig(
        name=name or "",
        down_synced=_entries(reader, spec, "downSyncedResources", spec_path),
        up_synced=_entries(reader, spec, "upSyncedResources", spec_path),
        conversions=_conversions(reader, spec, spec_path),
    )
    reader.raise_if_any(source=source or (f"{KIND}/{name}" if name else KIND))
    return config


def _entry(reader: Reader, value: object, path: str) -> EdgeSyncResource | None:
    entry = reader.mapping(value, path, fields=_ENTRY_FIELDS, required=("kind", "name"))
    if entry is None:
        return None
    kind = reader.string(entry, "kind", path, check=names.kind_problem)
    name = reader.string(entry, "name", path, check=names.object_name_problem)
    group = reader.string(entry, "group", path, check=names.group_problem)
    version = reader.string(entry, "version", path, check=_version_or_empty_problem)
    namespace = reader.string(entry, "namespace", path, check=_namespace_or_empty_problem)
    if kind is None or name is None:
        return None
    return EdgeSyncResource(
        kind=kind,
        name=name,
        group=group or "",
        version=version or "",
        namespace=namespace or "",
    )


def _entries(
    reader: Reader, spec: Mapping[str, Any], key: str, path: str
) -> tuple[EdgeSyncResource, ...]:
    result = []
    for item_path, value in reader.array(spec, key, path):
        entry = _entry(reader, value, item_path)
        if entry is not None:
            result.append(entry)
    return tuple(result)


def _conversions(reader: Reader, spec: Mapping[str, Any], path: str) -> tuple[Conversion, ...]:
    result = []
    for item_path, value in reader.array(spec, "conversions", path):
        rule = reader.mapping(
            value, item_path, fields=("upstream", "downstream"), required=("upstream", "downstream")
        )
        if rule is None:
            continue
        upstream = downstream = None
        if rule.get("upstream") is not None:
            upstream = _entry(reader, rule["upstream"], child(item_path, "upstream"))
        if rule.get("downstream") is not None:
            downstream = _entry(reader, rule["downstream"], child(item_path, "downstream"))
        if upstream is not None and downstream is not None:
            result.append(Conversion(upstream, downstream))
    return tuple(result)
