"""RBAC rules derived from SyncerConfigs: enough for the syncer, and no more."""

from __future__ import annotations

import pytest

from syncpipe.bootstrap import rbac
from syncpipe.bootstrap.rbac import GroupResource
from syncpipe.config.edgesyncconfig import parse_edge_sync_config
from syncpipe.config.mergedselection import Selection
from syncpipe.config.syncerconfig import parse_syncer_config
from syncpipe.model.resources import GroupVersionResource, ResourceInfo

VERBS = frozenset({"create", "delete", "get", "list", "patch", "update", "watch"})
CHEESE = "cheese.example.com"


def info(group, resource, kind, *, namespaced=True, status=False):
    return ResourceInfo(
        gvr=GroupVersionResource(group, "v1", resource),
        kind=kind,
        namespaced=namespaced,
        status_subresource=status,
        verbs=VERBS,
    )


SERVED = (
    info("", "configmaps", "ConfigMap"),
    info("", "secrets", "Secret"),
    info("", "namespaces", "Namespace", namespaced=False, status=True),
    info("", "pods", "Pod", status=True),
    info("apps", "deployments", "Deployment", status=True),
    info("apps", "replicasets", "ReplicaSet", status=True),
    info(CHEESE, "cheddars", "Cheddar"),  # a CR without a status subresource
    info(CHEESE, "goudas", "Gouda", status=True),
)
CUSTOM = (GroupResource(CHEESE, "cheddars"), GroupResource(CHEESE, "goudas"))


def syncer_config(name, spec):
    return parse_syncer_config(
        {
            "apiVersion": "edge.kubestellar.io/v2alpha1",
            "kind": "SyncerConfig",
            "metadata": {"name": name},
            "spec": spec,
        }
    )


def resource(group, plural):
    return {"group": group, "resource": plural, "apiVersion": "v1"}


WORKLOAD = syncer_config(
    "workload",
    {
        "namespaceScope": {
            "namespaces": ["shop"],
            "resources": [resource("", "configmaps"), resource("apps", "deployments")],
        },
        "upsync": [
            {"apiGroup": "", "resources": ["persistentvolumeclaims"], "names": ["*"]},
        ],
    },
)


def needs(*configs, extra=()):
    return rbac.needs_of(Selection.from_configs(configs), served=SERVED, extra_upsync=extra)


def as_dicts(rules):
    return [r.to_dict() for r in rules]


def allowed(rules, verb, group, resource_name):
    """Whether ``rules`` allow ``verb`` on ``group``/``resource_name`` (RBAC's own matching)."""
    for rule in rules:
        if rule.non_resource_urls:
            continue
        if verb not in rule.verbs and "*" not in rule.verbs:
            continue
        if group not in rule.api_groups and "*" not in rule.api_groups:
            continue
        if resource_name in rule.resources or "*" in rule.resources:
            return True
        if "/" in resource_name and f"*/{resource_name.split('/', 1)[1]}" in rule.resources:
            return True
    return False


def test_needs_collect_downsync_and_upsync_resources_with_their_configs():
    found = needs(WORKLOAD, extra=[GroupResource("apps", "replicasets")])
    assert dict(found.downsync) == {
        GroupResource("", "configmaps"): {"SyncerConfig/workload"},
        GroupResource("", "namespaces"): {"SyncerConfig/workload"},
        GroupResource("apps", "deployments"): {"SyncerConfig/workload"},
    }
    assert dict(found.upsync) == {
        GroupResource("", "persistentvolumeclaims"): {"SyncerConfig/workload"},
        GroupResource("apps", "replicasets"): {"--upsync-resource"},
    }
    assert not found.reads_secrets


def test_edge_sync_config_kinds_are_resolved_through_discovery_or_reported():
    config = parse_edge_sync_config(
        {
            "apiVersion": "edge.kubestellar.io/v2alpha1",
            "kind": "EdgeSyncConfig",
            "metadata": {"name": "legacy"},
            "spec": {
                "downSyncedResources": [
                    {"group": CHEESE, "version": "v1", "kind": "Gouda", "name": "g1"},
                    {"group": "nowhere.example.com", "version": "v1", "kind": "Ghost", "name": "x"},
                ]
            },
        }
    )
    found = needs(config)
    assert GroupResource(CHEESE, "goudas") in found.downsync
    assert len(found.unresolved) == 1
    assert "Ghost" in found.unresolved[0]


