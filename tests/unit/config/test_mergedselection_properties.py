"""Properties of merging configs into a Selection, and of parsing them.

The reference matchers below decide selection straight from a config's structure, the way
the reference describes each section, without going through rules or indexes; the selection
must agree with them for every generated config list and object.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from syncpipe.config.edgesyncconfig import EdgeSyncConfig, EdgeSyncResource
from syncpipe.config.mergedselection import Selection
from syncpipe.config.syncerconfig import AnyConfig, SyncerConfig, parse_config
from syncpipe.model.resources import GroupVersionResource

from .strategies import any_configs, config_lists, no_deadline, object_keys


def _hit(value: str, allowed: tuple[str, ...]) -> bool:
    return value in allowed or "*" in allowed


def _edge_hit(entry: EdgeSyncResource, group: str, kind: str, namespace: str, name: str) -> bool:
    if entry.group != group or entry.kind != kind or not _hit(name, (entry.name,)):
        return False
    if not namespace:
        return entry.namespace == ""
    return entry.namespace != "" and _hit(namespace, (entry.namespace,))


def expected_downsync(
    config: AnyConfig, group: str, resource: str, kind: str, namespace: str, name: str
) -> bool:
    if isinstance(config, EdgeSyncConfig):
        return any(_edge_hit(e, group, kind, namespace, name) for e in config.down_synced)
    scope = config.namespace_scope
    if namespace:
        if _hit(namespace, scope.namespaces) and any(
            r.group == group and _hit(resource, (r.resource,)) for r in scope.resources
        ):
            return True
        for entry in config.namespaced_objects:
            if entry.resource.group == group and _hit(resource, (entry.resource.resource,)):
                for by_ns in entry.objects_by_namespace:
                    if _hit(namespace, (by_ns.namespace,)) and _hit(name, by_ns.names):
                        return True
        return False
    if group == "" and resource == "namespaces":
        needed = scope.namespaces + tuple(
            by_ns.namespace
            for entry in config.namespaced_objects
            for by_ns in entry.objects_by_namespace
            if by_ns.names
        )
        if _hit(name, needed):
            return True
    for entry in config.cluster_scope:
        same_resource = entry.resource.group == group and _hit(resource, (entry.resource.resource,))
        if same_resource and (entry.objects is None or _hit(name, entry.objects)):
            return True
    return False


def expected_upsync(
    config: AnyConfig, group: str, resource: str, kind: str, namespace: str, name: str
) -> bool:
    if isinstance(config, EdgeSyncConfig):
        return any(_edge_hit(e, group, kind, namespace, name) for e in config.up_synced)
    return any(
        u.api_group == group
        and _hit(resource, u.resources)
        and _hit(name, u.names)
        and (not namespace or _hit(namespace, u.namespaces))
        for u in config.upsync
    )


@no_deadline
@given(configs=config_lists, key=object_keys)
def test_downsync_reasons_are_the_configs_whose_sections_select_the_object(configs, key):
    group, resource, kind, namespace, name = key
    selection = Selection.from_configs(configs)
    expected = {c.ref for c in configs if expected_downsync(c, *key)}
    gvr = GroupVersionResource(group, "v1", resource)
    assert selection.downsync_reasons(gvr, namespace, name, kind=kind) == expected


@no_deadline
@given(configs=config_lists, key=object_keys)
def test_upsync_reasons_are_the_configs_whose_sections_select_the_object(configs, key):
    group, resource, kind, namespace, name = key
    selection = Selection.from_configs(configs)
    expected = {c.ref for c in configs if expected_upsync(c, *key)}
    reasons = selection.upsync_reasons(
        group, resource, namespace, name, namespaced=bool(namespace), kind=kind
    )
    assert reasons == expected


@no_deadline
@given(configs=config_lists, key=object_keys)
def test_without_a_kind_only_resource_based_entries_match(configs, key):
    group, resource, _, namespace, name = key
    selection = Selection.from_configs(configs)
    by_resource = [c for c in configs if isinstance(c, SyncerConfig)]
    expected = {
        c.ref for c in by_resource if expected_downsync(c, group, resource, "", namespace, name)
    }
    gvr = GroupVersionResource(group, "v1", resource)
    assert selection.downsync_reasons(gvr, namespace, name) == expected


@no_deadline
@given(configs=config_lists, data=st.data())
def test_merge_is_order_independent(configs, data):
    shuffled = data.draw(st.permutations(configs))
    merged = Selection.from_configs(configs)
    other = Selection.from_configs(shuffled)
    assert other == merged
    assert hash(other) == hash(merged)
    assert other.downsync_resource_patterns() == merged.downsync_resource_patterns()
    assert other.upsync_resource_patterns() == merged.upsync_resource_patterns()
    assert other.conversions == merged.conversions
    assert other.overlaps() == merged.overlaps()


@no_deadline
@given(configs=config_lists)
def test_merging_the_configs_twice_changes_nothing(configs):
    assert Selection.from_configs([*configs, *configs]) == Selection.from_configs(configs)


@no_deadline
@given(config=any_configs)
def test_merging_a_config_with_itself_changes_nothing(config):
    once = Selection.from_configs([config])
    assert Selection.from_configs([config, config]) == once
    assert Selection.from_configs([config, config]).conversions == once.conversions


@no_deadline
@given(configs=config_lists, extra=any_configs)
def test_adding_a_config_that_selects_something_new_changes_the_selection(configs, extra):
    before = Selection.from_configs(configs)
    after = Selection.from_configs([*configs, extra])
    new_conversions = set(after.conversions) - set(before.conversions)
    if after.rules - before.rules or new_conversions or extra.ref not in before.config_refs:
        assert after != before
    else:
        assert after == before


@no_deadline
@given(config=any_configs)
def test_a_config_survives_a_round_trip_through_its_object_form(config):
    assert parse_config(config.to_dict()) == config


@no_deadline
@given(key=object_keys, configs=config_lists)
def test_cluster_scoped_upsync_ignores_the_namespace(key, configs):
    group, resource, kind, namespace, name = key
    selection = Selection.from_configs(configs)
    ignored = selection.upsync_reasons(group, resource, namespace, name, False, kind=kind)
    assert ignored == selection.upsync_reasons(group, resource, "", name, False, kind=kind)
