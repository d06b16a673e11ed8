"""KubeStellar's e2e scenario 4.7 ("turbo for deletion"): de-selection, upstream deletion and an
upstream API that disappears.

The original deletes the APIBinding that served ``deployments`` upstream (kcp). Core
Deployments cannot vanish from a plain API server, so the CRD variants stand in for it: a CR
of a CRD that exists on both sides independently (the syncer does not own the downstream
CRD) is selected, then its API disappears upstream (the CRD is deleted). Whatever the order,
and also while the syncer is down, the owned downstream CR must be deleted and the downstream
Namespace must stay (its upstream namesake still exists).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import helpers as h

pytestmark = [pytest.mark.apiserver, pytest.mark.slow]

NAMESPACE_SCOPE_RESOURCES = [
    h.resource("networking.k8s.io", "ingresses"),
    h.resource("", "pods"),
    h.resource("", "resourcequotas"),
    h.resource("", "configmaps"),
    h.resource("apps", "deployments"),
    h.resource("rbac.authorization.k8s.io", "roles"),
    h.resource("", "limitranges"),
    h.resource("coordination.k8s.io", "leases"),
    h.resource("", "secrets"),
    h.resource("", "serviceaccounts"),
    h.resource("", "services"),
    h.resource("rbac.authorization.k8s.io", "rolebindings"),
]


def _cpu_usage_deployment(ns: str, test: str) -> dict[str, Any]:
    """``testdata/turbo-for-deletion-scenario/resources.yaml``'s Deployment."""
    labels = {"app": "cpu-usage"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "cpu-usage", "namespace": ns, "labels": h.labels(test, **labels)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "cpu-usage-1",
                            "image": "beekman9527/cpumemload:latest",
                            "env": [
                                {"name": "RUN_TYPE", "value": "cpu"},
                                {"name": "CPU_PERCENT", "value": "85"},
                            ],
                            "resources": {
                                "requests": {"cpu": "400m", "memory": "128Mi"},
                                "limits": {"cpu": "800m", "memory": "128Mi"},
                            },
                        }
                    ]
                },
            },
        },
    }


def _replace_spec(up_rest, name: str, spec: dict[str, Any]) -> None:
    """GET + Update with the new spec (the original copies rv/uid into syncer-config2.yaml)."""
    obj = up_rest.get(h.SYNCER_CONFIGS, "", name)
    obj["spec"] = spec
    up_rest.replace(h.SYNCER_CONFIGS, "", name, obj)


def _namespace_kept(down_rest, ns: str) -> None:
    copy = down_rest.get_or_none(h.NS, "", ns)
    assert copy is not None, f"downstream Namespace {ns} was deleted"
    assert not copy["metadata"].get("deletionTimestamp"), (
        f"downstream Namespace {ns} is terminating"
    )


def test_deselected_and_deleted_deployment_is_deleted_downstream_namespace_kept(
    syncer_cli, up_rest, down_rest, unique_name
):
    """4.7 with core Deployments: config emptied, Deployment deleted upstream."""
    ns = f"{unique_name}-optimized"
    syncer_cli()
    up_rest.create(h.NS, "", h.namespace(ns, unique_name, optimizer="turbonomic"))
    up_rest.create(h.DEPLOY, ns, _cpu_usage_deployment(ns, unique_name))
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.syncer_config(
            unique_name,
            {"namespaceScope": {"namespaces": [ns], "resources": NAMESPACE_SCOPE_RESOURCES}},
        ),
    )
    h.wait_get(down_rest, h.NS, "", ns)
    h.wait_get(down_rest, h.DEPLOY, ns, "cpu-usage")

    _replace_spec(up_rest, unique_name, {"namespaceScope": {}})
    up_rest.delete(h.DEPLOY, ns, "cpu-usage")

    h.wait_gone(down_rest, h.DEPLOY, ns, "cpu-usage")
    _namespace_kept(down_rest, ns)
    assert h.label(down_rest.get(h.NS, "", ns), "optimizer") == "turbonomic"

    # Only once the upstream Namespace itself is gone does its (owned) copy go too.
    up_rest.delete(h.NS, "", ns)
    h.wait_gone(down_rest, h.NS, "", ns, timeout=h.SLOW_TIMEOUT)


def _crd_fixture(syncer_cli, up_rest, down_rest, unique_name) -> dict[str, Any]:
    ns, group = f"{unique_name}-optimized", h.group_for(unique_name)
    widgets_crd = h.crd(group, "widgets", "Widget", unique_name, scope="Namespaced")
    widgets = h.create_crd_and_wait(up_rest, widgets_crd)
    h.create_crd_and_wait(down_rest, widgets_crd)  # served downstream independently of the syncer
    syncer = syncer_cli()
    up_rest.create(h.NS, "", h.namespace(ns, unique_name, optimizer="turbonomic"))
    up_rest.create(
        widgets,
        ns,
        h.custom_object(group, "Widget", "w1", unique_name, namespace=ns, spec={"foo": "bar"}),
    )
    up_rest.create(h.CM, ns, h.configmap(ns, "cm1", {"a": "1"}, unique_name))
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.syncer_config(
            unique_name,
            {
                "namespaceScope": {
                    "namespaces": [ns],
                    "resources": [
                        h.resource("", "configmaps"),
                        h.resource(group, "widgets", "v1alpha1"),
                    ],
                }
            },
        ),
    )
    h.wait_get(down_rest, h.NS, "", ns)
    h.wait_get(down_rest, h.CM, ns, "cm1")
    assert h.wait_get(down_rest, widgets, ns, "w1")["spec"] == {"foo": "bar"}
    return {"ns": ns, "group": group, "widgets": widgets, "syncer": syncer}


def _delete_crd_upstream(up_rest, group: str) -> None:
    up_rest.delete(h.CRD, "", f"widgets.{group}")
    h.wait_gone(up_rest, h.CRD, "", f"widgets.{group}", where="upstream")


@pytest.mark.parametrize(
    "order", ["deselect-then-remove-api", "remove-api-while-selected", "remove-api-while-down"]
)
def test_custom_resource_whose_upstream_api_disappears_is_deleted_downstream_namespace_kept(
    order, syncer_cli, up_rest, down_rest, unique_name
):
    """4.7 with a CRD standing in for the APIBinding: the API vanishes upstream."""
    found = _crd_fixture(syncer_cli, up_rest, down_rest, unique_name)
    ns, group, widgets = found["ns"], found["group"], found["widgets"]
    if order == "deselect-then-remove-api":
        _replace_spec(up_rest, unique_name, {"namespaceScope": {}})
        _delete_crd_upstream(up_rest, group)
    elif order == "remove-api-while-selected":
        _delete_crd_upstream(up_rest, group)
    else:
        found["syncer"].stop()
        _delete_crd_upstream(up_rest, group)
        syncer_cli()

    h.wait_gone(down_rest, widgets, ns, "w1")
    _namespace_kept(down_rest, ns)
    # The downstream CRD is not the syncer's: it stays, and so does its API.
    assert down_rest.get_or_none(h.CRD, "", f"widgets.{group}") is not None
    if order != "deselect-then-remove-api":
        # Still selected (and still there upstream): untouched by the API's disappearance.
        assert down_rest.get(h.CM, ns, "cm1")["data"] == {"a": "1"}
