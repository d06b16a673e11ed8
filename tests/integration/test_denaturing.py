"""Denatured objects upstream become live downstream: carriers and EdgeSyncConfig conversions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from syncpipe.builtin import carrier
from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime.syncer import EDGE_SYNC_CONFIGS, SYNCER_CONFIGS, Syncer
from syncpipe.testing import wait_for

pytestmark = [pytest.mark.apiserver, pytest.mark.usefixtures("syncer_crds")]

NS = GroupVersionResource("", "v1", "namespaces")
DEPLOY = GroupVersionResource("apps", "v1", "deployments")
CLUSTERROLES = GroupVersionResource("rbac.authorization.k8s.io", "v1", "clusterroles")
CARRIERS = GroupVersionResource("carrier.syncpipe.io", "v1alpha1", "objectcarriers")
CLUSTER_CARRIERS = GroupVersionResource("carrier.syncpipe.io", "v1alpha1", "clusterobjectcarriers")
CRDS = GroupVersionResource("apiextensions.k8s.io", "v1", "customresourcedefinitions")


@pytest.fixture
def running(make_syncer, unique_name) -> Iterator[Syncer]:
    syncer = make_syncer(unique_name)
    syncer.start()
    yield syncer
    syncer.stop(timeout=10)


def test_carried_objects_are_unwrapped_downstream_and_their_status_returns(
    running, up_rest, down_rest, unique_name
):
    ns = unique_name
    up_rest.create(NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": f"{unique_name}-reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    }
    up_rest.create(CLUSTER_CARRIERS, "", carrier.wrap(role))
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }
    up_rest.create(CARRIERS, ns, carrier.wrap(deployment, namespace=ns))
    up_rest.create(
        SYNCER_CONFIGS,
        "",
        {
            "apiVersion": "edge.kubestellar.io/v2alpha1",
            "kind": "SyncerConfig",
            "metadata": {"name": unique_name},
            "spec": {
                "namespaceScope": {
                    "namespaces": [ns],
                    "resources": [
                        {
                            "group": "carrier.syncpipe.io",
                            "resource": "objectcarriers",
                            "apiVersion": "v1alpha1",
                        }
                    ],
                },
                "clusterScope": [
                    {
                        "group": "carrier.syncpipe.io",
                        "resource": "clusterobjectcarriers",
                        "apiVersion": "v1alpha1",
                        "objects": [f"{unique_name}-reader"],
                    }
                ],
            },
        },
    )
    live_role = wait_for(
        lambda: down_rest.get_or_none(CLUSTERROLES, "", f"{unique_name}-reader"), timeout=30
    )
    assert live_role["rules"] == role["rules"]
    assert up_rest.get_or_none(CLUSTERROLES, "", f"{unique_name}-reader") is None  # inert upstream
    wait_for(lambda: down_rest.get_or_none(DEPLOY, ns, "web"), timeout=30)
    assert down_rest.get_or_none(CARRIERS, ns, "web") is None
    wait_for(
        lambda: (up_rest.get(CARRIERS, ns, "web").get("status") or {}).get("observedGeneration"),
        timeout=60,
        message="the Deployment's status did not come back into its carrier",
    )
    # Deleting the carrier deletes the live object.
    up_rest.delete(CLUSTER_CARRIERS, "", f"{unique_name}-reader")
    wait_for(
        lambda: down_rest.get_or_none(CLUSTERROLES, "", f"{unique_name}-reader") is None, timeout=30
    )


def test_edge_sync_config_conversions_renature_a_crd_and_its_objects(
    running, up_rest, down_rest, unique_name
):
    group = f"{unique_name}.example.io"
    denatured_group = f"{group}.denatured"

    def crd_for(g: str) -> dict:
        return {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"reports.{g}"},
            "spec": {
                "group": g,
                "scope": "Cluster",
                "names": {
                    "plural": "reports",
                    "singular": "report",
                    "kind": "Report",
                    "listKind": "ReportList",
                },
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            }
                        },
                    }
                ],
            },
        }

    up_rest.create(CRDS, "", crd_for(denatured_group))
    wait_for(
        lambda: any(
            c["type"] == "Established" and c["status"] == "True"
            for c in (up_rest.get(CRDS, "", f"reports.{denatured_group}").get("status") or {}).get(
                "conditions"
            )
            or ()
        ),
        timeout=30,
    )
    denatured_reports = GroupVersionResource(denatured_group, "v1", "reports")
    up_rest.create(
        denatured_reports,
        "",
        {
            "apiVersion": f"{denatured_group}/v1",
            "kind": "Report",
            "metadata": {"name": "r1"},
            "result": "fail",
        },
    )
    crd_entry = {
        "kind": "CustomResourceDefinition",
        "group": "apiextensions.k8s.io",
        "version": "v1",
    }
    up_rest.create(
        EDGE_SYNC_CONFIGS,
        "",
        {
            "apiVersion": "edge.kubestellar.io/v2alpha1",
            "kind": "EdgeSyncConfig",
            "metadata": {"name": unique_name},
            "spec": {
                "downSyncedResources": [
                    {**crd_entry, "name": f"reports.{denatured_group}"},
                    {"kind": "Report", "group": denatured_group, "version": "v1", "name": "*"},
                ],
                "conversions": [
                    {
                        "upstream": {**crd_entry, "name": f"reports.{denatured_group}"},
                        "downstream": {**crd_entry, "name": f"reports.{group}"},
                    },
                    {
                        "upstream": {
                            "kind": "Report",
                            "group": denatured_group,
                            "version": "v1",
                            "name": "*",
                        },
                        "downstream": {
                            "kind": "Report",
                            "group": group,
                            "version": "v1",
                            "name": "*",
                        },
                    },
                ],
            },
        },
    )
    live_crd = wait_for(lambda: down_rest.get_or_none(CRDS, "", f"reports.{group}"), timeout=30)
    assert live_crd["spec"]["group"] == group
    assert down_rest.get_or_none(CRDS, "", f"reports.{denatured_group}") is None
    live_reports = GroupVersionResource(group, "v1", "reports")
    report = wait_for(
        lambda: down_rest.get_or_none(live_reports, "", "r1"), timeout=60, ignore=(Exception,)
    )
    assert report["result"] == "fail"
