"""Every condition reason on a SyncerConfig is set, then cleared, by ``syncpipe run`` (a subprocess)
on the real control planes: the audit the README's condition table points to.

Each test drives one reason: the situation that sets it, then the fix that clears it, with the
syncer doing its normal work around it (the config's other objects keep flowing).
"""

from __future__ import annotations

from typing import Any

import pytest

from syncpipe.bootstrap import rbac
from syncpipe.model.resources import GroupVersionResource
from tests.e2e import helpers as h

pytestmark = [pytest.mark.apiserver, pytest.mark.slow]

QUOTAS = GroupVersionResource("", "v1", "resourcequotas")
EVENTS = GroupVersionResource("", "v1", "events")
CM_ENTRY = h.resource("", "configmaps")


def _config_events(up_rest, name: str, reason: str) -> list[dict[str, Any]]:
    """Events about SyncerConfig ``name`` (cluster-scoped: their Events live in ``default``)."""
    items, _ = up_rest.list(EVENTS, "default")
    return [
        e
        for e in items
        if e["involvedObject"].get("kind") == "SyncerConfig"
        and e["involvedObject"].get("name") == name
        and e.get("reason") == reason
    ]


def _wait_event(up_rest, name: str, reason: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = h.wait_until(
        lambda: _config_events(up_rest, name, reason),
        timeout=h.SYNC_TIMEOUT,
        message=f"no {reason} Event on SyncerConfig {name}",
    )
    return found[0]


def _ready_again(up_rest, name: str) -> None:
    h.wait_condition(up_rest, name, "Ready", "True", "Syncing")
    h.wait_condition(up_rest, name, "APIsAvailable", "True", "Served")


def _with_configmap(up_rest, unique_name: str, ns: str, name: str = "cm") -> None:
    up_rest.create(h.NS, "", h.namespace(ns, unique_name))
    up_rest.create(h.CM, ns, h.configmap(ns, name, {"v": "1"}, unique_name))


def test_entries_naming_unserved_apis_are_listed_per_side_until_the_apis_appear(
    syncer_cli, up_rest, down_rest, unique_name
):
    """A config names a CRD's resource installed nowhere (downsync) and one the edge does not
    serve (upsync): APIsAvailable=False NotServed lists exactly those, per side; Ready=False
    PartlyInactive; an APIsNotServed Event on the config; the rest syncs. Installing the CRDs
    clears both (APIsServed Event) and the custom resources start syncing by themselves."""
    ns, group, up_group = unique_name, h.group_for(unique_name), h.group_for(unique_name, "up.io")
    _with_configmap(up_rest, unique_name, ns)
    crd_name = f"widgets.{group}"
    spec = {
        "clusterScope": [
            {
                **h.resource("apiextensions.k8s.io", "customresourcedefinitions"),
                "objects": [crd_name],
            }
        ],
        "upsync": [
            {"apiGroup": up_group, "resources": ["reports"], "namespaces": [ns], "names": ["*"]}
        ],
    }
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.namespace_scope_config(
            unique_name, [ns], [CM_ENTRY, h.resource(group, "widgets", "v1alpha1")], **spec
        ),
    )
    syncer_cli()

    listing = (
        f"not served upstream: widgets.{group}/v1alpha1; not served downstream: reports.{up_group}"
    )
    apis = h.wait_condition(up_rest, unique_name, "APIsAvailable", "False", "NotServed")
    assert apis["message"] == listing
    ready = h.wait_condition(up_rest, unique_name, "Ready", "False", "PartlyInactive")
    assert listing in ready["message"]
    event = _wait_event(up_rest, unique_name, "APIsNotServed")
    assert event["type"] == "Warning"
    assert listing in event["message"]
    h.wait_get(down_rest, h.CM, ns, "cm")  # the served part of the config syncs meanwhile

    h.create_crd_and_wait(
        up_rest, h.crd(group, "widgets", "Widget", unique_name, scope="Namespaced")
    )
    h.create_crd_and_wait(
        down_rest, h.crd(up_group, "reports", "Report", unique_name, scope="Namespaced")
    )
    widgets = GroupVersionResource(group, "v1alpha1", "widgets")
    up_rest.create(
        widgets,
        ns,
        h.custom_object(group, "Widget", "w", unique_name, namespace=ns, spec={"foo": "x"}),
    )
    _ready_again(up_rest, unique_name)
    assert _wait_event(up_rest, unique_name, "APIsServed")["type"] == "Normal"
    h.wait_get(down_rest, widgets, ns, "w", timeout=h.SLOW_TIMEOUT)