def test_upstream_rules_read_what_downsync_needs_and_write_only_status():
    rules = rbac.upstream_rules(needs(WORKLOAD), served=SERVED, custom_resources=CUSTOM)
    for verb in ("get", "list", "watch"):
        assert allowed(rules, verb, "", "configmaps")
        assert allowed(rules, verb, "apps", "deployments")
        assert allowed(rules, verb, "", "namespaces")
        assert allowed(rules, verb, "apiextensions.k8s.io", "customresourcedefinitions")
        assert allowed(rules, verb, "edge.kubestellar.io", "syncerconfigs")
        assert allowed(rules, verb, "edge.kubestellar.io", "edgesyncconfigs")
    for verb in ("update", "patch"):
        assert allowed(rules, verb, "apps", "deployments/status")
        assert allowed(rules, verb, "edge.kubestellar.io", "syncerconfigs/status")
        assert not allowed(rules, verb, "apps", "deployments")
        assert not allowed(rules, verb, "", "configmaps")
        assert not allowed(rules, verb, "edge.kubestellar.io", "syncerconfigs")
    for verb in ("create", "delete"):
        assert not allowed(rules, verb, "", "configmaps")
        assert not allowed(rules, verb, "apps", "deployments")
    assert not allowed(rules, "get", "", "pods")
    assert {"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*"], "verbs": ["get"]} in (
        as_dicts(rules)
    )


def test_upstream_rules_write_only_the_upsynced_resources():
    rules = rbac.upstream_rules(
        needs(WORKLOAD, extra=[GroupResource("apps", "replicasets")]),
        served=SERVED,
        custom_resources=CUSTOM,
    )
    for verb in ("get", "list", "watch", "create", "update", "patch", "delete"):
        assert allowed(rules, verb, "", "persistentvolumeclaims")
        assert allowed(rules, verb, "apps", "replicasets")
    assert allowed(rules, "patch", "", "persistentvolumeclaims/status")
    assert allowed(rules, "create", "", "namespaces")
    assert not allowed(rules, "delete", "", "namespaces")
    assert not allowed(rules, "create", "", "configmaps")


def test_no_upsync_means_no_namespace_creation_upstream():
    only_down = syncer_config(
        "down", {"namespaceScope": {"namespaces": ["a"], "resources": [resource("", "pods")]}}
    )
    rules = rbac.upstream_rules(needs(only_down), served=SERVED, custom_resources=CUSTOM)
    assert not allowed(rules, "create", "", "namespaces")


def test_secrets_are_readable_only_when_a_config_selects_them():
    plain = rbac.upstream_rules(needs(WORKLOAD), served=SERVED)
    assert not allowed(plain, "get", "", "secrets")
    assert not allowed(plain, "list", "", "secrets")

    named = syncer_config(
        "named",
        {"namespaceScope": {"namespaces": ["a"], "resources": [resource("", "secrets")]}},
    )
    assert needs(named).reads_secrets
    assert allowed(rbac.upstream_rules(needs(named), served=SERVED), "list", "", "secrets")

    everything = syncer_config(
        "everything",
        {"namespaceScope": {"namespaces": ["a"], "resources": [resource("", "*")]}},
    )
    assert needs(everything).reads_secrets
    assert allowed(rbac.upstream_rules(needs(everything), served=SERVED), "list", "", "secrets")


def test_a_wildcard_resource_grants_its_group_only():
    config = syncer_config(
        "apps-all",
        {"namespaceScope": {"namespaces": ["a"], "resources": [resource("apps", "*")]}},
    )
    rules = rbac.upstream_rules(needs(config), served=SERVED)
    assert allowed(rules, "watch", "apps", "replicasets")
    assert allowed(rules, "patch", "apps", "replicasets/status")
    assert not allowed(rules, "watch", "", "configmaps")
    assert {"apiGroups": ["apps"], "resources": ["*"], "verbs": ["get", "list", "watch"]} in (
        as_dicts(rules)
    )


def test_custom_resources_without_a_status_subresource_get_patch_on_the_object():
    config = syncer_config(
        "cheese",
        {
            "clusterScope": [],
            "namespaceScope": {"namespaces": ["a"], "resources": [resource(CHEESE, "*")]},
        },
    )
    rules = rbac.upstream_rules(needs(config), served=SERVED, custom_resources=CUSTOM)
    assert allowed(rules, "patch", CHEESE, "cheddars")  # status goes through the object
    assert not allowed(rules, "update", CHEESE, "cheddars")
    assert not allowed(rules, "delete", CHEESE, "cheddars")
    assert not allowed(rules, "patch", CHEESE, "goudas")  # has /status: that is enough
    assert allowed(rules, "patch", CHEESE, "goudas/status")


