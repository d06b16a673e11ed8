"""Stripping what the source server populated, so the target server can populate its own."""

from syncpipe.builtin.strip import strip_for_target
from syncpipe.hooks.context import SyncContext

CTX = SyncContext(syncer_name="s")


def test_server_metadata_status_and_owner_references_are_removed():
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "a",
            "namespace": "n",
            "uid": "u",
            "resourceVersion": "1",
            "managedFields": [],
            "creationTimestamp": "t",
            "ownerReferences": [{"uid": "x"}],
            "annotations": {"kcp.io/cluster": "root", "keep": "me"},
        },
        "status": {"x": 1},
        "data": {"k": "v"},
    }
    out = strip_for_target(obj, CTX)
    assert out == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "namespace": "n", "annotations": {"keep": "me"}},
        "data": {"k": "v"},
    }
    assert obj["metadata"]["uid"] == "u"  # the input is untouched


def test_a_service_loses_its_allocated_ips_and_node_ports_but_a_headless_one_stays_headless():
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {
            "type": "NodePort",
            "clusterIP": "10.0.0.7",
            "clusterIPs": ["10.0.0.7"],
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}],
        },
    }
    assert strip_for_target(svc, CTX)["spec"] == {
        "type": "NodePort",
        "ports": [{"port": 80, "protocol": "TCP"}],
    }
    headless = {**svc, "spec": {"clusterIP": "None", "ports": [{"port": 80}]}}
    assert strip_for_target(headless, CTX)["spec"]["clusterIP"] == "None"


def test_aggregated_cluster_roles_leave_their_rules_to_the_target_aggregator():
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "agg"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"a": "b"}}]},
        "rules": [{"verbs": ["get"]}],
    }
    assert "rules" not in strip_for_target(role, CTX)
    plain = {k: v for k, v in role.items() if k != "aggregationRule"}
    assert strip_for_target(plain, CTX)["rules"] == [{"verbs": ["get"]}]


def test_service_account_token_lists_and_generated_job_selectors_are_dropped():
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a"}, "secrets": [{}]}
    assert "secrets" not in strip_for_target(sa, CTX)
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {
            "selector": {"matchLabels": {"controller-uid": "1"}},
            "template": {"metadata": {"labels": {"controller-uid": "1", "job-name": "j"}}},
        },
    }
    out = strip_for_target(job, CTX)
    assert "selector" not in out["spec"]
    assert out["spec"]["template"]["metadata"]["labels"] == {"job-name": "j"}