def test_copies_waiting_for_an_api_the_edge_does_not_serve_are_listed_until_it_does(
    syncer_cli, up_rest, down_rest, unique_name
):
    """The CRD is installed upstream only: its objects cannot be created downstream, which
    APIsAvailable (downstream side) and Ready=PartlyInactive say until the edge serves it."""
    ns, group = unique_name, h.group_for(unique_name)
    manifest = h.crd(group, "widgets", "Widget", unique_name, scope="Namespaced")
    widgets = h.create_crd_and_wait(up_rest, manifest)
    _with_configmap(up_rest, unique_name, ns)
    up_rest.create(
        widgets,
        ns,
        h.custom_object(group, "Widget", "w", unique_name, namespace=ns, spec={"foo": "x"}),
    )
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.namespace_scope_config(
            unique_name, [ns], [CM_ENTRY, h.resource(group, "widgets", "v1alpha1")]
        ),
    )
    syncer_cli()

    apis = h.wait_condition(up_rest, unique_name, "APIsAvailable", "False", "NotServed")
    assert apis["message"] == (
        f"not served downstream: kind Widget.{group}/v1alpha1 (copies wait for it)"
    )
    h.wait_condition(up_rest, unique_name, "Ready", "False", "PartlyInactive")
    h.wait_get(down_rest, h.CM, ns, "cm")

    h.create_crd_and_wait(down_rest, manifest)
    h.wait_get(down_rest, widgets, ns, "w", timeout=h.SLOW_TIMEOUT)
    _ready_again(up_rest, unique_name)


def test_an_entry_misusing_scope_is_a_selection_problem_until_the_config_is_fixed(
    syncer_cli, up_rest, down_rest, unique_name
):
    ns = unique_name
    _with_configmap(up_rest, unique_name, ns)
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.namespace_scope_config(unique_name, [ns], [CM_ENTRY], clusterScope=[CM_ENTRY]),
    )
    syncer_cli()

    ready = h.wait_condition(up_rest, unique_name, "Ready", "False", "SelectionProblems")
    assert "configmaps is namespaced" in ready["message"], ready["message"]
    assert "$.spec.clusterScope[0]" in ready["message"], ready["message"]
    h.wait_get(down_rest, h.CM, ns, "cm")

    up_rest.merge_patch(h.SYNCER_CONFIGS, "", unique_name, {"spec": {"clusterScope": None}})
    _ready_again(up_rest, unique_name)


def test_a_malformed_config_is_invalid_until_it_is_fixed(
    syncer_cli, up_rest, down_rest, unique_name
):
    ns = unique_name
    _with_configmap(up_rest, unique_name, ns)
    entry = {**CM_ENTRY, "objectsByNamespace": [{"namespace": ns, "names": [".."]}]}
    up_rest.create(
        h.SYNCER_CONFIGS, "", h.syncer_config(unique_name, {"namespacedObjects": [entry]})
    )
    syncer_cli()

    ready = h.wait_condition(up_rest, unique_name, "Ready", "False", "InvalidConfig")
    assert "'..'" in ready["message"], ready["message"]
    assert "namespacedObjects" in ready["message"], ready["message"]

    fixed = {**CM_ENTRY, "objectsByNamespace": [{"namespace": ns, "names": ["cm"]}]}
    up_rest.merge_patch(h.SYNCER_CONFIGS, "", unique_name, {"spec": {"namespacedObjects": [fixed]}})
    _ready_again(up_rest, unique_name)
    h.wait_get(down_rest, h.CM, ns, "cm")


def test_objects_the_edge_refuses_are_reported_until_they_sync(
    syncer_cli, up_rest, down_rest, unique_name
):
    """A downstream quota refuses a ConfigMap (403): Ready=False ObjectsRejected naming it;
    lifting the quota lets it through (retried) and clears the condition."""
    ns = unique_name
    _with_configmap(up_rest, unique_name, ns)
    up_rest.create(h.SYNCER_CONFIGS, "", h.namespace_scope_config(unique_name, [ns], [CM_ENTRY]))
    syncer_cli()
    h.wait_get(down_rest, h.CM, ns, "cm")
    _ready_again(up_rest, unique_name)
    h.wait_get(down_rest, h.CM, ns, "kube-root-ca.crt")
    used = len(down_rest.list(h.CM, ns)[0])
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "cms"},
        "spec": {"hard": {"count/configmaps": str(used)}},
    }
    down_rest.create(QUOTAS, ns, quota)
    h.wait_field(down_rest, QUOTAS, ns, "cms", lambda q: (q.get("status") or {}).get("used"))

    up_rest.create(h.CM, ns, h.configmap(ns, "over-quota", {"v": "1"}, unique_name))
    ready = h.wait_condition(up_rest, unique_name, "Ready", "False", "ObjectsRejected")
    assert "over-quota" in ready["message"], ready["message"]

    down_rest.delete(QUOTAS, ns, "cms")
    h.wait_get(down_rest, h.CM, ns, "over-quota", timeout=h.SLOW_TIMEOUT)
    _ready_again(up_rest, unique_name)