def test_read_all_reads_every_group_but_not_secrets():
    rules = rbac.upstream_rules(needs(WORKLOAD), served=SERVED, read_all=True)
    assert allowed(rules, "watch", "", "pods")
    assert allowed(rules, "watch", "apps", "replicasets")
    assert allowed(rules, "watch", CHEESE, "goudas")
    assert allowed(rules, "patch", "apps", "replicasets/status")
    assert not allowed(rules, "get", "", "secrets")
    assert not allowed(rules, "create", "", "configmaps")
    assert not allowed(rules, "patch", "", "configmaps")


def test_downstream_rules_write_downsynced_and_read_upsynced_resources():
    rules = rbac.downstream_rules(needs(WORKLOAD, extra=[GroupResource("apps", "replicasets")]))
    for verb in ("get", "list", "watch", "create", "update", "patch", "delete"):
        assert allowed(rules, verb, "", "configmaps")
        assert allowed(rules, verb, "apps", "deployments")
        assert allowed(rules, verb, "", "namespaces")
    for verb in ("get", "list", "watch"):
        assert allowed(rules, verb, "", "persistentvolumeclaims")
        assert allowed(rules, verb, "apps", "replicasets")
    assert not allowed(rules, "create", "apps", "replicasets")
    assert not allowed(rules, "get", "", "secrets")
    assert not allowed(rules, "patch", "apps", "deployments/status")


def test_both_sides_may_follow_crds_and_apiservices_without_writing_them():
    for rules in (
        rbac.upstream_rules(needs(WORKLOAD), served=SERVED),
        rbac.downstream_rules(needs(WORKLOAD)),
    ):
        for group, plural in (
            ("apiextensions.k8s.io", "customresourcedefinitions"),
            ("apiregistration.k8s.io", "apiservices"),
        ):
            assert allowed(rules, "watch", group, plural)
            assert allowed(rules, "list", group, plural)
            assert not allowed(rules, "update", group, plural)


def test_downstream_admin_is_everything():
    rules = rbac.downstream_rules(needs(WORKLOAD), admin=True)
    assert allowed(rules, "delete", "", "secrets")
    assert allowed(rules, "escalate", "rbac.authorization.k8s.io", "clusterroles")


def test_rules_are_deterministic_and_each_has_a_reason():
    one = rbac.upstream_rules(needs(WORKLOAD), served=SERVED, custom_resources=CUSTOM)
    two = rbac.upstream_rules(
        needs(WORKLOAD), served=tuple(reversed(SERVED)), custom_resources=CUSTOM
    )
    assert one == two
    assert all(rule.reason for rule in one)
    text = rbac.reasons_text(one)
    assert text.count("\n") == len(one)
    assert text.startswith("1. discovery")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("apps/deployments", GroupResource("apps", "deployments")),
        ("/configmaps", GroupResource("", "configmaps")),
        ("core/configmaps", GroupResource("", "configmaps")),
        ("configmaps", GroupResource("", "configmaps")),
        ("cheese.example.com/*", GroupResource(CHEESE, "*")),
    ],
)
def test_group_resource_parses_the_flag(text, expected):
    assert GroupResource.parse(text) == expected


@pytest.mark.parametrize("text", ["apps/Deployment", "*/pods", "apps/deployments/status", "a b/c"])
def test_group_resource_rejects_garbage(text):
    with pytest.raises(ValueError, match="GROUP/RESOURCE"):
        GroupResource.parse(text)


def test_events_may_be_created_on_both_sides_but_never_read_or_changed():
    up = rbac.upstream_rules(needs(WORKLOAD), served=SERVED)
    down = rbac.downstream_rules(needs(WORKLOAD))
    for rules in (up, down):
        assert allowed(rules, "create", "", "events")
        assert not allowed(rules, "list", "", "events")
        assert not allowed(rules, "delete", "", "events")


def test_no_rule_is_granted_twice():
    found = needs(WORKLOAD, extra=[GroupResource("apps", "replicasets")])
    for rules in (
        rbac.upstream_rules(found, served=SERVED, custom_resources=CUSTOM),
        rbac.upstream_rules(found, served=SERVED, custom_resources=CUSTOM, read_all=True),
        rbac.downstream_rules(found),
    ):
        dicts = [repr(d) for d in as_dicts(rules)]
        assert len(set(dicts)) == len(dicts)


