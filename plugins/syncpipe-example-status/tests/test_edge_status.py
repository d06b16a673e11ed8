"""The status example plugin, offline on the harness: what status return writes upstream."""

from importlib.metadata import entry_points

import pytest
import syncpipe_edge_status

from syncpipe.plugin import PluginOptionError
from syncpipe.testing import manifests

WORKLOAD = [
    manifests.deployment("shop", "web"),
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"ports": [{"port": 80}]},
    },
]
REPORTED = {"replicas": 2, "readyReplicas": 1, "observedGeneration": 1}


def edge_condition(message: str, condition_type: str = "Edge") -> dict[str, str]:
    return {
        "type": condition_type,
        "status": "True",
        "reason": "StatusReturned",
        "message": message,
    }


def synced(pipeline_harness, **options):
    harness = pipeline_harness(
        plugins={"edge-status": syncpipe_edge_status},
        plugin_options={"edge-status": options},
        syncer_name="edge1",
    )
    harness.upstream.apply(*WORKLOAD)
    harness.sync()
    return harness


def test_the_plugin_is_installed_under_the_syncpipe_entry_point_group():
    assert "edge-status" in {ep.name for ep in entry_points(group="syncpipe.plugins")}


def test_the_returned_status_of_a_named_kind_carries_the_edge_summary(pipeline_harness):
    harness = synced(pipeline_harness, kinds="Deployment")
    harness.downstream.set_status("apps/v1", "Deployment", "shop/web", REPORTED)
    result = harness.sync()
    assert result.status_written("apps/v1", "Deployment", "shop/web") == [
        {
            "op": "add",
            "path": "/status",
            "value": {
                **REPORTED,
                "conditions": [edge_condition("returned by syncer edge1; ready 1/2")],
            },
        }
    ]


def test_at_rest_the_summary_costs_no_write(pipeline_harness):
    harness = synced(pipeline_harness, kinds="Deployment")
    harness.downstream.set_status("apps/v1", "Deployment", "shop/web", REPORTED)
    harness.sync()
    harness.assert_at_rest()


def test_a_new_status_on_the_edge_updates_only_what_changed(pipeline_harness):
    harness = synced(pipeline_harness, kinds="Deployment")
    harness.downstream.set_status("apps/v1", "Deployment", "shop/web", REPORTED)
    harness.sync()
    harness.downstream.set_status(
        "apps/v1", "Deployment", "shop/web", {**REPORTED, "readyReplicas": 2}
    )
    ops = harness.sync().status_written("apps/v1", "Deployment", "shop/web")
    assert sorted(ops, key=lambda op: op["path"]) == [
        {
            "op": "replace",
            "path": "/status/conditions/0/message",
            "value": "returned by syncer edge1; ready 2/2",
        },
        {"op": "replace", "path": "/status/readyReplicas", "value": 2},
    ]


def test_the_copys_conditions_are_kept_one_of_the_same_type_replaced_and_their_shape_taken(
    pipeline_harness,
):
    harness = synced(pipeline_harness, kinds="Deployment")
    available = {"type": "Available", "status": "True", "lastUpdateTime": "2026-01-01T00:00:00Z"}
    stale = edge_condition("from somewhere else")
    reported = {**REPORTED, "conditions": [available, stale]}
    harness.downstream.set_status("apps/v1", "Deployment", "shop/web", reported)
    (op,) = harness.sync().status_written("apps/v1", "Deployment", "shop/web")
    assert op["value"]["conditions"] == [
        available,
        {"lastUpdateTime": None, **edge_condition("returned by syncer edge1; ready 1/2")},
    ]


def test_the_condition_type_and_the_ready_count_follow_the_options(pipeline_harness):
    harness = synced(pipeline_harness, kinds="Deployment", condition="AtTheEdge", ready="false")
    harness.downstream.set_status("apps/v1", "Deployment", "shop/web", REPORTED)
    (op,) = harness.sync().status_written("apps/v1", "Deployment", "shop/web")
    assert op["value"]["conditions"] == [edge_condition("returned by syncer edge1", "AtTheEdge")]


def test_kinds_not_named_get_their_status_unchanged(pipeline_harness):
    harness = synced(pipeline_harness, kinds="Deployment")
    harness.downstream.set_status("v1", "Service", "shop/web", {"loadBalancer": {}})
    (op,) = harness.sync().status_written("v1", "Service", "shop/web")
    assert op["value"] == {"loadBalancer": {}}


def test_without_kinds_the_plugin_changes_nothing(pipeline_harness):
    harness = synced(pipeline_harness)
    harness.downstream.set_status("apps/v1", "Deployment", "shop/web", REPORTED)
    (op,) = harness.sync().status_written("apps/v1", "Deployment", "shop/web")
    assert op["value"] == REPORTED


def test_downsync_is_left_alone(pipeline_harness):
    harness = pipeline_harness(
        plugins={"edge-status": syncpipe_edge_status},
        plugin_options={"edge-status": {"kinds": "Deployment"}},
    )
    harness.upstream.apply(*WORKLOAD)
    web = harness.sync().created("apps/v1", "Deployment", "shop/web")
    assert "status" not in web
    assert web["spec"]["replicas"] == 1


def test_a_value_that_is_no_boolean_is_refused_before_any_write(pipeline_harness):
    harness = pipeline_harness(
        plugins={"edge-status": syncpipe_edge_status},
        plugin_options={"edge-status": {"ready": "maybe"}},
    )
    harness.upstream.apply(*WORKLOAD)
    with pytest.raises(PluginOptionError, match="option 'ready'"):
        harness.sync()
    assert harness.downstream.get("apps/v1", "Deployment", "shop/web") is None
