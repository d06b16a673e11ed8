"""``syncpipe config from-manifests`` on the real control planes, through the CLI only.

A rendered chart (multi-document YAML as ``helm template`` writes it: comments, empty
documents, a List, objects without a namespace) is applied upstream beside unrelated objects
(in the chart's namespace, in another namespace, cluster-scoped, and a second custom resource
of the chart's CRD). The config the command writes is applied, ``syncpipe run`` started: the
chart's objects arrive downstream and nothing else does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from syncpipe.model.resources import GroupVersionResource
from tests.e2e import helpers as h

pytestmark = [pytest.mark.apiserver, pytest.mark.slow]

_GVR_OF_KIND = {
    "Namespace": h.NS,
    "ConfigMap": h.CM,
    "Service": h.SERVICES,
    "ServiceAccount": h.SERVICE_ACCOUNTS,
    "Deployment": h.DEPLOY,
    "ClusterRole": h.CLUSTER_ROLES,
    "CustomResourceDefinition": h.CRD,
}


def syncpipe_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncpipe", *args], capture_output=True, text=True, check=False
    )


def _service(name: str, test: str, namespace: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": h.labels(test)}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def _service_account(name: str, test: str, namespace: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": h.labels(test)}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}


def _cluster_role(name: str, test: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": h.labels(test)},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
    }


def _without_namespace(obj: dict[str, Any]) -> dict[str, Any]:
    """As a chart renders it without ``namespace:`` (it goes where ``-n`` says)."""
    obj["metadata"].pop("namespace", None)
    return obj


def _rendered_chart(ns: str, group: str, test: str) -> str:
    """A chart's ``helm template`` output: its documents, a List, comments, empty documents."""
    documents = [
        h.namespace(ns, test),
        _without_namespace(h.deployment(ns, "web", test)),
        _service("web", test),
        _service_account("web", test),
        _cluster_role(f"{test}:reader", test),
        h.crd(group, "gadgets", "Gadget", test, scope="Namespaced"),
        h.custom_object(group, "Gadget", "g1", test, spec={"foo": "chart"}),
    ]
    configs = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [h.configmap(ns, "web-config", {"k": "v"}, test)],
    }
    parts = [
        f"# Source: chart/templates/{i}.yaml\n" + yaml.safe_dump(d) for i, d in enumerate(documents)
    ]
    return "---\n" + "---\n---\n".join([*parts, yaml.safe_dump(configs)])


def _apply(rest: Any, text: str, default_namespace: str) -> None:
    """What ``kubectl apply -n NS -f`` does with the chart, CRDs first."""
    objects = []
    for doc in yaml.safe_load_all(text):
        if doc is None:
            continue
        objects.extend(doc["items"] if doc["kind"] == "List" else [doc])
    crds = [o for o in objects if o["kind"] == "CustomResourceDefinition"]
    served = {c["spec"]["names"]["kind"]: h.create_crd_and_wait(rest, c) for c in crds}
    for obj in objects:
        if obj["kind"] == "CustomResourceDefinition":
            continue
        gvr = _GVR_OF_KIND.get(obj["kind"]) or served[obj["kind"]]
        namespaced = gvr not in (h.NS, h.CLUSTER_ROLES)
        namespace = obj["metadata"].get("namespace", default_namespace) if namespaced else ""
        rest.create(
            gvr, namespace, {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}
        )


def _owned(rest: Any, gvrs: list[GroupVersionResource], syncer: str) -> set[tuple[str, str, str]]:
    """Every object downstream the syncer made, as (resource, namespace, name)."""
    found = set()
    for gvr in gvrs:
        items, _ = rest.list(gvr, label_selector=f"{h.OWNER_LABEL}={syncer}")
        for item in items:
            meta = item["metadata"]
            found.add((gvr.resource, meta.get("namespace", ""), meta["name"]))
    return found


