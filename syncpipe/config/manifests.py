"""Write the config that selects exactly the objects of rendered manifests.

``syncpipe config from-manifests`` runs these steps, each a pure function:

1. ``read_manifest_objects``: every object of the YAML streams (``helm template`` output,
   ``kubectl`` files; Lists unpacked), checked for what selecting it needs: ``apiVersion``,
   ``kind``, ``metadata.name`` (an object with only ``generateName`` cannot be selected by
   name), a valid namespace. A CustomResourceDefinition also says which kind it defines.
2. ``resolve``: each object's resource and scope (``syncpipe.config.kinds``: built-in kinds,
   CRDs of the same manifests, or a cluster's discovery when the caller passes it). A
   namespaced object without a namespace goes to ``default_namespace``, as ``kubectl apply``
   puts it into the context's namespace; a cluster-scoped object's namespace is ignored, as
   the API server ignores it. The same object twice counts once.
3. ``syncer_config_selecting`` or ``edge_sync_config_selecting``: the config. A SyncerConfig
   selects namespaced objects under ``namespacedObjects`` (one entry per group, version and
   resource; per namespace the object names: nothing wider than the manifests), and under
   ``clusterScope`` each cluster-scoped object by name, together with the Namespace object of
   every namespace the manifests create or put objects in (``namespacedObjects`` would select
   the latter anyway; naming them says so). ``namespaceScope`` is never used: it selects every
   object of a resource in a namespace, also those the manifests do not hold. The legacy
   EdgeSyncConfig is what the original's Helm converter wrote: one entry per namespace first,
   then one per object (group, version, kind, name, namespace).

Problems are ``ConfigError`` naming the file and document (``FILE: doc N (Kind/name)``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePath

import attrs
import yaml

from syncpipe import errors
from syncpipe.config import edgesyncconfig, kinds, names, syncerconfig
from syncpipe.config.documents import Place, located_objects
from syncpipe.config.reader import ROOT, Check, Reader, child, json_type
from syncpipe.config.syncerconfig import (
    ClusterScopeObjects,
    DownsyncResource,
    NamespaceAndNames,
    NamespacedObjects,
)
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import NAMESPACE_GVR, GroupVersionResource, ResourceInfo

RELEASE_LABEL = "app.kubernetes.io/instance"
"""The label Helm's chart conventions put the release name in: the default config name."""

FALLBACK_NAME = "manifests"
DEFAULT_NAMESPACE = "default"
"""Where namespaced objects without a namespace go unless told otherwise (kubectl, helm)."""


@attrs.frozen(kw_only=True)
class ManifestObject:
    """One object of the manifests, as far as selecting it goes."""

    place: Place
    group: str
    version: str
    kind: str
    name: str
    namespace: str  # as written; "" when absent
    release: str = ""  # the app.kubernetes.io/instance label
    defines: tuple[tuple[str, str], kinds.KindInfo] | None = None  # a CRD's (group, kind)


@attrs.frozen(kw_only=True)
class SelectedObject:
    """One object the config must select: its kind, resource, namespace ("" if none), name."""

    kind: str
    key: ObjectKey

    @property
    def gvr(self) -> GroupVersionResource:
        return self.key.gvr


# -- 1. reading ------------------------------------------------------------------------------


def read_manifest_objects(text: str, *, file: str) -> list[ManifestObject]:
    """The objects of one YAML stream; ``ConfigError`` at the first one that is unusable."""
    return [_manifest_object(place, obj) for place, obj in located_objects(text, file=file)]


def _not_wildcard(check: Check) -> Check:
    """``check``, refusing ``"*"`` too: in a config it would select every object."""

    def checked(value: str) -> str | None:
        if value == names.WILDCARD:
            return f"{value!r} would select everything in a config; name the object"
        return check(value)

    return checked


_object_name_problem = _not_wildcard(names.object_name_problem)
_namespace_problem = _not_wildcard(names.namespace_problem)


