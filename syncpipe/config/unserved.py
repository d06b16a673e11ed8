"""Config entries naming resources their source side does not serve (yet).

A SyncerConfig may name a resource before its API exists, typically a CRD not installed yet:
that entry then syncs nothing, and the operator should hear so (condition ``APIsAvailable``),
not find out by missing objects. When the API appears the entry starts syncing by itself, and
the next discovery says it is served again. The source side is the one that matters here:
downsync entries are looked up upstream, upsync entries downstream.

Served means: discovery lists a resource the entry's pattern matches, whatever its scope or
verbs; a served resource that cannot be used (wrong scope, no list/watch) is a selection
problem instead (``syncpipe.config.problems``). Implied Namespace entries are always served.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from syncpipe.config.rules import ResourcePattern, SelectionRule
from syncpipe.model.events import Direction
from syncpipe.model.resources import ResourceInfo


def describe(rule: SelectionRule) -> str:
    """The resource an entry names, as messages show it: ``widgets.my.domain/v1alpha1``."""
    return f"{rule.what}/{rule.version}" if rule.version else rule.what


def unserved_by_config(
    rules: Iterable[SelectionRule],
    *,
    direction: Direction,
    available: Iterable[ResourceInfo],
) -> Mapping[str, tuple[str, ...]]:
    """Per config ref, the resources its ``direction`` entries name that ``available`` (the
    source side's discovery) does not serve; sorted, each once. Configs with none are absent."""
    infos = [i for i in available if "/" not in i.gvr.resource]
    served: dict[ResourcePattern, bool] = {}
    found: dict[str, set[str]] = {}
    for rule in rules:
        if rule.direction is not direction or rule.implied:
            continue
        pattern = rule.pattern
        if pattern not in served:
            served[pattern] = any(pattern.matches(info) for info in infos)
        if not served[pattern]:
            found.setdefault(rule.reason, set()).add(describe(rule))
    return MappingProxyType({ref: tuple(sorted(found[ref])) for ref in sorted(found)})
