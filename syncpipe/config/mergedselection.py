"""Merge any number of SyncerConfigs and EdgeSyncConfigs into one immutable Selection.

The selection answers, per object event, "which configs select this object for downsync
(upsync)?" with a handful of dictionary lookups: configs are flattened into rules
(``syncpipe.config.rules``) once, the rules are indexed by (group, resource) and then by
(namespace, name) including the ``"*"`` entries, and a lookup probes the dozen keys at
most that an object can match. No pattern matching happens per call.

Decisions a reader may want to find in one place:

* **Provenance.** Every answer is the set of config refs (``SyncerConfig/<name>``,
  ``EdgeSyncConfig/<name>``) that select the object; empty means not selected. Refs carry the
  kind because a SyncerConfig and an EdgeSyncConfig may share a name.
* **Merging** is a set union of rules, so it is order-independent and idempotent, and two
  selections are equal exactly when the same configs select the same objects. Equality and
  hashing ignore where in a config a rule came from, so the runtime can compare selections to
  detect a change that matters.
* **Versions.** Object matching is by group and resource, never version: a ConfigMap is the
  same object in every version. The version a config asked for decides what to *watch*:
  ``resolve_downsync`` returns one version per resource, the preferred one when several are
  asked for or none is (upsync, EdgeSyncConfig without ``version``).
* **Wildcard resources** (``"*"``) expand to every listable and watchable resource of the
  group version (for upsync: of the group), never to subresources such as ``deployments/status``.
* **Scope.** Rules for cluster-scoped objects match only objects without a namespace and
  rules for namespaced objects only objects in one. A namespaced resource listed in
  ``clusterScope`` therefore selects nothing (the original listed it across all namespaces and
  then failed to create it), and so does a cluster-scoped resource under ``namespaceScope`` or
  ``namespacedObjects``; ``downsync_scope_problems`` reports both, given discovery, and
  ``resolve_downsync`` does not watch a resource only misused entries name.
* **Kinds.** EdgeSyncConfig entries name kinds; callers pass the watched resource's kind
  (``ResourceInfo.kind``) to the ``*_reasons`` methods so those entries can match.
* **Namespaces** (downsync): the Namespace object of every namespace listed in
  ``namespaceScope`` and of every ``namespacedObjects`` namespace with names is selected, as
  in the original, and ``required_namespaces`` lists them.
* **Labels.** An entry with an ``objectSelector`` selects only the objects whose labels
  match, on top of its names (an intersection); callers pass the object's labels. Where
  every entry for a resource has the same selector, ``source_label_selector`` lets the API
  server filter the watch.
* **Conflicts.** An object selected both ways would ping-pong; ``overlaps`` reports every
  pair of downsync and upsync entries that can select the same object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from syncpipe.config import matching, names, problems, rules, syncerconfig, unserved
from syncpipe.config.edgesyncconfig import Conversion
from syncpipe.config.problems import SelectionProblem
from syncpipe.config.rules import ResourcePattern, SelectionRule
from syncpipe.model.events import Direction
from syncpipe.model.resources import GroupVersionResource, ResourceInfo

__all__ = [
    "ConversionRule",
    "ResourcePattern",
    "Selection",
    "SelectionProblem",
    "SelectionRule",
    "summary",
]


@attrs.frozen(kw_only=True)
class ConversionRule:
    """An EdgeSyncConfig conversion, kept with its config and position for a later stage."""

    reason: str
    index: int
    conversion: Conversion


def _frozen_rules(value: Iterable[SelectionRule]) -> frozenset[SelectionRule]:
    return frozenset(value)


def _frozen_refs(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _sorted_conversions(value: Iterable[ConversionRule]) -> tuple[ConversionRule, ...]:
    return tuple(sorted(set(value), key=lambda c: (c.reason, c.index, repr(c.conversion))))


def _frozen_paths(
    value: Mapping[SelectionRule, Iterable[str]],
) -> Mapping[SelectionRule, tuple[str, ...]]:
    return MappingProxyType({rule: tuple(sorted(set(p))) for rule, p in value.items()})


@attrs.frozen(kw_only=True)
class Selection:
    """The merged selection of a set of configs; build it with ``Selection.from_configs``."""

    rules: frozenset[SelectionRule] = attrs.field(default=frozenset(), converter=_frozen_rules)
    conversions: tuple[ConversionRule, ...] = attrs.field(default=(), converter=_sorted_conversions)
    config_refs: frozenset[str] = attrs.field(default=frozenset(), converter=_frozen_refs)
    # Where each rule came from, for messages; not part of what is selected.
    paths: Mapping[SelectionRule, tuple[str, ...]] = attrs.field(
        factory=dict, converter=_frozen_paths, eq=False, repr=False
    )
    _down: matching.RuleIndex = attrs.field(init=False, eq=False, repr=False)
    _up: matching.RuleIndex = attrs.field(init=False, eq=False, repr=False)
    _patterns: Mapping[Direction, Mapping[ResourcePattern, tuple[bool, bool]]] = attrs.field(
        init=False, eq=False, repr=False
    )

    def __attrs_post_init__(self) -> None:
        # Derived lookup tables of a frozen instance, built once; hence object.__setattr__.
        down = [r for r in self.rules if r.direction is Direction.DOWN]
        up = [r for r in self.rules if r.direction is Direction.UP]
        object.__setattr__(self, "_down", matching.RuleIndex(down))
        object.__setattr__(self, "_up", matching.RuleIndex(up))
        patterns: dict[Direction, dict[ResourcePattern, tuple[bool, bool]]] = {
            Direction.DOWN: {},
            Direction.UP: {},
        }
        for rule in self.rules:
            table = patterns[rule.direction]
            cluster, namespaced = table.get(rule.pattern, (False, False))
            table[rule.pattern] = (
                cluster or not rule.namespace,
                namespaced or bool(rule.namespace),
            )
        object.__setattr__(self, "_patterns", patterns)

    # -- building -------------------------------------------------------------------------

    @classmethod
    def from_configs(cls, configs: Iterable[syncerconfig.AnyConfig]) -> Selection:
        """Merge parsed configs (any mix of SyncerConfig and EdgeSyncConfig, any order)."""
        paths: dict[SelectionRule, set[str]] = {}
        conversions: set[ConversionRule] = set()
        refs: set[str] = set()
        for config in configs:
            refs.add(config.ref)
            for rule, path in rules.rules_of(config):
                paths.setdefault(rule, set()).add(path)
            if not isinstance(config, syncerconfig.SyncerConfig):
                for index, conversion in enumerate(config.conversions):
                    conversions.add(
                        ConversionRule(reason=config.ref, index=index, conversion=conversion)
                    )
        return cls(rules=paths, conversions=conversions, config_refs=refs, paths=paths)

    @classmethod
    def empty(cls) -> Selection:
        """The selection of no config: selects nothing."""
        return cls()

    @property
    def is_empty(self) -> bool:
        return not self.rules

    def rules_for(self, direction: Direction) -> tuple[SelectionRule, ...]:
        """This direction's rules in a stable order (for display and tests)."""
        chosen = (r for r in self.rules if r.direction is direction)
        return tuple(sorted(chosen, key=SelectionRule.sort_key))

    # -- per-object questions (hot path) -------------------------------------------------

    def downsync_reasons(
        self,
        gvr: GroupVersionResource,
        namespace: str,
        name: str,
        *,
        kind: str = "",
        labels: Mapping[str, str] | None = None,
    ) -> frozenset[str]:
        """The refs of the configs that select this upstream object for downsync.

        ``namespace`` is ``""`` for cluster-scoped objects. ``kind`` (the resource's kind,
        from discovery) lets EdgeSyncConfig entries, which name kinds, match too. ``labels``
        (the object's) decide the entries with an ``objectSelector``.
        """
        return self._down.reasons(
            group=gvr.group,
            resource=gvr.resource,
            kind=kind,
            namespace=namespace,
            name=name,
            labels=labels,
        )

    def upsync_reasons(
        self,
        group: str,
        resource: str,
        namespace: str,
        name: str,
        namespaced: bool,
        *,
        kind: str = "",
        labels: Mapping[str, str] | None = None,
    ) -> frozenset[str]:
        """The refs of the configs that select this downstream object for upsync.

        Cluster-scoped resources ignore namespaces, as the original's UpsyncSet says.
        """
        return self._up.reasons(
            group=group,
            resource=resource,
            kind=kind,
            namespace=namespace if namespaced else "",
            name=name,
            labels=labels,
        )

    def source_namespaces(self, direction: Direction, info: ResourceInfo) -> tuple[str, ...] | None:
        """The namespaces outside which no rule of ``direction`` selects objects of ``info``.

        ``None`` when an entry selects the resource in every namespace (``"*"``), or when
        ``info`` is cluster-scoped: then only a cluster-wide watch sees everything selected.
        """
        if not info.namespaced:
            return None
        found: set[str] = set()
        for rule in self.rules:
            if rule.direction is direction and attrs.evolve(rule.pattern, version="").matches(info):
                if rule.namespace == names.WILDCARD:
                    return None
                if rule.namespace:
                    found.add(rule.namespace)
        return tuple(sorted(found))

    def named_namespaces(
        self, direction: Direction, namespace_info: ResourceInfo
    ) -> tuple[str, ...] | None:
        """Every namespace a rule of ``direction`` selects objects in, or selects the Namespace
        object of (``namespace_info`` is the Namespaces resource; implied Namespaces count).

        ``None`` when one rule selects objects in every namespace (``"*"``) or every
        Namespace: then no list of names covers what the selection can reach.
        """
        found: set[str] = set()
        for rule in self.rules:
            if rule.direction is not direction:
                continue
            if rule.namespace == names.WILDCARD:
                return None
            if rule.namespace:
                found.add(rule.namespace)
            elif rule.group == names.WILDCARD or attrs.evolve(rule.pattern, version="").matches(
                namespace_info
            ):
                if rule.name == names.WILDCARD:
                    return None
                found.add(rule.name)
        return tuple(sorted(found))

    def source_label_selector(self, direction: Direction, info: ResourceInfo) -> str:
        """A ``labelSelector`` the source side's API server can filter ``info``'s watch by.

        Only when every rule of ``direction`` that can select objects of ``info`` carries
        the same ``objectSelector``: a watch takes one selector, and objects of any rule
        without one must all be seen. ``""`` means watch everything and decide per object.
        An object that stops matching leaves a filtered watch as a deletion, so its copy
        goes the way of any deselected object's.
        """
        selectors = {
            rule.object_selector
            for rule in self.rules
            if rule.direction is direction and attrs.evolve(rule.pattern, version="").matches(info)
        }
        if len(selectors) != 1:
            return ""
        (only,) = selectors
        return "" if only is None else only.query

    def required_namespaces(self) -> Mapping[str, frozenset[str]]:
        """Namespaces whose Namespace object is downsynced because their contents are.

        Maps each namespace (``"*"`` when a config selects every namespace) to the refs of
        the configs that need it.
        """
        needed: dict[str, set[str]] = {}
        for rule in self.rules:
            if rule.implied:
                needed.setdefault(rule.name, set()).add(rule.reason)
        return MappingProxyType({ns: frozenset(refs) for ns, refs in sorted(needed.items())})

    # -- what to watch ---------------------------------------------------------------------

    def downsync_resource_patterns(self) -> tuple[ResourcePattern, ...]:
        """The resources to look for in upstream discovery (``resource="*"``: all of a GV)."""
        return tuple(sorted(self._patterns[Direction.DOWN], key=ResourcePattern.sort_key))

    def upsync_resource_patterns(self) -> tuple[ResourcePattern, ...]:
        """The resources to look for in downstream discovery (``version=""``: any)."""
        return tuple(sorted(self._patterns[Direction.UP], key=ResourcePattern.sort_key))

    def api_groups(self) -> frozenset[str]:
        """Every API group the selection names, either way and in conversions (``"*"`` among
        them when a config names every group): what discovery has to look at for it."""
        groups = {pattern.group for table in self._patterns.values() for pattern in table}
        for rule in self.conversions:
            groups.add(rule.conversion.upstream.group)
            groups.add(rule.conversion.downstream.group)
        return frozenset(groups)

    def resolve_downsync(
        self,
        available: Iterable[ResourceInfo],
        *,
        preferred_versions: Mapping[str, str] | None = None,
    ) -> tuple[ResourceInfo, ...]:
        """The upstream resources to watch: one version of each selected resource.

        ``available`` is upstream discovery; ``preferred_versions`` maps a group to its
        preferred version (kubectl's version order decides when it is not given).
        """
        return matching.resolve(self._patterns[Direction.DOWN], available, preferred_versions or {})

    def resolve_upsync(
        self,
        available: Iterable[ResourceInfo],
        *,
        preferred_versions: Mapping[str, str] | None = None,
    ) -> tuple[ResourceInfo, ...]:
        """The downstream resources to watch for upsync; see ``resolve_downsync``."""
        return matching.resolve(self._patterns[Direction.UP], available, preferred_versions or {})

    # -- configuration problems -----------------------------------------------------------

    def downsync_scope_problems(
        self, available: Iterable[ResourceInfo]
    ) -> tuple[SelectionProblem, ...]:
        """Downsync entries that select nothing because of the resource's scope, given discovery.

        Also reports named resources that are served but cannot be listed and watched.
        Resources not served (yet) are no problem: they are picked up when they appear.
        """
        return problems.scope_problems(
            self.rules, direction=Direction.DOWN, available=available, path_of=self.first_path
        )

    def upsync_scope_problems(
        self, available: Iterable[ResourceInfo]
    ) -> tuple[SelectionProblem, ...]:
        """EdgeSyncConfig upsync entries whose namespace does not fit their kind's scope.

        SyncerConfig upsync sets cannot misuse scope: namespaces apply to namespaced
        resources only, by definition.
        """
        return problems.scope_problems(
            self.rules, direction=Direction.UP, available=available, path_of=self.first_path
        )

    def overlaps(self, available: Iterable[ResourceInfo] = ()) -> tuple[SelectionProblem, ...]:
        """Every upsync entry that can select an object some downsync entry selects too.

        Entries by kind (EdgeSyncConfig) are compared with entries by resource only when
        ``available`` (discovery) says which resource has that kind.
        """
        return problems.overlaps(self.rules, available=available, path_of=self.first_path)

    def unserved(
        self, direction: Direction, available: Iterable[ResourceInfo]
    ) -> Mapping[str, tuple[str, ...]]:
        """Per config ref, the resources its ``direction`` entries name that ``available`` (the
        source side's discovery) does not serve; see ``syncpipe.config.unserved``."""
        return unserved.unserved_by_config(self.rules, direction=direction, available=available)

    def first_path(self, rule: SelectionRule) -> str:
        """Where ``rule`` came from (the first place, when several configs entries agree)."""
        found = self.paths.get(rule)
        return found[0] if found else "$.spec"


def summary(selection: Selection) -> dict[str, Any]:
    """A plain-data overview of what the selection selects (for the CLI and logs)."""
    return {
        "configs": sorted(selection.config_refs),
        "downsync": [str(p) for p in selection.downsync_resource_patterns()],
        "upsync": [str(p) for p in selection.upsync_resource_patterns()],
        "namespaces": list(selection.required_namespaces()),
        "label_selectors": sorted(
            {
                f"{rule.direction.value} {rule.pattern}: {rule.object_selector}"
                for rule in selection.rules
                if rule.object_selector is not None
            }
        ),
        "conversions": len(selection.conversions),
    }
