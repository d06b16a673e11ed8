"""Parse SyncerConfig objects (``edge.kubestellar.io/v2alpha1``) into frozen values.

The input format is the original KubeStellar-Syncer's, unchanged, so existing YAML keeps
working; the parser reports *every* problem with its JSON path in one ``ConfigError``.
What each part of the spec selects is decided in ``syncpipe.config.rules``; what the
parser keeps are the original's distinctions that carry meaning:

* ``clusterScope[].objects`` ABSENT means all objects of the resource, ``[]`` means none
  (the original's API comment said otherwise; its code, and this parser, do this). Because
  that difference is easy to miss, an explicit ``objects: null`` (what a bare ``objects:``
  line in YAML gives) is refused: write ``["*"]`` or ``[]`` to say which one you mean.
* ``namespacedObjects[].objectsByNamespace[].names: []`` selects nothing and does not make
  its namespace required downstream.
* ``upsync[]`` with an empty ``names`` (or, for namespaced resources, ``namespaces``) list
  selects nothing.
* ``"*"`` is accepted in every list of names, namespaces and resources. Unlike the
  original, ``namespaceScope.namespaces: ["*"]`` works: every namespace.
* ``apiVersion`` in a resource entry holds the version only (``v1``, not ``apps/v1``).
* API groups may not be ``"*"``, in ``group`` nor in ``upsync[].apiGroup``: the original
  never matched a group by wildcard, and "every group" would sweep up the whole cluster.
* ``upsync[].apiGroup`` may be omitted, meaning the core group (the original's zero value).
* ``objectSelector`` (syncpipe's addition; a ``metav1.LabelSelector``) on any entry narrows
  it to the objects whose labels match: an entry with names *and* a selector selects the
  named objects that match (an intersection). It sits on each resource of
  ``namespaceScope.resources``, on each ``namespacedObjects`` and ``clusterScope`` entry, and
  on each ``upsync`` set.

Whether a resource named in ``clusterScope`` really is cluster-scoped (and the reverse for
``namespaceScope``/``namespacedObjects``) is known only from discovery, so the parser accepts
either. Decision: such a misplaced entry selects **nothing** (the original listed a namespaced
resource across all namespaces and then failed to create its objects at the cluster-scoped
path, and listed a cluster-scoped one ignoring the namespace); it is not reinterpreted as
"these names in every namespace", which would silently widen what is synced.
``Selection.downsync_scope_problems`` reports each such entry, with its path, once
discovery is known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, TypeAlias

import attrs

from syncpipe import errors
from syncpipe.config import configapi, edgesyncconfig, names
from syncpipe.config.objectselector import LabelSelector, read_object_selector
from syncpipe.config.reader import ROOT, Reader, child, json_type

GROUP, VERSION, API_VERSION = configapi.GROUP, configapi.VERSION, configapi.API_VERSION
KIND = "SyncerConfig"

_SPEC_FIELDS = ("namespaceScope", "namespacedObjects", "clusterScope", "upsync")
_RESOURCE_FIELDS = ("group", "resource", "apiVersion", "objectSelector")
_RESOURCE_REQUIRED = ("group", "resource", "apiVersion")


# Converters to tuples, one per element type because mypy's attrs plugin cannot infer a
# generic converter's type: the values are frozen all the way down.
def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _optional_strings(values: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)


def _resources(values: Iterable[DownsyncResource]) -> tuple[DownsyncResource, ...]:
    return tuple(values)


def _by_namespace(values: Iterable[NamespaceAndNames]) -> tuple[NamespaceAndNames, ...]:
    return tuple(values)


def _namespaced(values: Iterable[NamespacedObjects]) -> tuple[NamespacedObjects, ...]:
    return tuple(values)


def _cluster(values: Iterable[ClusterScopeObjects]) -> tuple[ClusterScopeObjects, ...]:
    return tuple(values)


def _upsync_sets(values: Iterable[UpsyncSet]) -> tuple[UpsyncSet, ...]:
    return tuple(values)


def _selector_dict(selector: LabelSelector | None) -> dict[str, Any]:
    return {} if selector is None else {"objectSelector": selector.to_dict()}


@attrs.frozen(kw_only=True)
class DownsyncResource:
    """One resource to downsync: group, version (the config's ``apiVersion``) and resource."""

    group: str
    version: str
    resource: str  # lowercase plural, or "*": every resource of the group version
    # Only objects whose labels match (``None``: every object the entry names).
    object_selector: LabelSelector | None = None

    def to_dict(self) -> dict[str, Any]:
        entry = {"group": self.group, "resource": self.resource, "apiVersion": self.version}
        return {**entry, **_selector_dict(self.object_selector)}


@attrs.frozen(kw_only=True)
class NamespaceScope:
    """Every object of ``resources`` in each of ``namespaces`` (a cross product)."""

    namespaces: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    resources: tuple[DownsyncResource, ...] = attrs.field(default=(), converter=_resources)


@attrs.frozen
class NamespaceAndNames:
    """Named objects in one namespace; no names selects nothing."""

    namespace: str
    names: tuple[str, ...] = attrs.field(default=(), converter=_strings)


@attrs.frozen(kw_only=True)
class NamespacedObjects:
    """Named objects of one namespaced resource, grouped by namespace."""

    resource: DownsyncResource
    objects_by_namespace: tuple[NamespaceAndNames, ...] = attrs.field(
        default=(), converter=_by_namespace
    )


@attrs.frozen(kw_only=True)
class ClusterScopeObjects:
    """Objects of one cluster-scoped resource: ``objects=None`` selects all, ``()`` none."""

    resource: DownsyncResource
    objects: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_strings)


