"""Fast answers from selection rules: the per-object index and discovery resolution.

``RuleIndex`` is what makes ``Selection.downsync_reasons`` cheap enough to call on every
object event: rules are grouped by (group, resource) and (group, kind), then by
(namespace, name) with ``"*"`` kept as a literal key, so a lookup is at most three table
probes times four keys, with no pattern matching. ``resolve`` turns resource patterns into
the ``ResourceInfo`` to watch; it runs when discovery changes, not per event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from syncpipe.config import names
from syncpipe.config.names import WILDCARD
from syncpipe.config.objectselector import LabelSelector
from syncpipe.config.rules import ResourcePattern, SelectionRule
from syncpipe.model.resources import ResourceInfo

_NO_REASONS: frozenset[str] = frozenset()

_Table = dict[tuple[str, str], dict[tuple[str, str], frozenset[str]]]
# Rules with a label selector, by resource and by kind: (selector, reason) pairs per key.
_Labelled = dict[tuple[str, str], dict[tuple[str, str], list[tuple[LabelSelector, str]]]]
_LabelledTables = tuple[_Labelled, _Labelled]


def _freeze(table: dict[tuple[str, str], dict[tuple[str, str], set[str]]]) -> _Table:
    return {key: {k: frozenset(v) for k, v in inner.items()} for key, inner in table.items()}


class RuleIndex:
    """The rules of one direction, indexed for lookups by object.

    Rules with an ``objectSelector`` live in tables of their own, probed with the same keys
    only when there are any, so a selection without label selectors costs what it did.
    """

    __slots__ = ("_by_kind", "_by_resource", "_labelled")

    def __init__(self, selected: Iterable[SelectionRule]) -> None:
        by_resource: dict[tuple[str, str], dict[tuple[str, str], set[str]]] = {}
        by_kind: dict[tuple[str, str], dict[tuple[str, str], set[str]]] = {}
        labelled: _LabelledTables = ({}, {})
        for rule in selected:
            if rule.object_selector is not None:
                conditional = labelled[1] if rule.kind else labelled[0]
                what = rule.kind or rule.resource
                entries = conditional.setdefault((rule.group, what), {})
                entries.setdefault((rule.namespace, rule.name), []).append(
                    (rule.object_selector, rule.reason)
                )
                continue
            table, what = (by_kind, rule.kind) if rule.kind else (by_resource, rule.resource)
            reasons = table.setdefault((rule.group, what), {})
            reasons.setdefault((rule.namespace, rule.name), set()).add(rule.reason)
        self._by_resource = _freeze(by_resource)
        self._by_kind = _freeze(by_kind)
        self._labelled = labelled if (labelled[0] or labelled[1]) else None

    def reasons(
        self,
        *,
        group: str,
        resource: str,
        kind: str,
        namespace: str,
        name: str,
        labels: Mapping[str, str] | None = None,
    ) -> frozenset[str]:
        """The reasons of every rule matching the object (``namespace=""``: cluster-scoped).

        ``labels`` are the object's; rules with an ``objectSelector`` match only when their
        selector matches them (no labels given: an object without labels).
        """
        if namespace:
            keys: tuple[tuple[str, str], ...] = (
                (namespace, name),
                (namespace, WILDCARD),
                (WILDCARD, name),
                (WILDCARD, WILDCARD),
            )
        else:
            keys = (("", name), ("", WILDCARD))
        tables = (
            self._by_resource.get((group, resource)),
            self._by_resource.get((group, WILDCARD)),
            self._by_kind.get((group, kind)) if kind else None,
        )
        found: list[frozenset[str]] = []
        for table in tables:
            if table:
                for key in keys:
                    hit = table.get(key)
                    if hit:
                        found.append(hit)
        if self._labelled is not None:
            matched = _labelled_reasons(self._labelled, group, resource, kind, keys, labels)
            if matched:
                found.append(matched)
        if not found:
            return _NO_REASONS
        if len(found) == 1:
            return found[0]
        return frozenset().union(*found)


def _labelled_reasons(
    labelled: _LabelledTables,
    group: str,
    resource: str,
    kind: str,
    keys: tuple[tuple[str, str], ...],
    labels: Mapping[str, str] | None,
) -> frozenset[str]:
    """The reasons of the label-selecting rules under ``keys`` whose selector matches."""
    by_resource, by_kind = labelled
    tables = (
        by_resource.get((group, resource)),
        by_resource.get((group, WILDCARD)),
        by_kind.get((group, kind)) if kind else None,
    )
    matched: set[str] = set()
    for table in tables:
        if table:
            for key in keys:
                for selector, reason in table.get(key, ()):
                    if reason not in matched and selector.matches(labels):
                        matched.add(reason)
    return frozenset(matched)


def resolve(
    patterns: Mapping[ResourcePattern, tuple[bool, bool]],
    available: Iterable[ResourceInfo],
    preferred_versions: Mapping[str, str],
) -> tuple[ResourceInfo, ...]:
    """The resources to watch: one version of each resource some pattern selects.

    ``patterns`` maps each pattern to whether its rules select (cluster-scoped, namespaced)
    objects; a resource whose scope no rule can select is not worth a watch. Only resources
    that can be listed and watched qualify. Where several versions qualify, the group's
    preferred version wins, else the first in kubectl's version order.
    """
    by_group: dict[str, list[tuple[ResourcePattern, tuple[bool, bool]]]] = {}
    for pattern, scopes in patterns.items():
        by_group.setdefault(pattern.group, []).append((pattern, scopes))
    versions: dict[tuple[str, str], dict[str, ResourceInfo]] = {}
    for info in available:
        if not (info.listable and info.watchable):
            continue
        for pattern, (cluster, namespaced) in by_group.get(info.gvr.group, ()):
            if pattern.matches(info) and (namespaced if info.namespaced else cluster):
                key = (info.gvr.group, info.gvr.resource)
                versions.setdefault(key, {})[info.gvr.version] = info
                break
    chosen = []
    for (group, _), served in versions.items():
        preferred = preferred_versions.get(group)
        if preferred in served:
            chosen.append(served[preferred])
        else:
            chosen.append(served[min(served, key=names.version_priority)])
    return tuple(sorted(chosen, key=lambda info: info.gvr))
