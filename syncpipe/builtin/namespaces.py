"""Namespace mapping: where an upstream namespace lives downstream, and back.

Built-in mappers, chosen with ``--namespace-mapping``:

- ``identity`` (default): the same name on both sides;
- ``prefix:P`` / ``suffix:S``: ``P<namespace>`` / ``<namespace>S``;
- ``template:T``: ``T`` with ``{namespace}`` and ``{syncer}`` filled in
  (e.g. ``template:{syncer}-{namespace}``);
- ``hashed:P``: ``P-<namespace, shortened>-<8 hex of a hash>``: readable, collision-safe and
  always a valid name, like kcp's ``kcp-<hash>`` but telling which namespace it is.

Every mapped downstream namespace carries the annotation ``syncpipe.io/upstream-namespace``
naming its upstream namespace; the reverse lookup (status return, upsync) uses that record,
never string parsing. References that name a namespace and must follow the mapping are
rewritten by the same transform: ``metadata.namespace``, a Namespace object's own name, and
``subjects[].namespace`` of RoleBindings/ClusterRoleBindings for ServiceAccount subjects.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable

from syncpipe import errors
from syncpipe.hooks import hookimpl
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.namespacemapper import NamespaceMapper
from syncpipe.hooks.transforms import Phase, Transform
from syncpipe.model.objects import RawObject, annotations_of, meta, with_metadata

UPSTREAM_NAMESPACE_ANNOTATION = "syncpipe.io/upstream-namespace"
MAX_NAMESPACE = 63
_INVALID = re.compile(r"[^a-z0-9-]")


def _valid(name: str, spec: str) -> str:
    if len(name) > MAX_NAMESPACE or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name):
        raise errors.ConfigError(
            [("--namespace-mapping", f"{spec!r} maps to {name!r}, not a valid namespace name")]
        )
    return name


def hashed_name(prefix: str, namespace: str) -> str:
    """``<prefix>-<readable part>-<8 hex>``, at most 63 characters, always valid."""
    digest = hashlib.sha256(namespace.encode()).hexdigest()[:8]
    room = MAX_NAMESPACE - len(prefix) - len(digest) - 2
    readable = _INVALID.sub("-", namespace.lower())[: max(room, 0)].strip("-")
    return "-".join(p for p in (prefix, readable, digest) if p)


class ReverseIndex:
    """Downstream namespace → upstream namespace, learned from every mapping made."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._upstream_of: dict[str, str] = {}

    def remember(self, upstream: str, downstream: str) -> None:
        with self._lock:
            self._upstream_of[downstream] = upstream

    def upstream_of(self, downstream: str) -> str | None:
        with self._lock:
            return self._upstream_of.get(downstream)


def build_mapper(spec: str, *, syncer_name: str) -> NamespaceMapper:
    """The mapper for ``--namespace-mapping SPEC``; raises ConfigError for an unknown one."""
    kind, _, arg = spec.partition(":")
    forward: Callable[[str], str]
    if kind == "identity":
        return NamespaceMapper(name="identity")
    if kind == "prefix" and arg:
        forward = lambda ns: _valid(f"{arg}{ns}", spec)  # noqa: E731
    elif kind == "suffix" and arg:
        forward = lambda ns: _valid(f"{ns}{arg}", spec)  # noqa: E731
    elif kind == "template" and "{namespace}" in arg:
        forward = lambda ns: _valid(  # noqa: E731
            arg.format(namespace=ns, syncer=syncer_name), spec
        )
    elif kind == "hashed":
        forward = lambda ns: hashed_name(arg or "ns", ns)  # noqa: E731
    else:
        raise errors.ConfigError(
            [
                (
                    "--namespace-mapping",
                    f"unknown mapping {spec!r}: use identity, prefix:P, suffix:S, "
                    "template:{syncer}-{namespace} or hashed:P",
                )
            ]
        )
    index = ReverseIndex()

    def downstream_namespace_for(namespace: str) -> str:
        mapped = forward(namespace)
        index.remember(namespace, mapped)
        return mapped

    return NamespaceMapper(
        name=spec,
        downstream_namespace_for=downstream_namespace_for,
        upstream_namespace_for=index.upstream_of,
        reverse_index=index,
    )


def _mapper(ctx: SyncContext) -> NamespaceMapper | None:
    mapper = ctx.namespace_mapper
    if mapper is None or mapper.name == "identity":
        return None
    assert isinstance(mapper, NamespaceMapper)  # noqa: S101 - set by the syncer
    return mapper


def _map_subjects(obj: RawObject, fn: Callable[[str], str | None]) -> RawObject:
    subjects = obj.get("subjects")
    if not isinstance(subjects, list):
        return obj
    changed = []
    for subject in subjects:
        if (
            isinstance(subject, dict)
            and subject.get("kind") == "ServiceAccount"
            and subject.get("namespace")
        ):
            mapped = fn(str(subject["namespace"])) or subject["namespace"]
            subject = {**subject, "namespace": mapped}
        changed.append(subject)
    return {**obj, "subjects": changed}


def map_down(obj: RawObject, ctx: SyncContext) -> RawObject:
    mapper = _mapper(ctx)
    if mapper is None:
        return obj
    m = meta(obj)
    if obj.get("kind") == "Namespace" and obj.get("apiVersion") == "v1":
        upstream = str(m.get("name"))
        annotations = {**(m.get("annotations") or {}), UPSTREAM_NAMESPACE_ANNOTATION: upstream}
        return with_metadata(
            obj, name=mapper.downstream_namespace_for(upstream), annotations=annotations
        )
    if m.get("namespace"):
        obj = with_metadata(obj, namespace=mapper.downstream_namespace_for(str(m["namespace"])))
    if obj.get("kind") in ("RoleBinding", "ClusterRoleBinding"):
        obj = _map_subjects(obj, mapper.downstream_namespace_for)
    return obj


def map_up(obj: RawObject, ctx: SyncContext) -> RawObject:
    mapper = _mapper(ctx)
    if mapper is None:
        return obj
    m = meta(obj)
    if obj.get("kind") == "Namespace" and obj.get("apiVersion") == "v1":
        upstream = annotations_of(obj).get(UPSTREAM_NAMESPACE_ANNOTATION)
        if upstream:
            annotations = {
                k: v for k, v in annotations_of(obj).items() if k != UPSTREAM_NAMESPACE_ANNOTATION
            }
            return with_metadata(obj, name=upstream, annotations=annotations or None)
        return obj
    namespace = m.get("namespace")
    if namespace:
        upstream_ns = mapper.upstream_namespace_for(str(namespace))
        if upstream_ns:
            obj = with_metadata(obj, namespace=upstream_ns)
    if obj.get("kind") in ("RoleBinding", "ClusterRoleBinding"):
        obj = _map_subjects(obj, mapper.upstream_namespace_for)
    return obj


@hookimpl
def syncpipe_register_transforms() -> list[Transform]:
    return [
        Transform(
            name="namespace-mapping",
            forward=map_down,
            reverse=map_up,
            phase=Phase.NAMESPACE,
            plugin="builtin.namespaces",
        )
    ]
