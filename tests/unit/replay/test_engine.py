"""The replay engine drives the live pipeline over memory stores, deterministically."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from syncpipe import builtin
from syncpipe.config.settings import Settings
from syncpipe.hooks import manager
from syncpipe.model.actions import Create, Delete, Patch
from syncpipe.model.events import Side
from syncpipe.model.resources import GroupVersionResource, ResourceInfo
from syncpipe.replay import render
from syncpipe.replay.engine import ReplayEngine
from syncpipe.replay.result import ReplayResult
from syncpipe.replay.snapshot import Header, Record
from syncpipe.runtime import metrics
from tests.unit.replay.factories import (
    CM,
    CONFIG,
    CRDS,
    DEPLOY,
    NS,
    SYNCER_CONFIGS,
    configmap,
    crd,
    custom,
    deployment,
    event,
    header,
    listed,
    namespace,
    served,
    syncer_config,
)

SYNCER = "edge1"
UP, DOWN = Side.UPSTREAM, Side.DOWNSTREAM


def replay(
    head: Header, records: list[Record], **settings: Any
) -> tuple[ReplayEngine, ReplayResult]:
    pm = manager.build(builtins=builtin.MODULES, load_entry_points=False)
    engine = ReplayEngine(header=head, settings=Settings(syncer_name=SYNCER, **settings), pm=pm)
    return engine, engine.run(records)


def initial(*upstream: Record, downstream: tuple[Record, ...] = ()) -> list[Record]:
    """Initial lists: the given upstream ones, empty ones for the rest."""
    listed_up = {r.gvr for r in upstream}
    listed_down = {r.gvr for r in downstream}
    out = [*upstream, *downstream]
    for gvr in (NS, CM, DEPLOY):
        if gvr not in listed_up:
            out += listed(UP, gvr)
        if gvr not in listed_down:
            out += listed(DOWN, gvr)
    return out


def writes(result: ReplayResult) -> list[tuple[str, str, str, str]]:
    return [(w.flow, w.action.verb, w.action.side.value, str(w.action.key)) for w in result.writes]


def test_the_initial_lists_become_creates_of_the_selected_objects_and_their_namespace():
    records = initial(
        *listed(UP, NS, namespace("shop"), namespace("other")),
        *listed(UP, CM, configmap("shop", "settings", {"a": "1"}), configmap("other", "x", {})),
        *listed(UP, DEPLOY, deployment("shop", "web")),
    )
    engine, result = replay(header(configs=(CONFIG,)), records)
    creates = {str(w.action.key) for w in result.writes if isinstance(w.action, Create)}
    assert creates == {"namespaces:shop", "configmaps:shop/settings", "deployments.apps:shop/web"}
    copy = engine.apis[DOWN].get(CM, "shop", "settings")
    assert copy["data"] == {"a": "1"}
    assert copy["metadata"]["labels"]["syncpipe.io/owner"] == SYNCER
    assert engine.apis[DOWN].get_or_none(CM, "other", "x") is None
    assert not result.rejected
    assert not result.pending


def test_a_change_upstream_is_one_minimal_patch_and_a_deletion_one_delete():
    cm = configmap("shop", "settings", {"a": "1", "b": "2"})
    records = initial(*listed(UP, NS, namespace("shop")), *listed(UP, CM, cm))
    changed = {
        **cm,
        "data": {"a": "1", "b": "3"},
        "metadata": {**cm["metadata"], "resourceVersion": "900"},
    }
    records += [
        event(5.0, UP, "MODIFIED", CM, changed),
        event(9.0, UP, "DELETED", CM, changed),
    ]
    _, result = replay(header(configs=(CONFIG,)), records)
    later = [w for w in result.writes if w.t > 0.1]
    assert [(w.t, w.action.verb) for w in later] == [(5.0, "patch"), (9.0, "delete")]
    patch = later[0].action
    assert isinstance(patch, Patch)
    assert list(patch.ops) == [{"op": "replace", "path": "/data/b", "value": "3"}]
    assert isinstance(later[1].action, Delete)
    assert later[1].action.uid  # with the copy's uid as precondition


def test_steady_state_costs_no_write():
    cm = configmap("shop", "settings", {"a": "1"})
    records = initial(*listed(UP, NS, namespace("shop")), *listed(UP, CM, cm))
    engine, first = replay(header(configs=(CONFIG,)), records)
    copies = [engine.apis[DOWN].get(NS, "", "shop"), engine.apis[DOWN].get(CM, "shop", "settings")]
    records = initial(
        *listed(UP, NS, namespace("shop")),
        *listed(UP, CM, cm),
        downstream=(*listed(DOWN, NS, copies[0]), *listed(DOWN, CM, copies[1])),
    )
    _, again = replay(header(configs=(CONFIG,)), records)
    assert first.writes
    assert not again.writes


def test_a_quiet_objects_status_change_is_returned_at_once_and_later_ones_folded():
    web = deployment("shop", "web")
    records = initial(*listed(UP, NS, namespace("shop")), *listed(UP, DEPLOY, web))
    engine, _ = replay(header(configs=(CONFIG,)), records)
    copy = engine.apis[DOWN].get(DEPLOY, "shop", "web")

    def with_status(rv: str, ready: int) -> dict[str, Any]:
        meta = {**copy["metadata"], "resourceVersion": rv}
        return {**copy, "metadata": meta, "status": {"readyReplicas": ready, "replicas": 1}}

    records = initial(
        *listed(UP, NS, namespace("shop")),
        *listed(UP, DEPLOY, web),
        downstream=(
            *listed(DOWN, NS, engine.apis[DOWN].get(NS, "", "shop")),
            *listed(DOWN, DEPLOY, copy),
        ),
    )
    records += [
        event(1.0, DOWN, "MODIFIED", DEPLOY, with_status("50", 0)),  # quiet: at once
        event(1.2, DOWN, "MODIFIED", DEPLOY, with_status("51", 2)),  # within the window...
        event(1.3, DOWN, "MODIFIED", DEPLOY, with_status("52", 1)),  # ...folded: one at 1.5
        event(5.0, DOWN, "MODIFIED", DEPLOY, with_status("53", 0)),  # quiet again
    ]
    _, result = replay(header(configs=(CONFIG,)), records)
    status = [w for w in result.writes if w.flow == "status"]
    assert [(w.t, w.action.side) for w in status] == [(1.0, UP), (1.5, UP), (5.0, UP)]
    assert status[0].action.subresource == "status"
    assert {"op": "add", "path": "/status", "value": {"readyReplicas": 0, "replicas": 1}} in status[
        0
    ].action.ops
    assert status[1].action.ops == ({"op": "replace", "path": "/status/readyReplicas", "value": 1},)
    assert result.summary()["status_writes"] == 3


def test_the_config_selector_picks_the_configs_the_replay_merges_as_live():
    def labelled(name: str, ns: str, edge: str) -> dict[str, Any]:
        config = syncer_config(name, [ns], [("", "v1", "configmaps")])
        return {**config, "metadata": {"name": name, "labels": {"edge": edge}}}

    records = initial(
        *listed(UP, NS, namespace("shop"), namespace("other")),
        *listed(UP, CM, configmap("shop", "a", {}), configmap("other", "b", {})),
    )
    configs = (labelled("one", "shop", "one"), labelled("two", "other", "two"))
    _, result = replay(header(configs=configs), records, syncer_config_selector="edge=one")
    creates = {str(w.action.key) for w in result.writes if isinstance(w.action, Create)}
    assert creates == {"namespaces:shop", "configmaps:shop/a"}


def test_a_namesake_syncpipe_did_not_create_is_rejected_not_overwritten():
    theirs = configmap("shop", "settings", {"a": "mine"})
    records = initial(
        *listed(UP, NS, namespace("shop")),
        *listed(UP, CM, configmap("shop", "settings", {"a": "1"})),
        downstream=(*listed(DOWN, NS, namespace("shop")), *listed(DOWN, CM, theirs)),
    )
    engine, result = replay(header(configs=(CONFIG,)), records)
    assert {(r.error_type, str(r.key)) for r in result.rejected} == {
        ("OwnershipConflict", "configmaps:shop/settings"),
        ("OwnershipConflict", "namespaces:shop"),  # the namespace is someone else's too
    }
    assert engine.apis[DOWN].get(CM, "shop", "settings")["data"] == {"a": "mine"}


def test_configs_recorded_upstream_are_followed_and_a_deselected_copy_is_deleted():
    cm = configmap("shop", "settings", {"a": "1"})
    config = served(CONFIG, uid="cfg-uid")
    records = [
        *initial(*listed(UP, NS, namespace("shop")), *listed(UP, CM, cm)),
        *listed(UP, SYNCER_CONFIGS, config),
        event(3.0, UP, "DELETED", SYNCER_CONFIGS, config),
    ]
    head = header(upstream=(NS, CM, DEPLOY, SYNCER_CONFIGS))
    _, result = replay(head, records)
    deletes = [(w.t, str(w.action.key)) for w in result.writes if isinstance(w.action, Delete)]
    assert (3.0, "configmaps:shop/settings") in deletes


WIDGETS = GroupVersionResource("example.com", "v1", "widgets")
WIDGETS_INFO = ResourceInfo(
    gvr=WIDGETS, kind="Widget", namespaced=True, verbs={"get", "list", "watch"}
)


def test_a_custom_resource_waits_for_its_crd_which_is_downsynced_first():
    widgets_crd = crd("example.com", "widgets", "Widget")
    config = syncer_config("cfg", ["shop"], [("example.com", "v1", "widgets")])
    config["spec"]["clusterScope"] = [
        {
            "group": "apiextensions.k8s.io",
            "apiVersion": "v1",
            "resource": "customresourcedefinitions",
            "objects": ["widgets.example.com"],
        }
    ]
    records = [
        *initial(*listed(UP, NS, namespace("shop"))),
        *listed(UP, CRDS, widgets_crd),
        *listed(UP, WIDGETS, custom("example.com", "Widget", "shop", "w", spec={"size": 1})),
        *listed(DOWN, CRDS),
    ]
    head = header(
        upstream=(NS, CM, DEPLOY, CRDS),
        downstream=(NS, CM, DEPLOY, CRDS),
        configs=(config,),
    )
    engine, result = replay(head, records)
    created = [str(w.action.key) for w in result.writes if isinstance(w.action, Create)]
    assert created.index("customresourcedefinitions.apiextensions.k8s.io:widgets.example.com") < (
        created.index("widgets.example.com:shop/w")
    )
    assert engine.apis[DOWN].get(WIDGETS, "shop", "w")["spec"] == {"size": 1}
    assert not result.pending
    assert not result.rejected


def test_what_never_becomes_possible_is_reported_as_pending():
    config = syncer_config("cfg", ["shop"], [("example.com", "v1", "widgets")])
    head = header(configs=(config,), upstream_extra=(WIDGETS_INFO,))
    records = [
        *initial(*listed(UP, NS, namespace("shop"))),
        *listed(UP, WIDGETS, custom("example.com", "Widget", "shop", "w")),
    ]
    _, result = replay(head, records)
    assert [(p.flow, str(p.key), p.error_type) for p in result.pending] == [
        ("downsync", "widgets.example.com:shop/w", "RetryableError")
    ]
    assert "not served on the downstream side" in result.pending[0].message


def test_the_same_snapshot_gives_the_same_plan_byte_for_byte():
    records = initial(
        *listed(UP, NS, namespace("shop")),
        *listed(UP, CM, configmap("shop", "a", {"k": "1"}), configmap("shop", "b", {"k": "1"})),
        *listed(UP, DEPLOY, deployment("shop", "web")),
    )
    records.append(event(2.0, UP, "DELETED", CM, configmap("shop", "b", {"k": "1"})))
    outputs = []
    for _ in range(2):
        _, result = replay(header(configs=(CONFIG,)), records)
        json_out, table_out = io.StringIO(), io.StringIO()
        render.render_json(result, json_out)
        render.render_table(result, table_out)
        outputs.append((json_out.getvalue(), table_out.getvalue()))
    assert outputs[0] == outputs[1]
    assert '"verb": "delete"' in outputs[0][0]


def test_the_report_names_what_a_replay_does_not_emulate():
    _, result = replay(header(configs=(CONFIG,)), initial(*listed(UP, NS, namespace("shop"))))
    json_out, table_out = io.StringIO(), io.StringIO()
    render.render_json(result, json_out)
    render.render_table(result, table_out)
    last_line = table_out.getvalue().splitlines()[-1]
    assert last_line.startswith("not compared/emulated: server-side defaulting, finalizers")
    names = [entry["name"] for entry in json.loads(json_out.getvalue())["not_emulated"]]
    assert "garbage collection" in names
    assert all(entry["reason"] for entry in json.loads(json_out.getvalue())["not_emulated"])


@pytest.mark.parametrize("flag", [True, False])
def test_status_return_can_be_turned_off(flag):
    web = deployment("shop", "web")
    engine, _ = replay(
        header(configs=(CONFIG,)),
        initial(*listed(UP, NS, namespace("shop")), *listed(UP, DEPLOY, web)),
    )
    copy = engine.apis[DOWN].get(DEPLOY, "shop", "web")
    records = initial(
        *listed(UP, NS, namespace("shop")),
        *listed(UP, DEPLOY, web),
        downstream=(
            *listed(DOWN, NS, engine.apis[DOWN].get(NS, "", "shop")),
            *listed(DOWN, DEPLOY, copy),
        ),
    )
    records.append(event(1.0, DOWN, "MODIFIED", DEPLOY, {**copy, "status": {"replicas": 1}}))
    _, result = replay(header(configs=(CONFIG,)), records, status_return=flag)
    assert bool(result.summary()["status_writes"]) is flag


def test_a_status_change_seen_while_the_copys_api_is_not_served_is_returned_once_it_is():
    """The downstream's discovery may leave a resource out for a while (a restarted API server
    lists only some groups until it is ready): a status change of a copy seen meanwhile is
    retried until the resource is served again, never dropped."""
    widgets_crd = crd("example.com", "widgets", "Widget")
    config = syncer_config("cfg", ["shop"], [("example.com", "v1", "widgets")])
    head = header(
        downstream=(NS, CM, DEPLOY, CRDS), configs=(config,), upstream_extra=(WIDGETS_INFO,)
    )
    upstream = (
        *listed(UP, NS, namespace("shop")),
        *listed(UP, WIDGETS, custom("example.com", "Widget", "shop", "w", spec={"size": 1})),
    )
    engine, _ = replay(head, [*initial(*upstream), *listed(DOWN, CRDS, widgets_crd)])
    copy = engine.apis[DOWN].get(WIDGETS, "shop", "w")
    with_status = {
        **copy,
        "metadata": {**copy["metadata"], "resourceVersion": "60"},
        "status": {"ready": True},
    }
    records = [
        *initial(*upstream, downstream=tuple(listed(DOWN, NS, namespace("shop")))),
        *listed(DOWN, CRDS, widgets_crd),
        *listed(DOWN, WIDGETS, copy),
        event(1.0, DOWN, "DELETED", CRDS, widgets_crd),  # widgets not served downstream...
        event(1.5, DOWN, "MODIFIED", WIDGETS, with_status),  # ...when the status changes
        event(5.0, DOWN, "ADDED", CRDS, widgets_crd),  # served again
    ]
    _, result = replay(head, records)
    status = [w for w in result.writes if w.flow == "status"]
    assert [(w.action.side, str(w.action.key)) for w in status] == [
        (UP, "widgets.example.com:shop/w")
    ]
    assert status[0].t >= 5.0
    assert {"op": "add", "path": "/status", "value": {"ready": True}} in status[0].action.ops


def test_a_replays_planned_writes_are_not_counted_as_the_processs_writes():
    """The write counter (``syncpipe_writes_total``) counts the live syncer's writes only: a
    replay plans writes nobody makes, and ``plan``/``explain`` run one inside the CLI."""
    labels = {"side": DOWN.value, "verb": "create", "subresource": ""}
    before = metrics.REGISTRY.get_sample_value("syncpipe_writes_total", labels) or 0.0
    records = initial(
        *listed(UP, NS, namespace("shop")),
        *listed(UP, CM, configmap("shop", "settings", {"a": "1"})),
    )
    engine, result = replay(header(configs=(CONFIG,)), records)
    assert any(isinstance(w.action, Create) for w in result.writes)
    assert (metrics.REGISTRY.get_sample_value("syncpipe_writes_total", labels) or 0.0) == before
    assert not engine.hooks.pm.has_plugin(metrics.WRITE_COUNTER)