def _manifest_object(place: Place, obj: object) -> ManifestObject:
    if not isinstance(obj, Mapping):
        message = f"must be a Kubernetes object, not {json_type(obj)}"
        raise errors.ConfigError([(place.path(ROOT), message)], source=place.source)
    reader = Reader()
    for field in ("apiVersion", "kind"):
        if obj.get(field) is None:
            reader.problem(child(ROOT, field), "required field is missing")
    api_version = reader.string(obj, "apiVersion", ROOT) or ""
    group, _, version = api_version.rpartition("/")
    if api_version:
        reader.check(child(ROOT, "apiVersion"), group, names.group_problem)
        reader.check(child(ROOT, "apiVersion"), version, names.version_problem)
    kind = reader.string(obj, "kind", ROOT, check=names.kind_problem) or ""
    meta_path = child(ROOT, "metadata")
    metadata = obj.get("metadata")
    name = namespace = release = ""
    if not isinstance(metadata, Mapping):
        reader.problem(meta_path, "required field is missing: an object is selected by name")
    else:
        if metadata.get("name") is None:
            reason = (
                "generateName objects get their name when created and cannot be selected"
                if metadata.get("generateName")
                else "an object is selected by name"
            )
            reader.problem(child(meta_path, "name"), f"required field is missing: {reason}")
        name = reader.string(metadata, "name", meta_path, check=_object_name_problem) or ""
        namespace = reader.string(metadata, "namespace", meta_path, check=_namespace_problem) or ""
        labels = metadata.get("labels")
        if isinstance(labels, Mapping) and isinstance(labels.get(RELEASE_LABEL), str):
            release = labels[RELEASE_LABEL]
    defines = None
    if (group, kind) == kinds.CRD_KIND:
        defines = kinds.kind_of_crd(obj)
        if defines is None:
            reader.problem(
                child(ROOT, "spec"),
                "a CustomResourceDefinition needs spec.group, spec.names.kind, "
                "spec.names.plural and spec.scope (Namespaced or Cluster)",
            )
    problems = [(place.path(path), message) for path, message in reader.problems]
    if problems:
        raise errors.ConfigError(problems, source=place.source)
    return ManifestObject(
        place=place,
        group=group,
        version=version,
        kind=kind,
        name=name,
        namespace=namespace,
        release=release,
        defines=defines,
    )


# -- 2. resolving kinds ----------------------------------------------------------------------


def resolve(
    objects: Iterable[ManifestObject],
    *,
    default_namespace: str = DEFAULT_NAMESPACE,
    served: Iterable[ResourceInfo] | None = None,
) -> tuple[SelectedObject, ...]:
    """Each object's resource, scope and namespace; duplicates dropped, first place kept.

    ``served`` is a cluster's discovery (``None``: no cluster was asked, and the message for
    an unknown kind says how to ask one). Kinds defined by CRDs in ``objects`` win over the
    cluster's, which win over the built-in table.
    """
    objects = list(objects)
    known = dict(kinds.BUILTIN_KINDS)
    known.update(kinds.kinds_served(served or ()))
    known.update(obj.defines for obj in objects if obj.defines is not None)
    selected: dict[ObjectKey, SelectedObject] = {}
    unknown: list[ManifestObject] = []
    for obj in objects:
        info = known.get((obj.group, obj.kind))
        if info is None:
            unknown.append(obj)
            continue
        namespace = (obj.namespace or default_namespace) if info.namespaced else ""
        key = ObjectKey(
            GroupVersionResource(obj.group, obj.version, info.resource), namespace, obj.name
        )
        selected.setdefault(key, SelectedObject(kind=obj.kind, key=key))
    if unknown:
        raise _unknown_kinds(unknown, cluster_asked=served is not None)
    return tuple(selected.values())


def _unknown_kinds(unknown: Sequence[ManifestObject], *, cluster_asked: bool) -> errors.ConfigError:
    first = unknown[0]
    what = _kind_name(first)
    message = f"kind {what} is not built into Kubernetes and no CRD in the manifests defines it"
    message += (
        "; the cluster does not serve it either"
        if cluster_asked
        else "; give a cluster to look it up in (--kubeconfig)"
    )
    others = sorted({_kind_name(o) for o in unknown[1:]} - {what})
    if others:
        message += f" (also unknown: {', '.join(others)})"
    return errors.ConfigError(
        [(first.place.path(child(ROOT, "kind")), message)], source=first.place.source
    )


def _kind_name(obj: ManifestObject) -> str:
    """``Kind.group`` (``Kind`` in the core group), as kubectl names kinds."""
    return f"{obj.kind}.{obj.group}" if obj.group else obj.kind


# -- 3. the configs --------------------------------------------------------------------------


def namespaces_of(selected: Iterable[SelectedObject]) -> list[str]:
    """The namespaces the objects are in or are, sorted."""
    found: set[str] = set()
    for obj in selected:
        if obj.key.namespace:
            found.add(obj.key.namespace)
        elif (obj.gvr.group, obj.gvr.resource) == (NAMESPACE_GVR.group, NAMESPACE_GVR.resource):
            found.add(obj.key.name)
    return sorted(found)


