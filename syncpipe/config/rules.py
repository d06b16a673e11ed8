"""Flatten parsed configs into selection rules: one (resource, namespace, name) pattern each.

Every section of a SyncerConfig or EdgeSyncConfig, however it is shaped in YAML, comes down
to rules of one form, which is what makes merging trivial (a set union) and matching fast
(dictionary lookups in ``syncpipe.config.mergedselection``). A rule's ``namespace`` carries the
scope: ``""`` matches cluster-scoped objects only, a name or ``"*"`` matches namespaced
objects only. That is how a namespaced resource listed under ``clusterScope`` (or a
cluster-scoped one under ``namespaceScope``) ends up selecting nothing instead of being
misused as the original did; ``Selection.downsync_scope_problems`` tells the user why.

The translation keeps the original's semantics (reference §2.2):

* ``namespaceScope``: every object of each resource in each namespace, plus the Namespace
  object of each namespace (an *implied* rule: contents need their namespace downstream);
* ``namespacedObjects``: each named object; a namespace is implied only when it has names;
* ``clusterScope``: each named object, or every object when ``objects`` is absent;
* ``upsync``: each name, for cluster-scoped resources regardless of ``namespaces`` and for
  namespaced ones in each namespace. Unlike the original, no Namespace objects are implied
  for upsync: upsyncing them copied every edge namespace to the mailbox and adopted
  namespaces such as ``default`` there. Upsyncing into a namespace that does not exist
  upstream is the upsync stage's to handle (create it bare, never adopt one); list
  ``namespaces`` under an upsync set of the core group to upsync Namespace objects themselves.
* EdgeSyncConfig entries: one rule each, by kind.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from syncpipe.config import edgesyncconfig, syncerconfig
from syncpipe.config.names import WILDCARD
from syncpipe.config.objectselector import LabelSelector
from syncpipe.model.events import Direction
from syncpipe.model.resources import NAMESPACE_GVR, ResourceInfo


@attrs.frozen(kw_only=True)
class SelectionRule:
    """One pattern of objects selected by one config (``reason``) in one direction.

    Exactly one of ``resource`` (a plural or ``"*"``) and ``kind`` is set. ``version`` is the
    version the config asked for (``""``: any); matching objects ignores it, because the same
    object is served under every version of its resource.
    """

    direction: Direction
    reason: str  # the config's ref, e.g. "SyncerConfig/edge-1"
    group: str
    version: str
    resource: str = ""
    kind: str = ""
    namespace: str  # "" = cluster-scoped objects; "*" = namespaced objects in any namespace
    name: str  # an object name or "*"
    implied: bool = False  # a Namespace object selected because its contents are
    # Only objects whose labels match; ``None``: no condition on labels.
    object_selector: LabelSelector | None = None

    @property
    def pattern(self) -> ResourcePattern:
        return ResourcePattern(
            group=self.group, version=self.version, resource=self.resource, kind=self.kind
        )

    @property
    def what(self) -> str:
        """``configmaps`` / ``deployments.apps`` / ``kind Sample.my.domain``: for messages."""
        name = self.resource or f"kind {self.kind}"
        return f"{name}.{self.group}" if self.group else name

    def sort_key(self) -> tuple[str, ...]:
        return (
            self.direction.value,
            self.reason,
            self.group,
            self.resource,
            self.kind,
            self.version,
            self.namespace,
            self.name,
            str(self.implied),
            "" if self.object_selector is None else self.object_selector.query,
        )


@attrs.frozen(kw_only=True)
class ResourcePattern:
    """Resources to look for in discovery: by resource (or ``"*"``) or by kind, in a group.

    ``version=""`` accepts every served version (the selection then picks one).
    """

    group: str
    version: str = ""
    resource: str = ""
    kind: str = ""

    def matches(self, info: ResourceInfo) -> bool:
        """Whether ``info`` is one of these resources; subresources never are."""
        gvr = info.gvr
        if gvr.group != self.group or "/" in gvr.resource:
            return False
        if self.version and gvr.version != self.version:
            return False
        if self.kind:
            return info.kind == self.kind
        return self.resource in (WILDCARD, gvr.resource)

    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.group, self.resource, self.kind, self.version)

    def __str__(self) -> str:
        what = self.resource or f"kind={self.kind}"
        version = self.version or "*"
        return f"{self.group}/{version}/{what}" if self.group else f"{version}/{what}"


def rules_of(config: syncerconfig.AnyConfig) -> Iterator[tuple[SelectionRule, str]]:
    """Every rule ``config`` contributes, with the JSON path of the entry it comes from."""
    if isinstance(config, syncerconfig.SyncerConfig):
        yield from _syncer_config_rules(config)
    else:
        yield from _edge_sync_config_rules(config)


def _implied_namespace(reason: str, namespace: str) -> SelectionRule:
    return SelectionRule(
        direction=Direction.DOWN,
        reason=reason,
        group=NAMESPACE_GVR.group,
        version=NAMESPACE_GVR.version,
        resource=NAMESPACE_GVR.resource,
        namespace="",
        name=namespace,
        implied=True,
    )


def _down(
    reason: str, resource: syncerconfig.DownsyncResource, *, namespace: str, name: str
) -> SelectionRule:
    return SelectionRule(
        direction=Direction.DOWN,
        reason=reason,
        group=resource.group,
        version=resource.version,
        resource=resource.resource,
        namespace=namespace,
        name=name,
        object_selector=resource.object_selector,
    )


def _syncer_config_rules(
    config: syncerconfig.SyncerConfig,
) -> Iterator[tuple[SelectionRule, str]]:
    reason = config.ref
    scope = config.namespace_scope
    for i, namespace in enumerate(scope.namespaces):
        yield _implied_namespace(reason, namespace), f"$.spec.namespaceScope.namespaces[{i}]"
    for j, resource in enumerate(scope.resources):
        path = f"$.spec.namespaceScope.resources[{j}].resource"
        for namespace in scope.namespaces:
            yield _down(reason, resource, namespace=namespace, name=WILDCARD), path
    for i, objects in enumerate(config.namespaced_objects):
        for j, by_namespace in enumerate(objects.objects_by_namespace):
            path = f"$.spec.namespacedObjects[{i}].objectsByNamespace[{j}]"
            if by_namespace.names:
                yield _implied_namespace(reason, by_namespace.namespace), f"{path}.namespace"
            for name in by_namespace.names:
                rule = _down(reason, objects.resource, namespace=by_namespace.namespace, name=name)
                yield rule, path
    for i, cluster in enumerate(config.cluster_scope):
        path = f"$.spec.clusterScope[{i}]"
        for name in (WILDCARD,) if cluster.objects is None else cluster.objects:
            yield _down(reason, cluster.resource, namespace="", name=name), path
    for i, upsync in enumerate(config.upsync):
        path = f"$.spec.upsync[{i}]"
        for plural in upsync.resources:
            for name in upsync.names:
                for namespace in ("", *upsync.namespaces):
                    rule = SelectionRule(
                        direction=Direction.UP,
                        reason=reason,
                        group=upsync.api_group,
                        version="",
                        resource=plural,
                        namespace=namespace,
                        name=name,
                        object_selector=upsync.object_selector,
                    )
                    yield rule, path


def _edge_sync_config_rules(
    config: edgesyncconfig.EdgeSyncConfig,
) -> Iterator[tuple[SelectionRule, str]]:
    sections = (
        (Direction.DOWN, "downSyncedResources", config.down_synced),
        (Direction.UP, "upSyncedResources", config.up_synced),
    )
    for direction, field, entries in sections:
        for i, entry in enumerate(entries):
            rule = SelectionRule(
                direction=direction,
                reason=config.ref,
                group=entry.group,
                version=entry.version,
                kind=entry.kind,
                namespace=entry.namespace,
                name=entry.name,
            )
            yield rule, f"$.spec.{field}[{i}]"
