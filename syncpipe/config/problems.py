"""Configuration problems only the merged selection (and discovery) can reveal.

A single config can be well-formed and still be wrong in context: a namespaced resource
listed under ``clusterScope`` (known only from discovery), or an object one config
downsyncs while another upsyncs it, so that each side would overwrite the other forever (the
original had no guard against that ping-pong). These checks report such problems with the
config and path of the entry at fault; they run when configs or discovery change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import attrs

from syncpipe import errors
from syncpipe.config.names import WILDCARD
from syncpipe.config.rules import SelectionRule
from syncpipe.model.events import Direction
from syncpipe.model.resources import ResourceInfo

PathOf = Callable[[SelectionRule], str]
"""Where a rule came from in its config, e.g. ``$.spec.clusterScope[0]``."""


@attrs.frozen(kw_only=True)
class SelectionProblem:
    """A problem found in a merged selection: which config, where in it, and what."""

    config: str  # a config ref, e.g. "SyncerConfig/edge-1"
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.config}: {self.message} @ {self.path}"


def problems_error(problems: Iterable[SelectionProblem]) -> errors.ConfigError:
    """One ``ConfigError`` for problems that may span configs (paths prefixed by the config)."""
    return errors.ConfigError([(f"{p.config} {p.path}", p.message) for p in problems])


def _sorted(found: Iterable[SelectionProblem]) -> tuple[SelectionProblem, ...]:
    return tuple(sorted(found, key=lambda p: (p.config, p.path, p.message)))


def scope_problems(
    rules: Iterable[SelectionRule],
    *,
    direction: Direction,
    available: Iterable[ResourceInfo],
    path_of: PathOf,
) -> tuple[SelectionProblem, ...]:
    """Entries of ``direction`` that select nothing because of their resource's scope.

    Upsync entries by resource cannot misuse scope (namespaces apply to namespaced resources
    only, by definition), so for upsync only EdgeSyncConfig entries, by kind, are checked.
    Wildcard resources are not checked either: ``"*"`` under ``namespaceScope`` means "the
    namespaced ones". Resources not served (yet) are no problem; they may appear later.
    """
    infos = [i for i in available if "/" not in i.gvr.resource]
    found: set[SelectionProblem] = set()
    for rule in rules:
        if rule.direction is not direction or rule.implied or rule.resource == WILDCARD:
            continue
        if direction is Direction.UP and not rule.kind:
            continue
        pattern = attrs.evolve(rule.pattern, version="")
        matching = [i for i in infos if pattern.matches(i)]
        message = _scope_message(rule, matching) if matching else None
        if message is not None:
            found.add(SelectionProblem(config=rule.reason, path=path_of(rule), message=message))
    return _sorted(found)


def _scope_message(rule: SelectionRule, matching: list[ResourceInfo]) -> str | None:
    by_kind = bool(rule.kind)
    if rule.namespace and not any(i.namespaced for i in matching):
        fix = "leave namespace empty" if by_kind else "list it under clusterScope"
        return (
            f"{rule.what} is cluster-scoped but this entry selects objects in namespaces, "
            f"so it selects nothing; {fix}"
        )
    if not rule.namespace and all(i.namespaced for i in matching):
        fix = (
            'set namespace (a name or "*")'
            if by_kind
            else "list it under namespaceScope or namespacedObjects"
        )
        return (
            f"{rule.what} is namespaced but this entry selects cluster-scoped objects, "
            f"so it selects nothing; {fix}"
        )
    if not any(i.listable and i.watchable for i in matching):
        return f"{rule.what} cannot be listed and watched, so it cannot be synced"
    return None


def _compatible(a: str, b: str) -> bool:
    return a == b or WILDCARD in (a, b)


def _same_resource(
    down: SelectionRule, up: SelectionRule, kinds: Mapping[tuple[str, str], set[str]]
) -> bool:
    if down.kind and up.kind:
        return down.kind == up.kind
    if not down.kind and not up.kind:
        return _compatible(down.resource, up.resource)
    by_kind, by_resource = (down, up) if down.kind else (up, down)
    resources = kinds.get((by_kind.group, by_kind.kind), set())
    return by_resource.resource == WILDCARD or by_resource.resource in resources


def overlaps(
    rules: Iterable[SelectionRule],
    *,
    available: Iterable[ResourceInfo],
    path_of: PathOf,
) -> tuple[SelectionProblem, ...]:
    """Every upsync entry that can select an object some downsync entry selects too.

    Reported against the upsync entry, naming the downsync entry. Entries by kind are
    compared with entries by resource only where ``available`` says which resource has the
    kind; without discovery such pairs are not reported. With discovery, entries that select
    nothing because of their resource's scope are left out (``scope_problems`` reports them).
    """
    kinds: dict[tuple[str, str], set[str]] = {}
    scopes: dict[tuple[str, str], set[bool]] = {}  # (group, resource or kind) -> namespaced?
    for info in available:
        if "/" in info.gvr.resource:
            continue
        kinds.setdefault((info.gvr.group, info.kind), set()).add(info.gvr.resource)
        scopes.setdefault((info.gvr.group, info.gvr.resource), set()).add(info.namespaced)
        scopes.setdefault((info.gvr.group, info.kind), set()).add(info.namespaced)
    downs: dict[str, list[SelectionRule]] = {}
    ups: list[SelectionRule] = []
    for rule in rules:
        if rule.direction is Direction.DOWN:
            downs.setdefault(rule.group, []).append(rule)
        else:
            ups.append(rule)
    found: set[SelectionProblem] = set()
    for up in ups:
        for down in downs.get(up.group, ()):
            if bool(up.namespace) != bool(down.namespace):
                continue  # one selects cluster-scoped objects, the other namespaced ones
            if not (_compatible(up.namespace, down.namespace) and _compatible(up.name, down.name)):
                continue
            if not _same_resource(down, up, kinds):
                continue
            if _selects_nothing(down, scopes) or _selects_nothing(up, scopes):
                continue  # reported by scope_problems instead
            message = (
                f"upsyncs {_describe(up, down)}, which {down.reason} downsyncs "
                f"(at {path_of(down)}); an object must not be synced both ways"
            )
            found.add(SelectionProblem(config=up.reason, path=path_of(up), message=message))
    return _sorted(found)


def _selects_nothing(rule: SelectionRule, scopes: Mapping[tuple[str, str], set[bool]]) -> bool:
    """Whether discovery shows the rule's resource has no objects of the rule's scope."""
    if rule.resource == WILDCARD:
        return False
    known = scopes.get((rule.group, rule.kind or rule.resource))
    return known is not None and bool(rule.namespace) not in known


def _breadth(rule: SelectionRule) -> int:
    """How broadly a rule names its resource: by plural, by kind, or every resource."""
    if rule.resource == WILDCARD:
        return 2
    return 1 if rule.kind else 0


def _describe(up: SelectionRule, down: SelectionRule) -> str:
    """The objects two overlapping rules share, in words, taking the narrower of each part."""
    narrow = min((up, down), key=_breadth)
    name = up.name if up.name != WILDCARD else down.name
    namespace = up.namespace if up.namespace != WILDCARD else down.namespace
    objects = "every object" if name == WILDCARD else f"object {name!r}"
    if not namespace:
        return f"{objects} of {narrow.what}"
    where = "any namespace" if namespace == WILDCARD else f"namespace {namespace!r}"
    return f"{objects} of {narrow.what} in {where}"