def syncer_config_selecting(
    selected: Sequence[SelectedObject], *, name: str
) -> syncerconfig.SyncerConfig:
    """The SyncerConfig selecting exactly ``selected`` and their namespaces."""
    namespaced: dict[GroupVersionResource, dict[str, set[str]]] = {}
    cluster: dict[GroupVersionResource, set[str]] = {}
    for obj in selected:
        if obj.key.namespace:
            by_namespace = namespaced.setdefault(obj.gvr, {})
            by_namespace.setdefault(obj.key.namespace, set()).add(obj.key.name)
        else:
            cluster.setdefault(obj.gvr, set()).add(obj.key.name)
    namespaces = namespaces_of(selected)
    if namespaces and not any(_is_namespaces(gvr) for gvr in cluster):
        cluster[NAMESPACE_GVR] = set()
    for gvr in cluster:
        if _is_namespaces(gvr):
            cluster[gvr].update(namespaces)
    return syncerconfig.SyncerConfig(
        name=name,
        namespaced_objects=[
            NamespacedObjects(
                resource=_resource(gvr),
                objects_by_namespace=[
                    NamespaceAndNames(namespace, sorted(object_names))
                    for namespace, object_names in sorted(namespaced[gvr].items())
                ],
            )
            for gvr in sorted(namespaced, key=_resource_order)
        ],
        cluster_scope=[
            ClusterScopeObjects(resource=_resource(gvr), objects=sorted(cluster[gvr]))
            for gvr in sorted(cluster, key=_resource_order)
        ],
    )


def edge_sync_config_selecting(
    selected: Sequence[SelectedObject], *, name: str
) -> edgesyncconfig.EdgeSyncConfig:
    """The EdgeSyncConfig the original's Helm converter wrote: namespaces, then each object."""
    entries = [
        edgesyncconfig.EdgeSyncResource(kind="Namespace", version=NAMESPACE_GVR.version, name=ns)
        for ns in namespaces_of(selected)
    ]
    for obj in selected:
        entry = edgesyncconfig.EdgeSyncResource(
            kind=obj.kind,
            group=obj.gvr.group,
            version=obj.gvr.version,
            name=obj.key.name,
            namespace=obj.key.namespace,
        )
        if entry not in entries:
            entries.append(entry)
    return edgesyncconfig.EdgeSyncConfig(name=name, down_synced=entries)


def _is_namespaces(gvr: GroupVersionResource) -> bool:
    return (gvr.group, gvr.resource) == (NAMESPACE_GVR.group, NAMESPACE_GVR.resource)


def _resource(gvr: GroupVersionResource) -> DownsyncResource:
    return DownsyncResource(group=gvr.group, version=gvr.version, resource=gvr.resource)


def _resource_order(gvr: GroupVersionResource) -> tuple[str, str, tuple[int, int, int, str]]:
    return (gvr.group, gvr.resource, names.version_priority(gvr.version))


# -- naming and writing ----------------------------------------------------------------------


def default_config_name(objects: Sequence[ManifestObject], files: Sequence[str]) -> str:
    """The Helm release of the objects, else the first file's name, else ``manifests``.

    The release is the ``app.kubernetes.io/instance`` label when every object carrying it
    agrees (CRDs from a chart's ``crds/`` folder usually do not carry it).
    """
    releases = {obj.release for obj in objects if obj.release}
    candidates = [*releases] if len(releases) == 1 else []
    candidates += [PurePath(file).name.split(".")[0] for file in files if file != "-"][:1]
    for candidate in candidates:
        name = _as_object_name(candidate)
        if name:
            return name
    return FALLBACK_NAME


def _as_object_name(text: str) -> str:
    """``text`` made a DNS-1123 subdomain (lowercase, other characters as '-'); may be empty."""
    name = re.sub(r"[^a-z0-9.-]+", "-", text.lower())
    name = re.sub(r"\.{2,}", ".", name).strip(".-")[: names.SUBDOMAIN_MAX].strip(".-")
    return name if names.config_name_problem(name) is None else ""


def render(config: syncerconfig.AnyConfig, *, files: Sequence[str], count: int) -> str:
    """The config as YAML, under a comment saying what it was made from."""
    sources = ", ".join("stdin" if f == "-" else f for f in files)
    header = (
        f"# {config.ref}: selects exactly the {count} object(s) of {sources} and their\n"
        "# namespaces; written by `syncpipe config from-manifests`.\n"
    )
    return header + yaml.safe_dump(config.to_dict(), sort_keys=False)
