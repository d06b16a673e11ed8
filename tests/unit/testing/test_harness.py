"""The offline harness runs the real pipeline over stated manifests and reports its writes."""

from __future__ import annotations

from typing import Any

import pytest

from syncpipe.hooks import hookimpl
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.transforms import Transform
from syncpipe.model.events import Side
from syncpipe.model.objects import RawObject, with_annotations
from syncpipe.testing import PipelineHarness, manifests, manifests_of, select_everything
from syncpipe.testing.harness import kube_apiserver_discovery

WORKLOAD = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: "nginx:1"}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {a: "1"}
"""


def configmap(name: str, data: dict[str, str], namespace: str = "shop") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


class StampPlugin:
    """A plugin under test: an annotation from its option on every object going down."""

    @staticmethod
    def stamp(obj: RawObject, ctx: SyncContext) -> RawObject:
        value = str(ctx.plugin_config("stamp").get("value", "none"))
        return with_annotations(obj, {"example.com/stamp": value})

    @hookimpl
    def syncpipe_register_transforms(self) -> list[Transform]:
        return [Transform(name="stamp", forward=self.stamp)]


def synced(*, plugins: Any = (), **kw: Any) -> tuple[PipelineHarness, Any]:
    harness = PipelineHarness(plugins=plugins, **kw)
    harness.upstream.apply(WORKLOAD)
    return harness, harness.sync()


def test_the_first_pass_creates_the_selected_objects_with_the_plugins_transform_applied():
    harness, result = synced(
        plugins={"stamp": StampPlugin()}, plugin_options={"stamp": {"value": "v1"}}
    )
    web = result.created("apps/v1", "Deployment", "shop/web")
    assert web["metadata"]["annotations"]["example.com/stamp"] == "v1"
    assert web["metadata"]["labels"]["syncpipe.io/owner"] == "edge1"
    assert web["spec"]["replicas"] == 2
    assert result.created("v1", "Namespace", "shop")["metadata"]["name"] == "shop"
    assert result.find("v1", "ConfigMap", "shop/settings", verb="create", side=Side.DOWNSTREAM)
    assert not result.rejected
    stored = harness.downstream.get("apps/v1", "Deployment", "shop/web")
    assert stored is not None
    assert stored["metadata"]["annotations"]["example.com/stamp"] == "v1"


def test_a_converged_state_is_at_rest_and_a_restart_plans_nothing():
    harness, _ = synced(plugins=(StampPlugin(),))
    harness.assert_at_rest()
    assert not harness.at_rest().writes


def test_a_plugin_that_is_not_idempotent_fails_the_at_rest_check_listing_the_write():
    counter = iter(range(1000))

    class Restless:
        @hookimpl
        def syncpipe_register_transforms(self) -> list[Transform]:
            return [
                Transform(
                    name="restless",
                    forward=lambda obj, ctx: with_annotations(obj, {"n": str(next(counter))}),
                )
            ]

    harness, _ = synced(plugins=(Restless(),))
    with pytest.raises(AssertionError, match=r"not at rest(.|\n)*patch downstream"):
        harness.assert_at_rest()


def test_a_change_upstream_is_one_minimal_patch_in_the_next_pass():
    harness, _ = synced()
    harness.upstream.apply(configmap("settings", {"a": "2"}))
    result = harness.sync()
    assert result.patched("v1", "ConfigMap", "shop/settings") == [
        {"op": "replace", "path": "/data/a", "value": "2"}
    ]
    assert len(result) == 1
    harness.assert_at_rest()


def test_a_deletion_upstream_deletes_the_copy():
    harness, _ = synced()
    harness.upstream.delete("v1", "ConfigMap", "shop/settings")
    result = harness.sync()
    assert result.deleted("v1", "ConfigMap", "shop/settings", side=Side.DOWNSTREAM)
    assert harness.downstream.get("v1", "ConfigMap", "shop/settings") is None
    harness.assert_at_rest()


def test_a_status_reported_on_the_edge_copy_is_written_upstream():
    harness, _ = synced()
    harness.downstream.set_status("apps/v1", "Deployment", "shop/web", {"readyReplicas": 2})
    result = harness.sync()
    assert result.status_written("apps/v1", "Deployment", "shop/web") == [
        {"op": "add", "path": "/status", "value": {"readyReplicas": 2}}
    ]
    assert result.summary() == {"create": 0, "patch": 0, "delete": 0, "status": 1}
    upstream = harness.upstream.get("apps/v1", "Deployment", "shop/web")
    assert upstream is not None
    assert upstream["status"] == {"readyReplicas": 2}
    harness.assert_at_rest()


def test_the_harness_explains_an_object_as_syncpipe_explain_does():
    harness, _ = synced(plugins={"stamp": StampPlugin()})
    e = harness.explain("apps/v1", "Deployment", "shop/web")
    assert e.selected
    stamp = next(step for step in e.steps if step.name == "stamp")
    assert [(c.path, c.change, c.after) for c in stamp.changes] == [
        ("/metadata/annotations", "added", {"example.com/stamp": "none"})
    ]
    assert [w.action.verb for w in e.writes] == ["create"]


def test_a_pass_without_changes_plans_nothing():
    harness, _ = synced()
    assert not harness.sync().writes


def test_an_object_added_later_in_a_new_namespace_is_created_with_it_when_selected():
    new = configmap("late", {"x": "1"}, namespace="extra")
    harness = PipelineHarness(configs=[select_everything(WORKLOAD, new)])
    harness.upstream.apply(WORKLOAD)
    harness.sync()
    harness.upstream.apply(new)
    result = harness.sync()
    assert result.created("v1", "ConfigMap", "extra/late")["data"] == {"x": "1"}
    assert result.created("v1", "Namespace", "extra")


def test_configs_stated_upstream_are_followed_and_a_deselection_deletes_the_copy():
    both = select_everything(WORKLOAD, name="shop")
    harness = PipelineHarness()
    harness.upstream.apply(WORKLOAD, both)
    first = harness.sync()
    assert first.created("v1", "ConfigMap", "shop/settings")
    assert not first.find("edge.kubestellar.io/v2alpha1", "SyncerConfig", "shop")  # not copied
    harness.assert_at_rest()
    harness.upstream.apply(select_everything(configmap("settings", {}), name="shop"))
    result = harness.sync()
    assert result.deleted("apps/v1", "Deployment", "shop/web", side=Side.DOWNSTREAM)
    assert not result.find("v1", "ConfigMap", "shop/settings")
    harness.assert_at_rest()


def test_an_object_selected_for_upsync_is_created_upstream():
    config = {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "SyncerConfig",
        "metadata": {"name": "up"},
        "spec": {
            "upsync": [
                {
                    "apiGroup": "",
                    "resources": ["configmaps"],
                    "namespaces": ["shop"],
                    "names": ["*"],
                }
            ]
        },
    }
    harness = PipelineHarness(configs=[config])
    harness.upstream.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    harness.downstream.apply(configmap("report", {"ok": "yes"}))
    result = harness.sync()
    report = result.created("v1", "ConfigMap", "shop/report", side=Side.UPSTREAM)
    assert report["data"] == {"ok": "yes"}
    assert [w.flow for w in result.find("v1", "ConfigMap", "shop/report")] == ["upsync"]
    harness.assert_at_rest()


def test_objects_the_configs_do_not_select_are_left_alone():
    harness = PipelineHarness(configs=[select_everything(configmap("settings", {}))])
    harness.upstream.apply(WORKLOAD)
    result = harness.sync()
    assert not result.find("apps/v1", "Deployment", "shop/web")
    with pytest.raises(AssertionError, match="no create of Deployment shop/web"):
        result.created("apps/v1", "Deployment", "shop/web")


def test_a_namesake_the_syncer_does_not_own_is_rejected_not_overwritten():
    harness = PipelineHarness()
    harness.upstream.apply(WORKLOAD)
    harness.downstream.apply(configmap("settings", {"a": "theirs"}))
    result = harness.sync()
    assert {(r.error_type, str(r.key)) for r in result.rejected} >= {
        ("OwnershipConflict", "configmaps:shop/settings")
    }
    theirs = harness.downstream.get("v1", "ConfigMap", "shop/settings")
    assert theirs is not None
    assert theirs["data"] == {"a": "theirs"}


def test_custom_resources_are_served_once_their_crd_is_stated():
    crd = manifests.crd("example.com", "widgets", "Widget", namespaced=True, status=True)
    widget = manifests.cr("example.com", "Widget", "w", "shop", spec={"foo": "bar"})
    harness = PipelineHarness()
    harness.upstream.apply(crd, widget)
    result = harness.sync()
    assert result.created("example.com/v1alpha1", "Widget", "shop/w")["spec"] == {"foo": "bar"}
    harness.assert_at_rest()


def test_a_namespaced_object_without_namespace_goes_to_default_with_its_namespace():
    harness = PipelineHarness()
    harness.upstream.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})
    result = harness.sync()
    assert result.created("v1", "ConfigMap", "default/a")["metadata"]["namespace"] == "default"
    assert result.created("v1", "Namespace", "default")


def test_a_crd_and_its_objects_can_be_stated_together_between_passes():
    crd = manifests.crd("example.com", "widgets", "Widget", namespaced=True, status=False)
    widget = manifests.cr("example.com", "Widget", "w", "shop", spec={"foo": "bar"})
    harness = PipelineHarness(configs=[select_everything(WORKLOAD, crd, widget)])
    harness.upstream.apply(WORKLOAD)
    harness.sync()
    harness.upstream.apply(crd, widget)
    result = harness.sync()
    assert result.created(
        "apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com"
    )
    assert result.created("example.com/v1alpha1", "Widget", "shop/w")["spec"] == {"foo": "bar"}
    harness.assert_at_rest()


def test_an_unknown_kind_is_a_clear_error():
    harness = PipelineHarness()
    with pytest.raises(KeyError, match=r"Gadget .* is not served upstream"):
        harness.upstream.apply(
            {"apiVersion": "x.io/v1", "kind": "Gadget", "metadata": {"name": "g"}}
        )


def test_manifests_are_read_from_yaml_streams_and_lists():
    listed = {"apiVersion": "v1", "kind": "List", "items": [configmap("a", {}), configmap("b", {})]}
    assert [o["metadata"]["name"] for o in manifests_of(WORKLOAD, listed)] == [
        "web",
        "settings",
        "a",
        "b",
    ]


def test_select_everything_names_each_object_and_its_namespace():
    config = select_everything(WORKLOAD)
    assert config["kind"] == "SyncerConfig"
    namespaced = {
        e["resource"]: e["objectsByNamespace"] for e in config["spec"]["namespacedObjects"]
    }
    assert namespaced["deployments"] == [{"namespace": "shop", "names": ["web"]}]
    assert namespaced["configmaps"] == [{"namespace": "shop", "names": ["settings"]}]


def test_the_packaged_discovery_is_kube_apiserver_1_20s():
    discovery = kube_apiserver_discovery()
    assert discovery.server_version == "v1.20.2"
    kinds = {(i.gvr.group, i.kind): i for i in discovery.discovery}
    assert kinds[("apps", "Deployment")].status_subresource
    assert not kinds[("", "ConfigMap")].status_subresource
