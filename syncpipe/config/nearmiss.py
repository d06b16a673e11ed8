"""Why no config selects an object: the entries that came closest, and what each missed.

``syncpipe explain`` answers "why is my object not synced?". The selection itself
(``Selection.downsync_reasons``) only says *which* configs select an object; when none does,
this module compares the object with every entry of the direction and names what differs —
the resource, the scope, the namespace, the name, the labels — so the closest entries can be
shown first. Pure: rules and an object's identity in, findings out.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from syncpipe.config.mergedselection import Selection
from syncpipe.config.names import WILDCARD
from syncpipe.config.rules import SelectionRule
from syncpipe.model.events import Direction
from syncpipe.model.resources import ResourceInfo

MAX_NEAR_MISSES = 5
"""How many entries ``near_misses`` returns at most: the closest ones."""


@attrs.frozen(kw_only=True)
class NearMiss:
    """One config entry that does not select the object, and every way it misses.

    ``config`` is the config's ref (``SyncerConfig/name``), ``paths`` where the entry is in it
    (``$.spec.namespaceScope.resources[0]``), ``misses`` one sentence per difference.
    """

    config: str
    paths: tuple[str, ...]
    misses: tuple[str, ...]


def _resource_misses(rule: SelectionRule, info: ResourceInfo) -> str | None:
    same = rule.group == info.gvr.group and (
        rule.kind == info.kind if rule.kind else rule.resource in (WILDCARD, info.gvr.resource)
    )
    return None if same else f"selects {rule.what}, not {info.gvr.group_resource}"


def _scope_misses(rule: SelectionRule, info: ResourceInfo) -> str | None:
    if info.namespaced and not rule.namespace:
        return (
            f"lists {rule.what} among cluster-scoped objects, but {info.kind} is namespaced "
            "(name it under namespaceScope or namespacedObjects)"
        )
    if not info.namespaced and rule.namespace:
        return (
            f"lists {rule.what} among namespaced objects, but {info.kind} is cluster-scoped "
            "(name it under clusterScope)"
        )
    return None


def misses_of(
    rule: SelectionRule,
    *,
    info: ResourceInfo,
    namespace: str,
    name: str,
    labels: Mapping[str, str],
) -> tuple[str, ...]:
    """Every way ``rule`` fails to select the object (``()``: it selects it)."""
    resource = _resource_misses(rule, info)
    if resource is not None:
        return (resource,)  # a different resource: the rest would only be noise
    found = [m for m in (_scope_misses(rule, info),) if m is not None]
    if info.namespaced and rule.namespace and rule.namespace not in (WILDCARD, namespace):
        found.append(f"selects namespace {rule.namespace!r}, not {namespace!r}")
    if rule.name not in (WILDCARD, name):
        found.append(f"selects the name {rule.name!r}, not {name!r}")
    selector = rule.object_selector
    if selector is not None and not selector.matches(labels):
        shown = ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "none"
        found.append(f"objectSelector {selector.query!r} does not match its labels ({shown})")
    return tuple(found)


def near_misses(
    selection: Selection,
    direction: Direction,
    *,
    info: ResourceInfo,
    namespace: str,
    name: str,
    labels: Mapping[str, str],
    limit: int = MAX_NEAR_MISSES,
) -> tuple[NearMiss, ...]:
    """The ``limit`` entries of ``direction`` closest to selecting the object, fewest
    differences first. Entries about other resources only when none is about its resource."""
    ranked: list[tuple[tuple[int, int], NearMiss]] = []
    for rule in selection.rules_for(direction):
        misses = misses_of(rule, info=info, namespace=namespace, name=name, labels=labels)
        if not misses:
            continue
        elsewhere = int(_resource_misses(rule, info) is not None)
        miss = NearMiss(
            config=rule.reason,
            paths=tuple(sorted(selection.paths.get(rule, ()))),
            misses=misses,
        )
        ranked.append(((elsewhere, len(misses)), miss))
    ranked.sort(key=lambda item: item[0])
    about_it = any(rank[0] == 0 for rank, _ in ranked)
    unique: list[NearMiss] = []
    for (elsewhere_rank, _), miss in ranked:
        if about_it and elsewhere_rank:
            break
        if miss not in unique:
            unique.append(miss)
    return tuple(unique[:limit])
