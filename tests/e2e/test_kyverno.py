"""KubeStellar's e2e scenarios 4.10-4.12: a large mixed workload shaped like Kyverno's Helm chart.

``resources1.yaml`` of the original (32 objects: Namespace, ServiceAccount, ConfigMaps, 10
CRDs, 12 ClusterRoles named ``kyverno:*``, ClusterRoleBinding, Role/RoleBinding, Services,
Deployment) plus ``resources2.yaml`` (Namespace ``policy``, a ``Policy``) are rebuilt here with
this test's names: namespaces, ClusterRole names and CRD groups carry ``unique_name`` so the
three variants never share an object. One ClusterRole aggregates others, as Kyverno's does
(both sides run the aggregation controller). The three SyncerConfig shapes of 4.10-4.12 must
all converge within 60 s; upsync of PolicyReports (namespaced and cluster-scoped, ``"*"``
names) is a separate test.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from syncpipe import errors
from tests.e2e import helpers as h

pytestmark = [pytest.mark.apiserver, pytest.mark.slow]


CONVERGE_TIMEOUT = 60.0
ROLE_SUFFIXES = (
    ":admin-policies",
    ":admin-policyreport",
    ":admin-reports",
    ":admin-generaterequest",
    ":admin-updaterequest",
    "",
    ":userinfo",
    ":policies",
    ":view",
    ":generate",
    ":events",
    ":webhook",
)
NAMESPACED_RESOURCES = [
    h.resource("", "serviceaccounts"),
    h.resource("", "configmaps"),
    h.resource("", "services"),
    h.resource("apps", "deployments"),
    h.resource("rbac.authorization.k8s.io", "roles"),
    h.resource("rbac.authorization.k8s.io", "rolebindings"),
]


class Names:
    """This test's stand-ins for the chart's names."""

    def __init__(self, test: str) -> None:
        self.test = test
        self.kyverno_ns = f"{test}-kyverno"
        self.policy_ns = f"{test}-policy"
        self.kyverno_group = f"kyverno-{test}.io"
        self.report_group = f"wgpolicyk8s-{test}.io"
        self.role_prefix = f"{test}-kyverno"
        # plural, kind, group, namespaced, version
        self.crds = [
            ("admissionreports", "AdmissionReport", self.kyverno_group, True, "v1alpha2"),
            ("backgroundscanreports", "BackgroundScanReport", self.kyverno_group, True, "v1alpha2"),
            (
                "clusteradmissionreports",
                "ClusterAdmissionReport",
                self.kyverno_group,
                False,
                "v1alpha2",
            ),
            (
                "clusterbackgroundscanreports",
                "ClusterBackgroundScanReport",
                self.kyverno_group,
                False,
                "v1alpha2",
            ),
            ("clusterpolicies", "ClusterPolicy", self.kyverno_group, False, "v1"),
            ("clusterpolicyreports", "ClusterPolicyReport", self.report_group, False, "v1alpha2"),
            ("generaterequests", "GenerateRequest", self.kyverno_group, True, "v1"),
            ("policies", "Policy", self.kyverno_group, True, "v1"),
            ("policyreports", "PolicyReport", self.report_group, True, "v1alpha2"),
            ("updaterequests", "UpdateRequest", self.kyverno_group, True, "v1beta1"),
        ]

    @property
    def crd_names(self) -> list[str]:
        return [f"{plural}.{group}" for plural, _, group, _, _ in self.crds]

    @property
    def cluster_role_names(self) -> list[str]:
        return [f"{self.role_prefix}{suffix}" for suffix in ROLE_SUFFIXES]

    def gvr(self, plural: str) -> Any:
        for p, _, group, _, version in self.crds:
            if p == plural:
                return h.GroupVersionResource(group, version, plural)
        raise KeyError(plural)


def _resources1(n: Names) -> list[tuple[Any, str, dict[str, Any]]]:
    """(gvr, namespace, manifest) in creation order: CRDs first, as ``kubectl create -f``."""
    t, ns = n.test, n.kyverno_ns
    app = {"app.kubernetes.io/instance": n.role_prefix, "app.kubernetes.io/name": "kyverno"}
    objs: list[tuple[Any, str, dict[str, Any]]] = []
    objs.append((h.NS, "", h.namespace(ns, t)))
    for plural, kind, group, namespaced, version in n.crds:
        scope = "Namespaced" if namespaced else "Cluster"
        objs.append((h.CRD, "", h.open_crd(group, plural, kind, t, scope=scope, version=version)))
    meta = lambda name, **kw: {"name": name, "labels": h.labels(t, **app), **kw}  # noqa: E731
    objs.append(
        (
            h.SERVICE_ACCOUNTS,
            ns,
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": meta("kyverno", namespace=ns),
            },
        )
    )
    objs.append(
        (
            h.CM,
            ns,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": meta("kyverno", namespace=ns),
                "data": {
                    "resourceFilters": "[Event,*,*][*,kube-system,*][*,kube-public,*]",
                    "webhooks": '[{"namespaceSelector": {"matchExpressions": []}}]',
                },
            },
        )
    )
    objs.append(
        (
            h.CM,
            ns,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": meta("kyverno-metrics", namespace=ns),
                "data": {"namespaces": '{"include": [], "exclude": []}'},
            },
        )
    )
    rbac = "rbac.authorization.k8s.io/v1"
    aggregate = {f"{n.role_prefix}/aggregate": "true"}
    for role in n.cluster_role_names:
        if role == n.role_prefix:
            body = {
                "apiVersion": rbac,
                "kind": "ClusterRole",
                "metadata": meta(role),
                "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": aggregate}]},
                "rules": [],
            }
        else:
            body = {
                "apiVersion": rbac,
                "kind": "ClusterRole",
                "metadata": {"name": role, "labels": h.labels(t, **app, **aggregate)},
                "rules": [
                    {
                        "apiGroups": [n.kyverno_group],
                        "resources": ["policies", "clusterpolicies"],
                        "verbs": ["get", "list", "watch"],
                    },
                    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]},
                ],
            }
        objs.append((h.CLUSTER_ROLES, "", body))
    objs.append(
        (
            h.CLUSTER_ROLE_BINDINGS,
            "",
            {
                "apiVersion": rbac,
                "kind": "ClusterRoleBinding",
                "metadata": meta(n.role_prefix),
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": n.role_prefix,
                },
                "subjects": [{"kind": "ServiceAccount", "name": "kyverno", "namespace": ns}],
            },
        )
    )
    objs.append(
        (
            h.ROLES,
            ns,
            {
                "apiVersion": rbac,
                "kind": "Role",
                "metadata": meta("kyverno:leaderelection", namespace=ns),
                "rules": [
                    {
                        "apiGroups": ["coordination.k8s.io"],
                        "resources": ["leases"],
                        "verbs": ["create", "delete", "get", "patch", "update"],
                    }
                ],
            },
        )
    )
    objs.append(
        (
            h.ROLE_BINDINGS,
            ns,
            {
                "apiVersion": rbac,
                "kind": "RoleBinding",
                "metadata": meta("kyverno:leaderelection", namespace=ns),
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "kyverno:leaderelection",
                },
                "subjects": [{"kind": "ServiceAccount", "name": "kyverno", "namespace": ns}],
            },
        )
    )
    selector = {"app.kubernetes.io/name": "kyverno"}
    for name, port, target in (("kyverno-svc", 443, "https"), ("kyverno-svc-metrics", 8000, 8000)):
        objs.append(
            (
                h.SERVICES,
                ns,
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": meta(name, namespace=ns),
                    "spec": {
                        "type": "ClusterIP",
                        "selector": selector,
                        "ports": [
                            {
                                "name": name.removeprefix("kyverno-"),
                                "port": port,
                                "targetPort": target,
                                "protocol": "TCP",
                            }
                        ],
                    },
                },
            )
        )
    objs.append(
        (
            h.DEPLOY,
            ns,
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": meta("kyverno", namespace=ns),
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": selector},
                    "strategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "40%"},
                    },
                    "template": {
                        "metadata": {"labels": selector},
                        "spec": {
                            "serviceAccountName": "kyverno",
                            "containers": [
                                {
                                    "name": "kyverno",
                                    "image": "ghcr.io/kyverno/kyverno:v1.9.0",
                                    "args": ["--autogenInternals=true", "--loggingFormat=text"],
                                    "ports": [
                                        {"containerPort": 9443, "name": "https", "protocol": "TCP"},
                                        {
                                            "containerPort": 8000,
                                            "name": "metrics-port",
                                            "protocol": "TCP",
                                        },
                                    ],
                                    "env": [
                                        {"name": "KYVERNO_SVC", "value": "kyverno-svc"},
                                        {
                                            "name": "KYVERNO_NAMESPACE",
                                            "valueFrom": {
                                                "fieldRef": {"fieldPath": "metadata.namespace"}
                                            },
                                        },
                                    ],
                                }
                            ],
                        },
                    },
                },
            },
        )
    )
    return objs


def _resources2(n: Names) -> list[tuple[Any, str, dict[str, Any]]]:
    ns = n.policy_ns
    policy = h.custom_object(
        n.kyverno_group, "Policy", "sample-policy", n.test, namespace=ns, version="v1"
    )
    policy["spec"] = {
        "background": True,
        "validationFailureAction": "enforce",
        "rules": [
            {
                "name": "sample-check-for-labels-in-configmap",
                "match": {"any": [{"resources": {"kinds": ["ConfigMap"]}}]},
                "validate": {
                    "message": "label 'app.kubernetes.io/name' is required",
                    "pattern": {"metadata": {"labels": {"app.kubernetes.io/name": "?*"}}},
                },
            }
        ],
    }
    return [(h.NS, "", h.namespace(ns, n.test, app="kyverno")), (n.gvr("policies"), ns, policy)]


def _syncer_config_spec(variant: str, n: Names) -> dict[str, Any]:
    policies = h.resource(n.kyverno_group, "policies")
    both = [{"namespace": n.kyverno_ns, "names": ["*"]}, {"namespace": n.policy_ns, "names": ["*"]}]
    spec: dict[str, Any] = {
        "clusterScope": [
            {
                **h.resource("apiextensions.k8s.io", "customresourcedefinitions"),
                "objects": n.crd_names,
            },
            {
                **h.resource("rbac.authorization.k8s.io", "clusterroles"),
                "objects": n.cluster_role_names,
            },
            {
                **h.resource("rbac.authorization.k8s.io", "clusterrolebindings"),
                "objects": [n.role_prefix],
            },
            {**h.resource(n.kyverno_group, "clusterpolicies"), "objects": ["*"]},
        ],
        "upsync": [
            {
                "apiGroup": n.report_group,
                "resources": ["policyreports", "clusterpolicyreports"],
                "namespaces": [n.policy_ns],
                "names": ["*"],
            }
        ],
    }
    if variant == "namespace-scope":  # 4.10
        spec["namespaceScope"] = {
            "namespaces": [n.kyverno_ns, n.policy_ns],
            "resources": [*NAMESPACED_RESOURCES, policies],
        }
    elif variant == "namespaced-objects":  # 4.11
        spec["namespacedObjects"] = [
            {**r, "objectsByNamespace": both} for r in [*NAMESPACED_RESOURCES, policies]
        ]
    else:  # 4.12 "coexist"
        spec["namespaceScope"] = {"namespaces": [n.kyverno_ns], "resources": NAMESPACED_RESOURCES}
        spec["namespacedObjects"] = [
            {**policies, "objectsByNamespace": [{"namespace": n.policy_ns, "names": ["*"]}]}
        ]
    return spec


def _all_present(down_rest, objects) -> list[str]:
    missing = []
    for gvr, ns, body in objects:
        try:
            if down_rest.get_or_none(gvr, ns, body["metadata"]["name"]) is None:
                missing.append(f"{gvr.resource} {ns}/{body['metadata']['name']}")
        except errors.ApiNotFound:
            missing.append(f"{gvr.resource} {ns}/{body['metadata']['name']} (API not served)")
    return missing


def _kyverno_scenario(variant: str, syncer_cli, up_rest, down_rest, unique_name):
    n = Names(unique_name)
    syncer_cli()
    resources1, resources2 = _resources1(n), _resources2(n)
    for gvr, ns, body in resources1:
        if gvr == h.CRD:
            h.create_crd_and_wait(up_rest, body)
        else:
            up_rest.create(gvr, ns, body)
    for gvr, ns, body in resources2:
        up_rest.create(gvr, ns, body)
    up_rest.create(
        h.SYNCER_CONFIGS, "", h.syncer_config(unique_name, _syncer_config_spec(variant, n))
    )

    everything = resources1 + resources2
    h.wait_get(down_rest, h.NS, "", n.kyverno_ns, timeout=CONVERGE_TIMEOUT)
    h.wait_get(down_rest, h.NS, "", n.policy_ns, timeout=CONVERGE_TIMEOUT)
    h.wait_until(
        lambda: down_rest.get_or_none(n.gvr("policies"), n.policy_ns, "sample-policy"),
        timeout=CONVERGE_TIMEOUT,
        ignore=(errors.ApiNotFound,),
        message="downstream Policy sample-policy never appeared",
    )
    h.wait_until(
        lambda: not _all_present(down_rest, everything),
        timeout=CONVERGE_TIMEOUT,
        message=lambda: f"not converged; missing downstream: {_all_present(down_rest, everything)}",
    )
    return n, everything


def _as_written(down_rest, objects) -> dict[str, str]:
    """Per copy: what writers other than status controllers leave on it.

    Everything but ``.status`` and the server's bookkeeping, plus syncpipe's own
    ``managedFields`` entries (their time moves with every write syncpipe makes, even one
    that puts back what another writer changed: a fight). A downstream controller's status
    updates (a Deployment's replicas and conditions, still settling on a loaded machine) move
    the resourceVersion but are nobody's rewrite of the copy.
    """
    found = {}
    for gvr, ns, body in objects:
        obj = down_rest.get(gvr, ns, body["metadata"]["name"])
        meta = dict(obj["metadata"])
        ours = [e for e in meta.pop("managedFields", ()) if e.get("manager") == "syncpipe"]
        meta.pop("resourceVersion", None)
        content = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
        found[f"{gvr.resource} {ns}/{body['metadata']['name']}"] = json.dumps(
            [meta, ours, content], sort_keys=True
        )
    return found


@pytest.mark.parametrize("variant", ["namespace-scope", "namespaced-objects", "coexist"])
def test_kyverno_like_workload_converges_and_stays_at_rest(
    variant, syncer_cli, up_rest, down_rest, unique_name
):
    """4.10 / 4.11 / 4.12: the whole workload arrives within 60 s; then nothing is rewritten."""
    n, everything = _kyverno_scenario(variant, syncer_cli, up_rest, down_rest, unique_name)
    aggregated = down_rest.get(h.CLUSTER_ROLES, "", n.role_prefix)
    assert aggregated.get("aggregationRule"), "the aggregating ClusterRole lost its aggregationRule"
    assert (
        down_rest.get(h.DEPLOY, n.kyverno_ns, "kyverno")["spec"]["template"]["spec"][
            "serviceAccountName"
        ]
        == "kyverno"
    )

    # At rest: between two sync barriers (an upstream change seen downstream), no copy is
    # rewritten (a fight with a downstream controller would show as syncpipe's write time moving).
    def barrier(value: str) -> None:
        up_rest.merge_patch(h.CM, n.kyverno_ns, "kyverno-metrics", {"data": {"barrier": value}})
        h.wait_field(
            down_rest,
            h.CM,
            n.kyverno_ns,
            "kyverno-metrics",
            lambda o: (o.get("data") or {}).get("barrier") == value,
            what=f"barrier {value}",
        )

    at_rest = [o for o in everything if o[2]["metadata"]["name"] != "kyverno-metrics"]
    barrier("1")
    before = _as_written(down_rest, at_rest)
    barrier("2")
    barrier("3")
    after = _as_written(down_rest, at_rest)
    rewritten = sorted(k for k in before if before[k] != after[k])
    assert not rewritten, f"copies rewritten at rest: {rewritten}"


def test_kyverno_policy_reports_upsync_namespaced_and_cluster_scoped(
    syncer_cli, up_rest, down_rest, unique_name
):
    """4.10 steps 4-5: PolicyReport and ClusterPolicyReport created downstream appear upstream."""
    n, _ = _kyverno_scenario("namespace-scope", syncer_cli, up_rest, down_rest, unique_name)
    result = {
        "policy": "sample-policy",
        "rule": "sample-check-for-labels-in-configmap",
        "result": "fail",
        "message": "validation error: label 'app.kubernetes.io/name' is required",
    }
    report = h.custom_object(
        n.report_group,
        "PolicyReport",
        "sample-policy-report",
        unique_name,
        namespace=n.policy_ns,
        version="v1alpha2",
    )
    report["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "kyverno"
    report["results"] = [result]
    report["summary"] = {"fail": 1, "pass": 0, "warn": 0, "error": 0, "skip": 0}
    cluster_report = h.custom_object(
        n.report_group,
        "ClusterPolicyReport",
        "sample-cluster-policy-report",
        unique_name,
        version="v1alpha2",
    )
    cluster_report["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "kyverno"
    cluster_report["results"] = [result]
    down_rest.create(n.gvr("policyreports"), n.policy_ns, report)
    down_rest.create(n.gvr("clusterpolicyreports"), "", cluster_report)

    up = h.wait_get(
        up_rest, n.gvr("policyreports"), n.policy_ns, "sample-policy-report", where="upstream"
    )
    assert up["results"] == [result]
    up = h.wait_get(
        up_rest, n.gvr("clusterpolicyreports"), "", "sample-cluster-policy-report", where="upstream"
    )
    assert up["results"] == [result]
