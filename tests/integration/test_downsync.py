"""Downsync on the real control planes: selection, updates, deletion, ownership, writes at rest."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from syncpipe.model.events import Direction
from syncpipe.model.objects import name_of
from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime.syncer import SYNCER_CONFIGS, Syncer
from syncpipe.testing import wait_for
from syncpipe.testing.manifests import configmap, deployment

pytestmark = [pytest.mark.apiserver, pytest.mark.usefixtures("syncer_crds")]

CM = GroupVersionResource("", "v1", "configmaps")
NS = GroupVersionResource("", "v1", "namespaces")
SECRETS = GroupVersionResource("", "v1", "secrets")
DEPLOY = GroupVersionResource("apps", "v1", "deployments")


@pytest.fixture
def running(make_syncer, unique_name) -> Iterator[Syncer]:
    """A started syncer named after the test (``make_syncer`` removes every config after)."""
    syncer = make_syncer(unique_name)
    syncer.start()
    yield syncer
    syncer.stop(timeout=10)


def syncer_config(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "SyncerConfig",
        "metadata": {"name": name},
        "spec": spec,
    }


def namespace_scope(name: str, ns: str, *resources: GroupVersionResource) -> dict[str, Any]:
    """A SyncerConfig selecting ``resources`` in namespace ``ns`` (``namespaceScope``)."""
    selected = [
        {"group": r.group, "resource": r.resource, "apiVersion": r.version} for r in resources
    ]
    return syncer_config(name, {"namespaceScope": {"namespaces": [ns], "resources": selected}})


def configmaps_of(name: str, ns: str) -> dict[str, Any]:
    """A SyncerConfig selecting the ConfigMaps of namespace ``ns``."""
    return namespace_scope(name, ns, CM)


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def test_namespace_scope_downsyncs_selected_objects_and_nothing_else(
    running, up_rest, down_rest, unique_name
):
    ns, other = unique_name, f"{unique_name}-x"
    for n in (ns, other):
        up_rest.create(NS, "", namespace(n))
    up_rest.create(CM, ns, configmap(ns, "cm1", {"a": "1"}))
    up_rest.create(CM, other, configmap(other, "cm1", {"a": "1"}))
    up_rest.create(
        SECRETS, ns, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"}, "data": {}}
    )
    up_rest.create(
        SYNCER_CONFIGS,
        "",
        configmaps_of(unique_name, ns),
    )
    copy = wait_for(lambda: down_rest.get_or_none(CM, ns, "cm1"), timeout=30)
    assert copy["data"] == {"a": "1"}
    assert (
        copy["metadata"]["annotations"]["edge.kubestellar.io/downsynced"] == f"ConfigMap/{ns}/cm1"
    )
    wait_for(lambda: down_rest.get_or_none(NS, "", ns), timeout=30)
    wait_for(lambda: running.ready.is_set(), timeout=30)
    assert down_rest.get_or_none(CM, other, "cm1") is None
    assert down_rest.get_or_none(SECRETS, ns, "s1") is None
    assert down_rest.get_or_none(NS, "", other) is None

    # One upstream change costs one patch downstream.
    before = dict(running.downstream.requests_by_verb)
    up_rest.merge_patch(CM, ns, "cm1", {"data": {"a": "2"}, "metadata": {"labels": {"x": "y"}}})
    wait_for(lambda: down_rest.get(CM, ns, "cm1")["data"] == {"a": "2"}, timeout=30)
    wait_for(lambda: down_rest.get(CM, ns, "cm1")["metadata"].get("labels", {}).get("x") == "y")
    after = dict(running.downstream.requests_by_verb)
    assert after.get("patch", 0) - before.get("patch", 0) == 1
    assert after.get("create", 0) == before.get("create", 0)

    # Drift: an owned field edited downstream is put back; a foreign label is left alone.
    down_rest.merge_patch(
        CM, ns, "cm1", {"data": {"a": "drift"}, "metadata": {"labels": {"tool": "t"}}}
    )
    wait_for(lambda: down_rest.get(CM, ns, "cm1")["data"] == {"a": "2"}, timeout=30)
    assert down_rest.get(CM, ns, "cm1")["metadata"]["labels"]["tool"] == "t"

    # Upstream delete -> downstream delete.
    up_rest.delete(CM, ns, "cm1")
    wait_for(lambda: down_rest.get_or_none(CM, ns, "cm1") is None, timeout=30)


def test_steady_state_costs_zero_writes_even_for_defaulted_deployments(
    running, up_rest, down_rest, unique_name
):
    ns = unique_name
    up_rest.create(NS, "", namespace(ns))
    up_rest.create(DEPLOY, ns, deployment(ns, "web"))
    for i in range(5):
        up_rest.create(CM, ns, configmap(ns, f"cm{i}", {"k": str(i)}))
    up_rest.create(
        SYNCER_CONFIGS,
        "",
        syncer_config(
            unique_name,
            {
                "namespacedObjects": [
                    {
                        "group": "apps",
                        "resource": "deployments",
                        "apiVersion": "v1",
                        "objectsByNamespace": [{"namespace": ns, "names": ["*"]}],
                    },
                    {
                        "group": "",
                        "resource": "configmaps",
                        "apiVersion": "v1",
                        "objectsByNamespace": [{"namespace": ns, "names": ["cm0", "cm1", "cm2"]}],
                    },
                ]
            },
        ),
    )
    wait_for(lambda: down_rest.get_or_none(DEPLOY, ns, "web"), timeout=30)
    # kube-controller-manager writes the Deployment's status downstream.
    wait_for(
        lambda: (down_rest.get(DEPLOY, ns, "web").get("status") or {}).get("observedGeneration"),
        timeout=60,
    )
    for i in range(3):
        wait_for(lambda i=i: down_rest.get_or_none(CM, ns, f"cm{i}"), timeout=30)
    assert down_rest.get_or_none(CM, ns, "cm3") is None
    wait_for(lambda: running.ready.is_set(), timeout=30)
    wait_for(lambda: len(running.down_queue) == 0, timeout=30)
    settle = threading.Event()
    settle.wait(2.0)
    writes_before = {
        k: v
        for k, v in running.downstream.requests_by_verb.items()
        if k in ("create", "patch", "update", "delete")
    }
    # A full resync from the caches re-checks every owned object.
    resynced = sum(informer.resync() for informer in running._all_informers())
    assert resynced > 0
    settle.wait(3.0)
    writes_after = {
        k: v
        for k, v in running.downstream.requests_by_verb.items()
        if k in ("create", "patch", "update", "delete")
    }
    assert writes_after == writes_before


def test_a_downstream_namesake_we_did_not_create_is_left_alone(
    running, up_rest, down_rest, unique_name
):
    ns = unique_name
    up_rest.create(NS, "", namespace(ns))
    down_rest.create(NS, "", namespace(ns))
    down_rest.create(CM, ns, configmap(ns, "theirs", {"owner": "someone-else"}))
    up_rest.create(CM, ns, configmap(ns, "theirs", {"owner": "upstream"}))
    up_rest.create(CM, ns, configmap(ns, "ours", {"owner": "upstream"}))
    up_rest.create(
        SYNCER_CONFIGS,
        "",
        configmaps_of(unique_name, ns),
    )
    wait_for(lambda: down_rest.get_or_none(CM, ns, "ours"), timeout=30)
    wait_for(lambda: any("theirs" in k for k in running._rejected), timeout=30)
    assert down_rest.get(CM, ns, "theirs")["data"] == {"owner": "someone-else"}
    # The conflict is an Event on the upstream object, where the mailbox's users look.
    events = GroupVersionResource("", "v1", "events")

    def conflict_event() -> bool:
        items, _ = up_rest.list(events, ns)
        return any(
            e["reason"] == "SyncConflict" and e["involvedObject"]["name"] == "theirs" for e in items
        )

    wait_for(conflict_event, timeout=30)
    # Deselecting (deleting the config) deletes what we created, never theirs, never the namespace.
    up_rest.delete(SYNCER_CONFIGS, "", unique_name)
    wait_for(lambda: down_rest.get_or_none(CM, ns, "ours") is None, timeout=30)
    assert down_rest.get(CM, ns, "theirs")["data"] == {"owner": "someone-else"}
    assert down_rest.get_or_none(NS, "", ns) is not None


def test_downsync_overwrite_false_keeps_downstream_edits_and_survives_upstream_delete(
    running, up_rest, down_rest, unique_name
):
    ns = unique_name
    up_rest.create(NS, "", namespace(ns))
    frozen_anno = {"edge.kubestellar.io/downsync-overwrite": "false"}
    up_rest.create(CM, ns, configmap(ns, "cm", {"field1": "value1"}))
    up_rest.create(CM, ns, configmap(ns, "keep", {"field1": "value1"}, annotations=frozen_anno))
    up_rest.create(
        SYNCER_CONFIGS,
        "",
        syncer_config(
            unique_name,
            {
                "namespacedObjects": [
                    {
                        "group": "",
                        "resource": "configmaps",
                        "apiVersion": "v1",
                        "objectsByNamespace": [{"namespace": ns, "names": ["cm", "keep"]}],
                    }
                ]
            },
        ),
    )
    for name in ("cm", "keep"):
        wait_for(lambda name=name: down_rest.get_or_none(CM, ns, name), timeout=30)
    for name in ("cm", "keep"):
        down_rest.merge_patch(CM, ns, name, {"data": {"field1": "bar update"}})
    wait_for(lambda: down_rest.get(CM, ns, "cm")["data"]["field1"] == "value1", timeout=30)
    assert down_rest.get(CM, ns, "keep")["data"]["field1"] == "bar update"
    # Flip to "true": upstream is the truth again.
    up_rest.merge_patch(
        CM,
        ns,
        "keep",
        {"metadata": {"annotations": {"edge.kubestellar.io/downsync-overwrite": "true"}}},
    )
    wait_for(lambda: down_rest.get(CM, ns, "keep")["data"]["field1"] == "value1", timeout=30)
    # Back to "false", then upstream deletion leaves the copy.
    up_rest.merge_patch(CM, ns, "keep", {"metadata": {"annotations": frozen_anno}})
    wait_for(
        lambda: (
            down_rest.get(CM, ns, "keep")["metadata"]["annotations"].get(
                "edge.kubestellar.io/downsync-overwrite"
            )
            == "false"
        ),
        timeout=30,
    )
    up_rest.delete(CM, ns, "keep")
    up_rest.delete(CM, ns, "cm")
    wait_for(lambda: down_rest.get_or_none(CM, ns, "cm") is None, timeout=30)
    assert down_rest.get_or_none(CM, ns, "keep") is not None


def test_status_returns_upstream_from_the_controller_manager(
    running, up_rest, down_rest, unique_name
):
    ns = unique_name
    up_rest.create(NS, "", namespace(ns))
    up_rest.create(DEPLOY, ns, deployment(ns, "web"))
    up_rest.create(
        SYNCER_CONFIGS,
        "",
        namespace_scope(unique_name, ns, DEPLOY),
    )
    wait_for(
        lambda: (
            (down_rest.get_or_none(DEPLOY, ns, "web") or {})
            .get("status", {})
            .get("observedGeneration")
        ),
        timeout=60,
    )

    def returned() -> bool:
        down = down_rest.get(DEPLOY, ns, "web").get("status")
        up = up_rest.get(DEPLOY, ns, "web").get("status")
        return bool(down) and down == up

    wait_for(returned, timeout=60)


def test_status_return_can_be_turned_off_per_object_and_per_syncer_config(
    running, up_rest, down_rest, unique_name
):
    ns = unique_name
    up_rest.create(NS, "", namespace(ns))
    for name in ("on", "off-object", "off-config"):
        body = deployment(ns, name)
        if name == "off-object":
            body["metadata"]["annotations"] = {"edge.kubestellar.io/return-status": "false"}
        up_rest.create(DEPLOY, ns, body)

    def objects_config(name: str, names: list[str], **meta: Any) -> dict[str, Any]:
        config = syncer_config(
            name,
            {
                "namespacedObjects": [
                    {
                        "group": "apps",
                        "resource": "deployments",
                        "apiVersion": "v1",
                        "objectsByNamespace": [{"namespace": ns, "names": names}],
                    }
                ]
            },
        )
        config["metadata"].update(meta)
        return config

    up_rest.create(SYNCER_CONFIGS, "", objects_config(f"{unique_name}-a", ["on", "off-object"]))
    up_rest.create(
        SYNCER_CONFIGS,
        "",
        objects_config(
            f"{unique_name}-b",
            ["off-config"],
            annotations={"edge.kubestellar.io/return-status": "false"},
        ),
    )
    for name in ("on", "off-object", "off-config"):
        wait_for(
            lambda name=name: (
                (down_rest.get_or_none(DEPLOY, ns, name) or {})
                .get("status", {})
                .get("observedGeneration")
            ),
            timeout=60,
        )
    # The one with status return on shows the synchronisation point: by then the others
    # would have been written too.
    wait_for(lambda: up_rest.get(DEPLOY, ns, "on").get("status"), timeout=60)
    threading.Event().wait(2.0)
    assert not up_rest.get(DEPLOY, ns, "off-object").get("status")
    assert not up_rest.get(DEPLOY, ns, "off-config").get("status")


def test_the_polling_source_syncs_creates_updates_and_deletes(
    make_syncer, up_rest, down_rest, unique_name
):
    syncer = make_syncer(unique_name, source_mode="poll", poll_interval=0.5)
    syncer.start()
    try:
        ns = unique_name
        up_rest.create(NS, "", namespace(ns))
        up_rest.create(CM, ns, configmap(ns, "cm", {"v": "1"}))
        up_rest.create(
            SYNCER_CONFIGS,
            "",
            configmaps_of(unique_name, ns),
        )
        wait_for(lambda: down_rest.get_or_none(CM, ns, "cm"), timeout=30)
        up_rest.merge_patch(CM, ns, "cm", {"data": {"v": "2"}})
        wait_for(lambda: down_rest.get(CM, ns, "cm")["data"] == {"v": "2"}, timeout=30)
        up_rest.delete(CM, ns, "cm")
        wait_for(lambda: down_rest.get_or_none(CM, ns, "cm") is None, timeout=30)
    finally:
        syncer.stop(timeout=10)
        up_rest.delete(SYNCER_CONFIGS, "", unique_name)


def test_overlapping_configs_removing_one_deselects_only_what_it_alone_selected(
    running, up_rest, down_rest, unique_name
):
    ns = unique_name
    up_rest.create(NS, "", namespace(ns))
    for name in ("shared", "only-a", "only-b"):
        up_rest.create(CM, ns, configmap(ns, name, {"n": name}))

    def names_config(name: str, names: list[str]) -> dict[str, Any]:
        return syncer_config(
            name,
            {
                "namespacedObjects": [
                    {
                        "group": "",
                        "resource": "configmaps",
                        "apiVersion": "v1",
                        "objectsByNamespace": [{"namespace": ns, "names": names}],
                    }
                ]
            },
        )

    up_rest.create(SYNCER_CONFIGS, "", names_config(f"{unique_name}-a", ["shared", "only-a"]))
    up_rest.create(SYNCER_CONFIGS, "", names_config(f"{unique_name}-b", ["shared", "only-b"]))
    for name in ("shared", "only-a", "only-b"):
        wait_for(lambda name=name: down_rest.get_or_none(CM, ns, name), timeout=30)
    up_rest.delete(SYNCER_CONFIGS, "", f"{unique_name}-a")
    wait_for(lambda: down_rest.get_or_none(CM, ns, "only-a") is None, timeout=30)
    assert down_rest.get_or_none(CM, ns, "shared") is not None
    assert down_rest.get_or_none(CM, ns, "only-b") is not None
    assert down_rest.get_or_none(NS, "", ns) is not None


def test_a_restarted_syncer_converges_without_recreating_or_rewriting_synced_objects(
    make_syncer, up_rest, down_rest, unique_name
):
    ns = unique_name
    up_rest.create(NS, "", namespace(ns))
    for i in range(30):
        up_rest.create(CM, ns, configmap(ns, f"cm{i}", {"i": str(i)}))
    up_rest.create(
        SYNCER_CONFIGS,
        "",
        configmaps_of(unique_name, ns),
    )
    first = make_syncer(unique_name)
    first.start()
    try:
        wait_for(lambda: down_rest.get_or_none(CM, ns, "cm29"), timeout=30)
        wait_for(lambda: len(down_rest.list(CM, ns)[0]) >= 31, timeout=30)
    finally:
        first.stop(timeout=10)
    uids = {name_of(o): o["metadata"]["uid"] for o in down_rest.list(CM, ns)[0]}
    # While it was down: one change, one delete, one new object upstream.
    up_rest.merge_patch(CM, ns, "cm0", {"data": {"i": "changed"}})
    up_rest.delete(CM, ns, "cm1")
    up_rest.create(CM, ns, configmap(ns, "new", {"i": "new"}))
    second = make_syncer(unique_name)
    second.start()
    try:
        wait_for(lambda: second.ready.is_set(), timeout=60)
        wait_for(lambda: down_rest.get_or_none(CM, ns, "new"), timeout=30)
        wait_for(lambda: down_rest.get(CM, ns, "cm0")["data"] == {"i": "changed"}, timeout=30)
        wait_for(lambda: down_rest.get_or_none(CM, ns, "cm1") is None, timeout=30)
        after = {name_of(o): o["metadata"]["uid"] for o in down_rest.list(CM, ns)[0]}
        for name, uid in after.items():
            if name in uids:
                assert uids[name] == uid, f"{name} was recreated"
        writes = {
            verb: n
            for verb, n in second.downstream.requests_by_verb.items()
            if verb in ("create", "patch", "update", "delete")
        }
        assert writes == {"create": 1, "patch": 1, "delete": 1}
    finally:
        second.stop(timeout=10)
        up_rest.delete(SYNCER_CONFIGS, "", unique_name)


def test_an_upstream_view_that_suddenly_lists_empty_deletes_nothing_beyond_the_breaker(
    running, up_rest, down_rest, unique_name
):
    ns = unique_name
    up_rest.create(NS, "", namespace(ns))
    for i in range(40):
        up_rest.create(CM, ns, configmap(ns, f"cm{i}", {"i": str(i)}))
    up_rest.create(
        SYNCER_CONFIGS,
        "",
        configmaps_of(unique_name, ns),
    )
    wait_for(lambda: len(down_rest.list(CM, ns)[0]) >= 41, timeout=60)
    wait_for(lambda: running.ready.is_set(), timeout=30)
    # A relist that suddenly comes back empty (as after a revoked RBAC grant or a wrong
    # workspace): the cache is replaced by nothing, every object looks deleted.
    source = running.flows[Direction.DOWN].sources[CM]
    assert source.informer is not None
    source.informer.store.replace([], source.informer.store.resource_version)
    wait_for(lambda: running.guard.tripped, timeout=30)
    threading.Event().wait(3.0)
    remaining = [o for o in down_rest.list(CM, ns)[0] if o["metadata"]["name"].startswith("cm")]
    # Only the breaker's allowance (20 % of the owned copies, at least 5) went.
    assert len(remaining) >= 40 - max(5, int(0.2 * 41)) - 1
    assert len(remaining) < 40


def test_status_held_back_by_a_downsync_backlog_still_returns(
    make_syncer, up_rest, down_rest, unique_name
):
    """Status return waits while downsync has a backlog (``runtime.statushold``), bounded per
    key: a Deployment's status written during a big initial sync still comes back."""
    ns = unique_name
    up_rest.create(NS, "", namespace(ns))
    up_rest.create(DEPLOY, ns, deployment(ns, "web"))
    for i in range(300):
        up_rest.create(CM, ns, configmap(ns, f"cm-{i:03d}", {"i": str(i)}))
    up_rest.create(
        SYNCER_CONFIGS,
        "",
        namespace_scope(unique_name, ns, DEPLOY, CM),
    )
    syncer = make_syncer(unique_name, write_concurrency=1)
    syncer.start()
    try:

        def returned() -> bool:
            down = (down_rest.get_or_none(DEPLOY, ns, "web") or {}).get("status")
            up = up_rest.get(DEPLOY, ns, "web").get("status")
            return bool(down) and down.get("observedGeneration") is not None and down == up

        wait_for(returned, timeout=60)
        wait_for(lambda: len(down_rest.list(CM, ns)[0]) >= 300, timeout=60)
        # Once the backlog is gone the last status written downstream is the one upstream.
        wait_for(lambda: len(syncer.queues["downsync"]) == 0, timeout=30)
        wait_for(returned, timeout=30)
    finally:
        syncer.stop(timeout=10)
        up_rest.delete(SYNCER_CONFIGS, "", unique_name)


def test_a_copy_created_in_steady_state_and_deleted_downstream_is_created_again(
    running, up_rest, down_rest, unique_name
):
    ns = unique_name
    up_rest.create(NS, "", namespace(ns))
    up_rest.create(CM, ns, configmap(ns, "first", {"a": "1"}))
    up_rest.create(SYNCER_CONFIGS, "", configmaps_of(unique_name, ns))
    wait_for(running.ready.is_set, timeout=60, message="syncer not ready")
    up_rest.create(CM, ns, configmap(ns, "later", {"a": "1"}))
    created = wait_for(lambda: down_rest.get_or_none(CM, ns, "later"), timeout=30)
    down_rest.delete(CM, ns, "later")
    again = wait_for(
        lambda: (
            (copy := down_rest.get_or_none(CM, ns, "later"))
            and copy["metadata"]["uid"] != created["metadata"]["uid"]
            and copy
        ),
        timeout=30,
        message="the deleted copy was not created again",
    )
    assert again["data"] == {"a": "1"}
