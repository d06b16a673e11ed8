"""Namespace mapping by template on the real control planes: objects, status, upsync, collisions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from syncpipe.builtin.namespaces import UPSTREAM_NAMESPACE_ANNOTATION
from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime.syncer import SYNCER_CONFIGS, Syncer
from syncpipe.testing import wait_for

pytestmark = [pytest.mark.apiserver, pytest.mark.usefixtures("syncer_crds")]

NS = GroupVersionResource("", "v1", "namespaces")
CM = GroupVersionResource("", "v1", "configmaps")
DEPLOY = GroupVersionResource("apps", "v1", "deployments")
ROLEBINDINGS = GroupVersionResource("rbac.authorization.k8s.io", "v1", "rolebindings")


@pytest.fixture
def mapped(make_syncer) -> Iterator[Syncer]:
    syncer = make_syncer("edge7", namespace_mapping="template:{syncer}-{namespace}")
    syncer.start()
    yield syncer
    syncer.stop(timeout=10)


def test_two_namespaces_map_by_template_and_everything_lands_in_the_right_place(
    mapped, up_rest, down_rest, unique_name
):
    a, b = f"{unique_name[:20]}-a", f"{unique_name[:20]}-b"
    for ns in (a, b):
        up_rest.create(NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        up_rest.create(
            CM,
            ns,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cfg"},
                "data": {"ns": ns},
            },
        )
    up_rest.create(
        ROLEBINDINGS,
        a,
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "rb"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "view",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": "app", "namespace": a},
                {"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"},
            ],
        },
    )
    up_rest.create(
        DEPLOY,
        a,
        {
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
        },
    )
    up_rest.create(
        SYNCER_CONFIGS,
        "",
        {
            "apiVersion": "edge.kubestellar.io/v2alpha1",
            "kind": "SyncerConfig",
            "metadata": {"name": unique_name},
            "spec": {
                "namespaceScope": {
                    "namespaces": [a, b],
                    "resources": [
                        {"group": "", "resource": "configmaps", "apiVersion": "v1"},
                        {"group": "apps", "resource": "deployments", "apiVersion": "v1"},
                        {
                            "group": "rbac.authorization.k8s.io",
                            "resource": "rolebindings",
                            "apiVersion": "v1",
                        },
                    ],
                },
                "upsync": [
                    {
                        "apiGroup": "",
                        "resources": ["configmaps"],
                        "namespaces": [f"edge7-{a}"],
                        "names": ["report-*", "report"],
                    }
                ],
            },
        },
    )
    for ns in (a, b):
        mapped_ns = f"edge7-{ns}"
        copy = wait_for(
            lambda mapped_ns=mapped_ns: down_rest.get_or_none(CM, mapped_ns, "cfg"), timeout=30
        )
        assert copy["data"] == {"ns": ns}
        namespace = down_rest.get(NS, "", mapped_ns)
        assert namespace["metadata"]["annotations"][UPSTREAM_NAMESPACE_ANNOTATION] == ns
        assert down_rest.get_or_none(NS, "", ns) is None
    rb = wait_for(lambda: down_rest.get_or_none(ROLEBINDINGS, f"edge7-{a}", "rb"), timeout=30)
    assert rb["subjects"][0]["namespace"] == f"edge7-{a}"
    assert "namespace" not in rb["subjects"][1]

    # Status return finds the upstream object through the mapping.
    wait_for(
        lambda: (up_rest.get(DEPLOY, a, "web").get("status") or {}).get("observedGeneration"),
        timeout=60,
    )

    # Upsync from the mapped namespace lands in the upstream namespace.
    down_rest.create(
        CM,
        f"edge7-{a}",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "report"},
            "data": {"ok": "1"},
        },
    )
    wait_for(lambda: up_rest.get_or_none(CM, a, "report"), timeout=30)
    assert up_rest.get_or_none(CM, f"edge7-{a}", "report") is None

    # Deleting upstream objects cleans their copies up; deleting the upstream namespace removes
    # the mapped namespace syncpipe created for it.
    up_rest.delete(CM, b, "cfg")
    wait_for(lambda: down_rest.get_or_none(CM, f"edge7-{b}", "cfg") is None, timeout=30)
    up_rest.delete(NS, "", b)

    def mapped_namespace_gone() -> bool:
        ns = down_rest.get_or_none(NS, "", f"edge7-{b}")
        return ns is None or bool(ns["metadata"].get("deletionTimestamp"))

    wait_for(mapped_namespace_gone, timeout=60)


def test_a_downstream_namespace_without_the_locator_is_not_adopted(
    mapped, up_rest, down_rest, unique_name
):
    ns = unique_name[:30]
    up_rest.create(NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    up_rest.create(
        CM, ns, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {}}
    )
    down_rest.create(
        NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"edge7-{ns}"}}
    )
    up_rest.create(
        SYNCER_CONFIGS,
        "",
        {
            "apiVersion": "edge.kubestellar.io/v2alpha1",
            "kind": "SyncerConfig",
            "metadata": {"name": unique_name},
            "spec": {
                "namespacedObjects": [
                    {
                        "group": "",
                        "resource": "configmaps",
                        "apiVersion": "v1",
                        "objectsByNamespace": [{"namespace": ns, "names": ["cfg"]}],
                    }
                ]
            },
        },
    )
    wait_for(lambda: any(f"edge7-{ns}" in v for v in mapped._rejected.values()), timeout=30)
    assert down_rest.get_or_none(CM, f"edge7-{ns}", "cfg") is None