def test_conversions_grant_the_live_resource_downstream_only():
    config = parse_edge_sync_config(
        {
            "apiVersion": "edge.kubestellar.io/v2alpha1",
            "kind": "EdgeSyncConfig",
            "metadata": {"name": "renature"},
            "spec": {
                "downSyncedResources": [
                    {
                        "group": CHEESE,
                        "version": "v1",
                        "kind": "Cheddar",
                        "name": "*",
                        "namespace": "a",
                    },
                ],
                "conversions": [
                    {
                        "upstream": {"group": CHEESE, "kind": "Cheddar", "name": "*"},
                        "downstream": {"group": CHEESE, "kind": "Gouda", "name": "*"},
                    }
                ],
            },
        }
    )
    found = needs(config)
    assert dict(found.renatured) == {GroupResource(CHEESE, "goudas"): {"EdgeSyncConfig/renature"}}
    down = rbac.downstream_rules(found)
    assert allowed(down, "create", CHEESE, "goudas")
    up = rbac.upstream_rules(found, served=SERVED)
    assert not allowed(up, "get", CHEESE, "goudas")
    assert allowed(up, "get", CHEESE, "cheddars")


def test_carriers_and_emptiness_are_noticed():
    assert needs().is_empty
    carriers = syncer_config(
        "carried",
        {
            "namespaceScope": {
                "namespaces": ["a"],
                "resources": [resource("carrier.syncpipe.io", "objectcarriers")],
            }
        },
    )
    assert needs(carriers).carries_objects
    assert not needs(WORKLOAD).carries_objects


# -- reads scoped to the namespaces the syncer watches one by one ------------------------------


def scoped_needs(*configs, limit=10):
    return rbac.needs_of(
        Selection.from_configs(configs), served=SERVED, max_namespaced_watches=limit
    )


def test_resources_selected_in_few_named_namespaces_are_read_there_only():
    config = syncer_config(
        "a",
        {
            "namespaceScope": {
                "namespaces": ["shop", "web"],
                "resources": [resource("", "configmaps"), resource(CHEESE, "cheddars")],
            },
            "clusterScope": [resource("", "namespaces")],
        },
    )
    needs = scoped_needs(config)
    assert dict(needs.downsync_namespaces) == {
        GroupResource("", "configmaps"): ("shop", "web"),
        GroupResource(CHEESE, "cheddars"): ("shop", "web"),
    }
    cluster = rbac.upstream_rules(needs, served=SERVED, custom_resources=CUSTOM)
    granted = {r for rule in cluster for r in rule.resources}
    assert "configmaps" not in granted
    assert "cheddars" not in granted
    assert "namespaces" in granted  # Namespace objects are watched cluster-wide
    per_namespace = rbac.upstream_namespace_rules(needs, served=SERVED, custom_resources=CUSTOM)
    assert set(per_namespace) == {"shop", "web"}
    shop = {(rule.verbs, rule.api_groups, rule.resources) for rule in per_namespace["shop"]}
    assert (rbac.READ, ("",), ("configmaps",)) in shop
    assert (rbac.STATUS_WRITE, ("",), ("configmaps/status",)) in shop
    # A custom resource without /status has its status written through the object.
    assert (("patch",), (CHEESE,), ("cheddars",)) in shop


def test_a_wildcard_namespace_or_too_many_namespaces_keep_reads_cluster_wide():
    everywhere = syncer_config(
        "a", {"namespaceScope": {"namespaces": ["*"], "resources": [resource("", "configmaps")]}}
    )
    assert not scoped_needs(everywhere).downsync_namespaces
    many = syncer_config(
        "b",
        {
            "namespaceScope": {
                "namespaces": [f"n{i}" for i in range(3)],
                "resources": [resource("", "configmaps")],
            }
        },
    )
    assert not scoped_needs(many, limit=2).downsync_namespaces
    assert scoped_needs(many, limit=3).downsync_namespaces
    assert not scoped_needs(many, limit=0).downsync_namespaces
    # Another config selecting the resource in every namespace widens it for all.
    assert not scoped_needs(many, everywhere, limit=3).downsync_namespaces


def test_read_all_and_cluster_scoped_resources_never_get_roles():
    config = syncer_config(
        "a",
        {
            "namespaceScope": {"namespaces": ["shop"], "resources": [resource("", "configmaps")]},
            "clusterScope": [resource(CHEESE, "goudas")],
        },
    )
    needs = scoped_needs(config)
    assert GroupResource(CHEESE, "goudas") not in needs.downsync_namespaces
    assert rbac.upstream_namespace_rules(needs, served=SERVED, read_all=True) == {}
