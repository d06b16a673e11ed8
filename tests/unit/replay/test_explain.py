"""``explain`` follows one object through the pipeline and says what each stage did."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from syncpipe.cli.main import cli
from syncpipe.hooks import hookimpl
from syncpipe.hooks.transforms import Transform
from syncpipe.model.events import Direction, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import labels_of, with_labels
from syncpipe.replay import explain, explain_render, observe
from syncpipe.testing import PipelineHarness, select_everything
from syncpipe.testing.manifests import configmap
from tests.unit.replay.factories import CM, NS, event, listed, namespace
from tests.unit.replay.factories import configmap as served_configmap


class Vetoer:
    """Vetoes objects labelled ``veto=yes``; labels the rest ``seen=yes``."""

    @hookimpl
    def syncpipe_select(self, key, obj, direction, ctx):
        return False if labels_of(obj).get("veto") == "yes" else None

    @hookimpl
    def syncpipe_register_transforms(self):
        return [Transform(name="seen", forward=lambda obj, ctx: with_labels(obj, {"seen": "yes"}))]


def explained(harness: PipelineHarness, name: str) -> explain.Explanation:
    engine = harness.engine
    info = explain.resolve_kind(engine.apis[Side.UPSTREAM].served, "configmap")
    return explain.explain(
        engine, engine.result(), direction=Direction.DOWN, key=explain.object_key(info, name)
    )


@pytest.fixture
def harness() -> PipelineHarness:
    settings = configmap("shop", "settings", {"a": "1"})
    vetoed = configmap("shop", "secret-ish", {}, labels={"veto": "yes"})
    harness = PipelineHarness(plugins=[Vetoer()], configs=[select_everything(settings, vetoed)])
    harness.upstream.apply(settings, vetoed, configmap("other", "x", {}))
    harness.sync()
    harness.upstream.apply(configmap("shop", "settings", {"a": "2"}))
    harness.sync()
    return harness


def test_a_selected_object_names_its_config_each_transform_in_order_and_its_writes(harness):
    e = explained(harness, "shop/settings")
    assert e.selected
    assert list(e.selected_by) == ["SyncerConfig/everything"]
    assert e.selected_by["SyncerConfig/everything"] == (
        "$.spec.namespacedObjects[0].objectsByNamespace[0]",
    )
    names = [s.name for s in e.steps]
    assert names.index("strip-server-fields") < names.index("seen") < names.index("ownership")
    assert names[-1] == observe.LOCATOR_STEP
    seen = next(s for s in e.steps if s.name == "seen")
    assert seen.changes == (
        observe.Change(path="/metadata/labels", change="added", after={"seen": "yes"}),
    )
    assert e.desired is not None
    assert e.desired["metadata"]["labels"]["seen"] == "yes"
    assert [(w.action.verb, getattr(w.action, "ops", None)) for w in e.writes] == [
        ("create", None),
        ("patch", ({"op": "replace", "path": "/data/a", "value": "2"},)),
    ]
    assert e.target == ObjectKey(CM, "shop", "settings")


def test_an_object_no_config_selects_gets_the_closest_entry_and_what_it_missed(harness):
    e = explained(harness, "other/x")
    assert not e.selected_by
    assert not e.writes
    assert sorted(m.misses for m in e.near_misses) == [
        ("selects namespace 'shop', not 'other'", "selects the name 'secret-ish', not 'x'"),
        ("selects namespace 'shop', not 'other'", "selects the name 'settings', not 'x'"),
    ]
    text = explain_render.render_text(e)
    assert "Not selected: no config selects it." in text
    assert "selects namespace 'shop', not 'other'" in text


def test_a_plugin_veto_is_named_and_nothing_is_transformed_or_written(harness):
    e = explained(harness, "shop/secret-ish")
    assert list(e.selected_by) == ["SyncerConfig/everything"]
    assert e.vetoed_by == ("Vetoer",)
    assert not e.selected
    assert not e.steps
    assert not e.writes
    assert "Vetoed by:" in explain_render.render_text(e)


def test_with_the_copy_as_given_the_reconcile_plan_says_why_nothing_is_written():
    theirs = configmap("shop", "settings", {"a": "theirs"})
    harness = PipelineHarness()
    harness.upstream.apply(configmap("shop", "settings", {"a": "1"}))
    harness.downstream.apply(theirs)
    harness.sync()
    engine = harness.engine
    key = ObjectKey(CM, "shop", "settings")
    given = {explain.copy_key(key): harness.downstream.get("v1", "ConfigMap", "shop/settings")}
    e = explain.explain(
        engine, engine.result(), direction=Direction.DOWN, key=key, given_copies=given
    )
    assert e.plan_reason == "nothing: the copy does not carry this syncer's marks"
    assert e.plan_action is None
    assert [r.error_type for r in e.rejected] == ["OwnershipConflict"]
    assert "One reconcile of the state read: nothing: the copy does not carry" in (
        explain_render.render_text(e)
    )


def test_the_copies_as_given_are_the_last_recorded_state_of_objects_of_that_name():
    settings = served_configmap("shop", "settings", {"a": "1"})
    other = served_configmap("shop", "other", {})
    shop = namespace("shop")
    records = [
        *listed(Side.DOWNSTREAM, NS, shop),
        *listed(Side.DOWNSTREAM, CM, settings, other),
        *listed(Side.UPSTREAM, CM, served_configmap("shop", "settings", {"up": "1"})),
        event(1.0, Side.DOWNSTREAM, "MODIFIED", CM, {**settings, "data": {"a": "2"}}),
        event(2.0, Side.DOWNSTREAM, "DELETED", CM, other),
    ]
    given: dict[explain.CopyKey, dict] = {}
    passed = list(
        explain.keeping_copies(records, side=Side.DOWNSTREAM, name="settings", into=given)
    )
    assert passed == records
    assert given == {
        ("", "configmaps", "shop", "settings"): {**settings, "data": {"a": "2"}},
        ("", "namespaces", "", "shop"): shop,
    }


def test_an_object_that_does_not_exist_is_said_so(harness):
    e = explained(harness, "shop/missing")
    assert not e.found
    assert "Not found upstream" in explain_render.render_text(e)


def test_a_failing_transform_is_the_last_step_with_its_message():
    class Broken:
        @hookimpl
        def syncpipe_register_transforms(self):
            def fail(obj, ctx):
                raise ValueError("no team configured")

            return [Transform(name="broken", forward=fail)]

    harness = PipelineHarness(plugins=[Broken()])
    harness.upstream.apply(configmap("shop", "settings", {}))
    harness.sync()
    e = explained(harness, "shop/settings")
    assert e.steps[-1].name == "broken"
    assert e.steps[-1].error == "no team configured"
    assert e.desired is None
    assert [r.error_type for r in e.rejected] == ["TransformError"]


@pytest.mark.parametrize(
    ("text", "resource"),
    [
        ("Deployment", "deployments"),
        ("deployments", "deployments"),
        ("deployment.apps", "deployments"),
        ("DEPLOYMENTS.apps", "deployments"),
        ("configmap", "configmaps"),
        ("ingress", "ingresses"),
        ("deploy", "deployments"),
        ("CM", "configmaps"),
        ("deploy.apps", "deployments"),
        ("ns", "namespaces"),
    ],
)
def test_kinds_are_named_as_kubectl_names_them(harness, text, resource):
    served = harness.engine.apis[Side.UPSTREAM].served
    assert explain.resolve_kind(served, text).gvr.resource == resource


def test_an_unknown_kind_or_a_misplaced_namespace_is_a_clear_error(harness):
    served = harness.engine.apis[Side.UPSTREAM].served
    with pytest.raises(explain.ExplainError, match="does not have a resource type 'gadget'"):
        explain.resolve_kind(served, "gadget")
    namespaces = explain.resolve_kind(served, "namespace")
    with pytest.raises(explain.ExplainError, match="cluster-scoped"):
        explain.object_key(namespaces, "a/b")
    with pytest.raises(explain.ExplainError, match="NAMESPACE/NAME"):
        explain.object_key(explain.resolve_kind(served, "configmap"), "b")


def test_the_diff_names_each_change_by_json_pointer():
    before = {"metadata": {"labels": {"a/b": "1"}, "name": "x"}, "data": {"k": "v"}}
    after = {"metadata": {"labels": {"a/b": "2"}, "name": "x"}, "spec": [1]}
    assert observe.diff(before, after) == (
        observe.Change(path="/data", change="removed", before={"k": "v"}),
        observe.Change(path="/metadata/labels/a~1b", change="changed", before="1", after="2"),
        observe.Change(path="/spec", change="added", after=[1]),
    )


def test_explain_reads_a_snapshot_offline_as_text_and_as_json(snapshot):
    args = ["explain", "configmap", "shop/settings", "--snapshot", str(snapshot)]
    text = CliRunner().invoke(cli, [*args, "--plugins-disable", "team-label"])
    assert text.exit_code == 0, text.output
    assert "Selected by:\n  SyncerConfig/cfg" in text.output
    assert "strip-server-fields" in text.output
    assert "t=0.500s downsync patch downstream configmaps shop/settings" in text.output
    assert 'replace /data/a "2"' in text.output
    doc = json.loads(CliRunner().invoke(cli, [*args, "-o", "json"]).output)
    assert doc["selected"] is True
    assert doc["plan"] == {"reason": "create: no copy yet", "action": doc["plan"]["action"]}
    assert doc["plan"]["action"]["verb"] == "create"
    assert [w["verb"] for w in doc["writes"]] == ["create", "patch"]
    assert doc["writes"][1]["ops"] == [{"op": "replace", "path": "/data/a", "value": "2"}]
    assert doc["object"] == {
        "side": "upstream",
        "resource": "v1/configmaps",
        "kind": "ConfigMap",
        "namespace": "shop",
        "name": "settings",
    }


def test_going_up_an_object_is_explained_with_the_upsync_writes_only(snapshot):
    args = ["explain", "namespace", "shop", "--snapshot", str(snapshot), "--direction", "up"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "Namespace shop (namespaces, downstream -> upstream)" in result.output
    assert "No config has an entry for upsync." in result.output
    assert "Planned: no write" in result.output  # the downsync of namespace shop is not this
    down = CliRunner().invoke(cli, args[:-2])
    assert "downsync create downstream namespaces shop" in down.output


def test_explain_without_clusters_or_snapshot_is_one_error_line():
    result = CliRunner().invoke(cli, ["explain", "configmap", "a/b"])
    assert result.exit_code == 2
    assert "Error: --upstream-kubeconfig is required" in result.output