@attrs.frozen(kw_only=True)
class UpsyncSet:
    """Objects to upsync from one API group, in any version the edge cluster serves.

    Cluster-scoped resources ignore ``namespaces``; namespaced ones need a matching namespace.
    """

    api_group: str = ""
    resources: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    namespaces: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    names: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    object_selector: LabelSelector | None = None


@attrs.frozen(kw_only=True)
class SyncerConfig:
    """What one SyncerConfig asks the syncer to downsync and upsync."""

    kind: ClassVar[str] = KIND

    name: str
    namespace_scope: NamespaceScope = NamespaceScope()
    namespaced_objects: tuple[NamespacedObjects, ...] = attrs.field(
        default=(), converter=_namespaced
    )
    cluster_scope: tuple[ClusterScopeObjects, ...] = attrs.field(default=(), converter=_cluster)
    upsync: tuple[UpsyncSet, ...] = attrs.field(default=(), converter=_upsync_sets)

    @property
    def ref(self) -> str:
        """``SyncerConfig/<name>``: how selections and messages name this config."""
        return f"{KIND}/{self.name}"

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, source: str = "") -> SyncerConfig:
        """Parse a SyncerConfig object; raise ``ConfigError`` listing every problem."""
        return parse_syncer_config(doc, source=source)

    def to_dict(self) -> dict[str, Any]:
        """The object as the API server stores it (fields left at their defaults omitted)."""
        spec: dict[str, Any] = {}
        scope = self.namespace_scope
        if scope.namespaces or scope.resources:
            spec["namespaceScope"] = {
                "namespaces": list(scope.namespaces),
                "resources": [r.to_dict() for r in scope.resources],
            }
        if self.namespaced_objects:
            spec["namespacedObjects"] = [
                {
                    **entry.resource.to_dict(),
                    "objectsByNamespace": [
                        {"namespace": o.namespace, "names": list(o.names)}
                        for o in entry.objects_by_namespace
                    ],
                }
                for entry in self.namespaced_objects
            ]
        if self.cluster_scope:
            spec["clusterScope"] = [
                {
                    **entry.resource.to_dict(),
                    **({} if entry.objects is None else {"objects": list(entry.objects)}),
                }
                for entry in self.cluster_scope
            ]
        if self.upsync:
            spec["upsync"] = [
                {
                    "apiGroup": u.api_group,
                    "resources": list(u.resources),
                    "namespaces": list(u.namespaces),
                    "names": list(u.names),
                    **_selector_dict(u.object_selector),
                }
                for u in self.upsync
            ]
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": self.name},
            "spec": spec,
        }


AnyConfig: TypeAlias = SyncerConfig | edgesyncconfig.EdgeSyncConfig
"""Either config kind; ``Selection.from_configs`` merges any mix of them."""


def parse_config(doc: object, *, source: str = "") -> AnyConfig:
    """Parse a SyncerConfig or an EdgeSyncConfig, whichever ``doc`` declares itself to be."""
    if not isinstance(doc, Mapping):
        raise errors.ConfigError(
            [(ROOT, f"must be an object, not {json_type(doc)}")], source=source
        )
    kind = doc.get("kind")
    if kind == KIND:
        return parse_syncer_config(doc, source=source)
    if kind == edgesyncconfig.KIND:
        return edgesyncconfig.parse_edge_sync_config(doc, source=source)
    raise errors.ConfigError(
        [(child(ROOT, "kind"), f"must be {KIND} or {edgesyncconfig.KIND}, not {kind!r}")],
        source=source,
    )