@pytest.mark.parametrize("legacy", [False, True], ids=["syncerconfig", "legacy"])
def test_the_config_from_a_rendered_chart_syncs_exactly_the_charts_objects(
    legacy, syncer_cli, wait_syncer_up, up_rest, down_rest, unique_name, tmp_path: Path
):
    test, group = unique_name, h.group_for(unique_name)
    ns, other_ns = f"{test}-app", f"{test}-other"
    chart = _rendered_chart(ns, group, test)
    _apply(up_rest, chart, default_namespace=ns)
    gadgets = GroupVersionResource(group, "v1alpha1", "gadgets")
    # Unrelated objects: beside the chart's in its namespace, in another namespace (with the
    # chart's names), cluster-scoped, and another object of the chart's own CRD.
    up_rest.create(h.CM, ns, h.configmap(ns, "unrelated", {"k": "v"}, test))
    up_rest.create(h.SERVICES, ns, _service("unrelated", test, ns))
    up_rest.create(h.SERVICE_ACCOUNTS, ns, _service_account("unrelated", test, ns))
    up_rest.create(gadgets, ns, h.custom_object(group, "Gadget", "g2", test, namespace=ns))
    up_rest.create(h.NS, "", h.namespace(other_ns, test))
    up_rest.create(h.CM, other_ns, h.configmap(other_ns, "web-config", {"k": "v"}, test))
    up_rest.create(h.DEPLOY, other_ns, h.deployment(other_ns, "web", test))
    up_rest.create(h.CLUSTER_ROLES, "", _cluster_role(f"{test}:other", test))

    chart_file, config_file = tmp_path / "chart.yaml", tmp_path / "config.yaml"
    chart_file.write_text(chart)
    args = ["config", "from-manifests", str(chart_file), "-n", ns, "-o", str(config_file)]
    written = syncpipe_cli(*args, *(["--legacy"] if legacy else []))
    assert written.returncode == 0, written.stderr
    validated = syncpipe_cli("config", "validate", str(config_file))
    assert validated.returncode == 0, validated.stdout
    config = yaml.safe_load(config_file.read_text())
    up_rest.create(h.EDGE_SYNC_CONFIGS if legacy else h.SYNCER_CONFIGS, "", config)

    wait_syncer_up(syncer_cli())
    expected = {
        ("namespaces", "", ns),
        ("deployments", ns, "web"),
        ("services", ns, "web"),
        ("serviceaccounts", ns, "web"),
        ("configmaps", ns, "web-config"),
        ("clusterroles", "", f"{test}:reader"),
        ("customresourcedefinitions", "", f"gadgets.{group}"),
        ("gadgets", ns, "g1"),
    }
    gvrs = [h.NS, h.DEPLOY, h.SERVICES, h.SERVICE_ACCOUNTS, h.CM, h.CLUSTER_ROLES, h.CRD, gadgets]
    by_resource = {gvr.resource: gvr for gvr in gvrs}
    for resource, namespace, name in sorted(expected):
        h.wait_get(down_rest, by_resource[resource], namespace, name)
    assert down_rest.get(gadgets, ns, "g1")["spec"] == {"foo": "chart"}
    assert _owned(down_rest, gvrs, test) == expected
    for gvr, namespace, name in [
        (h.CM, ns, "unrelated"),
        (h.SERVICES, ns, "unrelated"),
        (h.SERVICE_ACCOUNTS, ns, "unrelated"),
        (gadgets, ns, "g2"),
        (h.NS, "", other_ns),
        (h.CLUSTER_ROLES, "", f"{test}:other"),
    ]:
        assert down_rest.get_or_none(gvr, namespace, name) is None, (gvr.resource, name)


def test_kinds_only_a_cluster_knows_are_looked_up_in_its_discovery(
    upstream, up_rest, unique_name, tmp_path: Path, e2e_cleanup
):
    """A custom resource whose CRD is not in the manifests: an error offline, found with
    ``--kubeconfig``."""
    group = h.group_for(unique_name)
    h.create_crd_and_wait(up_rest, h.crd(group, "probes", "Probe", unique_name, scope="Cluster"))
    chart = tmp_path / "chart.yaml"
    chart.write_text(yaml.safe_dump(h.custom_object(group, "Probe", "p1", unique_name)))

    offline = syncpipe_cli("config", "from-manifests", str(chart))
    assert offline.returncode == 1
    assert offline.stderr.splitlines() == [
        f"Error: {chart}: doc 1 (Probe/p1): kind Probe.{group} is not built into Kubernetes and "
        "no CRD in the manifests defines it; give a cluster to look it up in (--kubeconfig) "
        "@ $.kind"
    ]

    asked = syncpipe_cli(
        "config", "from-manifests", str(chart), "--kubeconfig", str(upstream.admin_kubeconfig)
    )
    assert asked.returncode == 0, asked.stderr
    assert yaml.safe_load(asked.stdout)["spec"] == {
        "clusterScope": [h.resource(group, "probes", "v1alpha1") | {"objects": ["p1"]}]
    }