# What syncer-gen grants upstream for configs that select nothing: discovery, the configs and
# their status, CRDs, namespaces, Events; no data.
BASE_RULES = rbac.rule_dicts(rbac.upstream_rules(rbac.SyncNeeds(), served=()))
CONFIGMAP_RULES = [
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}
]


def _grant(up_rest, name: str, rules: list[dict[str, Any]], sa_namespace: str, test: str) -> None:
    meta = {"name": name, "labels": h.labels(test)}
    up_rest.create(
        h.CLUSTER_ROLES,
        "",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": meta,
            "rules": rules,
        },
    )
    up_rest.create(
        h.CLUSTER_ROLE_BINDINGS,
        "",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": meta,
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": name,
            },
            "subjects": [{"kind": "ServiceAccount", "name": "syncer", "namespace": sa_namespace}],
        },
    )


def test_a_side_that_refuses_to_be_read_is_reported_until_access_is_granted(
    syncer_cli, upstream, up_rest, down_rest, unique_name
):
    """The syncer's upstream identity may not read the ConfigMaps its config selects:
    Ready=False SourceUnavailable (403) and nothing is deleted downstream; granting the read
    clears it and the ConfigMap arrives."""
    ns, identity = unique_name, f"{unique_name}-id"
    _with_configmap(up_rest, unique_name, ns)
    up_rest.create(h.SYNCER_CONFIGS, "", h.namespace_scope_config(unique_name, [ns], [CM_ENTRY]))
    token = upstream.service_account_token(identity, "syncer")
    up_rest.merge_patch(h.NS, "", identity, {"metadata": {"labels": h.labels(unique_name)}})
    _grant(up_rest, f"{unique_name}-base", BASE_RULES, identity, unique_name)
    kubeconfig = upstream.kubeconfig_for_token(token)
    syncer_cli("--upstream-kubeconfig", str(kubeconfig))

    ready = h.wait_condition(up_rest, unique_name, "Ready", "False", "SourceUnavailable")
    assert "configmaps" in ready["message"], ready["message"]
    assert "forbidden" in ready["message"].lower(), ready["message"]

    _grant(up_rest, f"{unique_name}-data", CONFIGMAP_RULES, identity, unique_name)
    h.wait_get(down_rest, h.CM, ns, "cm", timeout=h.SLOW_TIMEOUT)
    _ready_again(up_rest, unique_name)


def test_deletions_held_by_the_circuit_breaker_are_reported_until_confirmed(
    syncer_cli, up_rest, down_rest, unique_name
):
    """Polling (every deletion is inferred from a list): most ConfigMaps vanish from the upstream
    list at once; the breaker lets its allowance through and holds the rest, DeletionsHeld=True
    says how many. Restarting with --confirm-held-deletions deletes them and clears it."""
    ns, count, vanished = unique_name, 20, 15
    up_rest.create(h.NS, "", h.namespace(ns, unique_name))
    names = [f"cm-{i:02d}" for i in range(count)]
    for name in names:
        up_rest.create(h.CM, ns, h.configmap(ns, name, {"v": "1"}, unique_name))
    up_rest.create(h.SYNCER_CONFIGS, "", h.namespace_scope_config(unique_name, [ns], [CM_ENTRY]))
    polling = ("--source", "poll", "--poll-interval", "2s")
    first = syncer_cli(*polling)
    for name in names:
        h.wait_get(down_rest, h.CM, ns, name)
    _ready_again(up_rest, unique_name)

    for name in names[:vanished]:
        up_rest.delete(h.CM, ns, name)
    held = h.wait_condition(up_rest, unique_name, "DeletionsHeld", "True", "CircuitBreakerTripped")
    assert "--confirm-held-deletions" in held["message"], held["message"]
    remaining = {o["metadata"]["name"] for o in down_rest.list(h.CM, ns)[0]} & set(names)
    assert len(remaining) > count - vanished, "the breaker let every deletion through"

    first.stop()
    syncer_cli(*polling, "--confirm-held-deletions")
    for name in names[:vanished]:
        h.wait_gone(down_rest, h.CM, ns, name, timeout=h.SLOW_TIMEOUT)
    h.wait_until(
        lambda: h.condition(up_rest, unique_name, "DeletionsHeld") is None,
        timeout=h.SLOW_TIMEOUT,
        message="DeletionsHeld still reported after the confirmed restart",
    )
    _ready_again(up_rest, unique_name)