def parse_syncer_config(doc: Mapping[str, Any], *, source: str = "") -> SyncerConfig:
    """Parse a SyncerConfig object; raise ``ConfigError`` listing every problem."""
    reader = Reader()
    name = reader.object_header(doc, kind=KIND, api_version=API_VERSION)
    spec = reader.spec(doc, fields=_SPEC_FIELDS)
    spec_path = child(ROOT, "spec")
    config = SyncerConfig(
        name=name or "",
        namespace_scope=_namespace_scope(reader, spec, spec_path),
        namespaced_objects=_namespaced_objects(reader, spec, spec_path),
        cluster_scope=_cluster_scope(reader, spec, spec_path),
        upsync=_upsync(reader, spec, spec_path),
    )
    reader.raise_if_any(source=source or (f"{KIND}/{name}" if name else KIND))
    return config


def _resource(
    reader: Reader, value: object, path: str, *, extra: tuple[str, ...] = ()
) -> tuple[Mapping[str, Any] | None, DownsyncResource | None]:
    """Read a ``{group, resource, apiVersion}`` entry (plus ``extra`` fields of its own)."""
    entry = reader.mapping(
        value, path, fields=(*_RESOURCE_FIELDS, *extra), required=_RESOURCE_REQUIRED
    )
    if entry is None:
        return None, None
    group = reader.string(entry, "group", path, check=names.group_problem)
    resource = reader.string(entry, "resource", path, check=names.resource_problem)
    version = reader.string(entry, "apiVersion", path, check=names.version_problem)
    selector = read_object_selector(reader, entry, path)
    if group is None or resource is None or version is None:
        return entry, None
    return entry, DownsyncResource(
        group=group, version=version, resource=resource, object_selector=selector
    )


def _namespace_scope(reader: Reader, spec: Mapping[str, Any], path: str) -> NamespaceScope:
    here = child(path, "namespaceScope")
    if spec.get("namespaceScope") is None:
        return NamespaceScope()
    scope = reader.mapping(spec["namespaceScope"], here, fields=("namespaces", "resources"))
    if scope is None:
        return NamespaceScope()
    namespaces = reader.strings(scope, "namespaces", here, check=names.namespace_problem)
    resources = []
    for item_path, value in reader.array(scope, "resources", here):
        _, resource = _resource(reader, value, item_path)
        if resource is not None:
            resources.append(resource)
    return NamespaceScope(namespaces=namespaces or (), resources=resources)


def _namespaced_objects(
    reader: Reader, spec: Mapping[str, Any], path: str
) -> tuple[NamespacedObjects, ...]:
    result = []
    for item_path, value in reader.array(spec, "namespacedObjects", path):
        entry, resource = _resource(reader, value, item_path, extra=("objectsByNamespace",))
        if entry is None:
            continue
        groups = []
        for group_path, group_value in reader.array(entry, "objectsByNamespace", item_path):
            by_namespace = reader.mapping(
                group_value, group_path, fields=("namespace", "names"), required=("namespace",)
            )
            if by_namespace is None:
                continue
            namespace = reader.string(
                by_namespace, "namespace", group_path, check=names.namespace_problem
            )
            object_names = reader.strings(
                by_namespace, "names", group_path, check=names.object_name_problem
            )
            if namespace is not None:
                groups.append(NamespaceAndNames(namespace, object_names or ()))
        if resource is not None:
            result.append(NamespacedObjects(resource=resource, objects_by_namespace=groups))
    return tuple(result)


def _cluster_scope(
    reader: Reader, spec: Mapping[str, Any], path: str
) -> tuple[ClusterScopeObjects, ...]:
    result = []
    for item_path, value in reader.array(spec, "clusterScope", path):
        entry, resource = _resource(reader, value, item_path, extra=("objects",))
        if entry is None:
            continue
        if "objects" in entry and entry["objects"] is None:
            reader.problem(
                child(item_path, "objects"),
                'objects is null: omit it or write ["*"] to select every object, '
                "or write [] to select none",
            )
        objects = reader.strings(entry, "objects", item_path, check=names.object_name_problem)
        if resource is not None:
            result.append(ClusterScopeObjects(resource=resource, objects=objects))
    return tuple(result)


def _upsync(reader: Reader, spec: Mapping[str, Any], path: str) -> tuple[UpsyncSet, ...]:
    result = []
    for item_path, value in reader.array(spec, "upsync", path):
        entry = reader.mapping(
            value,
            item_path,
            fields=("apiGroup", "resources", "namespaces", "names", "objectSelector"),
            required=("resources",),
        )
        if entry is None:
            continue
        group = reader.string(entry, "apiGroup", item_path, check=names.group_problem)
        resources = reader.strings(entry, "resources", item_path, check=names.resource_problem)
        namespaces = reader.strings(entry, "namespaces", item_path, check=names.namespace_problem)
        object_names = reader.strings(entry, "names", item_path, check=names.object_name_problem)
        result.append(
            UpsyncSet(
                api_group=group or "",
                resources=resources or (),
                namespaces=namespaces or (),
                names=object_names or (),
                object_selector=read_object_selector(reader, entry, item_path),
            )
        )
    return tuple(result)
