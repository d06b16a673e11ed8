"""Upsync, CRD-first downsync and status return through CRDs, on the real control planes."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from syncpipe.hooks import hookimpl
from syncpipe.model.actions import Action, Delete
from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime.syncer import SYNCER_CONFIGS, Syncer
from syncpipe.testing import create_established, wait_established, wait_for
from syncpipe.testing.manifests import cr, crd, crd_first_config, status_crds

pytestmark = [pytest.mark.apiserver, pytest.mark.usefixtures("syncer_crds")]

CRDS = GroupVersionResource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
NS = GroupVersionResource("", "v1", "namespaces")


@pytest.fixture
def start_syncer(make_syncer, unique_name) -> Iterator[Callable[[], Syncer]]:
    """Starts the test's syncer when called; stops it after (``make_syncer`` removes every
    config)."""
    started: list[Syncer] = []

    def start() -> Syncer:
        syncer = make_syncer(unique_name)
        syncer.start()
        started.append(syncer)
        return syncer

    yield start
    for syncer in started:
        syncer.stop(timeout=10)


@pytest.fixture
def running(start_syncer) -> Syncer:
    return start_syncer()


def syncer_state(syncer: Syncer, down_rest, gvr: GroupVersionResource) -> Callable[[], str]:
    """What a failed wait for a copy of ``gvr`` should tell: the syncer's view and the API's."""

    def describe() -> str:
        try:
            listed = down_rest.request("GET", f"/apis/{gvr.group}/{gvr.version}")
            served = sorted(r["name"] for r in listed.get("resources") or ())
        except Exception as exc:  # noqa: BLE001 - reported, not handled
            served = [f"({type(exc).__name__}: {exc})"]
        return (
            f"syncer syncs {syncer.describe()}, {syncer.statistics()}; downstream "
            f"{gvr.group}/{gvr.version} serves {served}"
        )

    return describe


def create_crds(up_rest, group: str) -> None:
    create_established(up_rest, *status_crds(group))


def test_crds_and_their_custom_resources_downsync_crd_first_and_status_returns(
    running, up_rest, down_rest, unique_name
):
    group = f"{unique_name}.example.com"
    create_crds(up_rest, group)
    up_rest.create(SYNCER_CONFIGS, "", crd_first_config(unique_name, group))
    gvr_with = GroupVersionResource(group, "v1alpha1", "withstatuses")
    gvr_without = GroupVersionResource(group, "v1alpha1", "withouts")
    up_rest.create(gvr_with, "", cr(group, "WithStatus", "a", spec={"foo": "bar downsync"}))
    up_rest.create(gvr_without, "", cr(group, "Without", "sample", spec={"foo": "bar downsync"}))
    up_rest.create(gvr_without, "", cr(group, "Without", "not-selected", spec={"foo": "x"}))
    wait_for(
        lambda: down_rest.get_or_none(gvr_with, "", "a"),
        timeout=60,
        ignore=(Exception,),
        message=syncer_state(running, down_rest, gvr_with),
    )
    wait_for(
        lambda: down_rest.get_or_none(gvr_without, "", "sample"),
        timeout=60,
        ignore=(Exception,),
        message=syncer_state(running, down_rest, gvr_without),
    )
    assert down_rest.get(gvr_with, "", "a")["spec"] == {"foo": "bar downsync"}
    assert down_rest.get_or_none(gvr_without, "", "not-selected") is None

    # Status written downstream (via /status, and via the main resource) comes back upstream.
    copy = down_rest.get(gvr_with, "", "a")
    down_rest.replace(
        gvr_with, "", "a", {**copy, "status": {"state": "pass"}}, subresource="status"
    )
    copy = down_rest.get(gvr_without, "", "sample")
    down_rest.replace(gvr_without, "", "sample", {**copy, "status": {"state": "pass"}})
    wait_for(lambda: up_rest.get(gvr_with, "", "a").get("status") == {"state": "pass"}, timeout=30)
    wait_for(
        lambda: up_rest.get(gvr_without, "", "sample").get("status") == {"state": "pass"},
        timeout=30,
    )
    # ... and the downsync does not push the upstream spec-less status back and forth.
    assert down_rest.get(gvr_without, "", "sample").get("status") == {"state": "pass"}

    # The config stops selecting, and the CRD goes away upstream: the owned copies are deleted.
    up_rest.delete(SYNCER_CONFIGS, "", unique_name)
    up_rest.delete(gvr_with, "", "a")
    wait_for(
        lambda: down_rest.get_or_none(gvr_with, "", "a") is None, timeout=60, ignore=(Exception,)
    )
    wait_for(
        lambda: down_rest.get_or_none(gvr_without, "", "sample") is None,
        timeout=60,
        ignore=(Exception,),
    )


def test_a_syncer_started_after_its_config_watches_each_copy_once(
    start_syncer, up_rest, down_rest, unique_name
):
    """Everything is in place upstream before the syncer starts, as after a restart: the copies
    arrive, and the start-up search for owned copies of unwatched resources does not watch the
    CRD copies a second time through apiextensions.k8s.io/v1beta1 (each copy counted once).

    A CRD's status is its server's own: the downstream copies' conditions never overwrite the
    upstream CRDs' (their times differ here: the copies are made over a second later)."""
    group = f"{unique_name}.example.com"
    create_crds(up_rest, group)
    time.sleep(1.1)  # condition times have one-second resolution
    up_rest.create(SYNCER_CONFIGS, "", crd_first_config(unique_name, group))
    gvr_with = GroupVersionResource(group, "v1alpha1", "withstatuses")
    gvr_without = GroupVersionResource(group, "v1alpha1", "withouts")
    up_rest.create(gvr_with, "", cr(group, "WithStatus", "a", spec={"foo": "bar"}))
    up_rest.create(gvr_without, "", cr(group, "Without", "sample", spec={"foo": "bar"}))
    syncer = start_syncer()
    for gvr, name in ((gvr_with, "a"), (gvr_without, "sample")):
        wait_for(
            lambda gvr=gvr, name=name: down_rest.get_or_none(gvr, "", name),
            timeout=60,
            ignore=(Exception,),
            message=syncer_state(syncer, down_rest, gvr),
        )
    assert syncer.ready.wait(30), "the initial sync did not finish"
    # Two CRDs and two custom resources, each owned copy counted once.
    wait_for(
        lambda: syncer.owned_count() == 4, timeout=10, message=lambda: str(syncer.statistics())
    )
    wait_for(lambda: not syncer.queues["status"].statistics().waiting, timeout=10)
    for plural in ("withstatuses", "withouts"):
        upstream_crd = up_rest.get(CRDS, "", f"{plural}.{group}")
        downstream_crd = down_rest.get(CRDS, "", f"{plural}.{group}")
        # Returned, they would be equal (the upstream controllers leave times they agree with).
        assert upstream_crd["status"]["conditions"] != downstream_crd["status"]["conditions"]


class DeleteLog:
    """A plugin recording the name of every object the syncer deleted, by resource."""

    def __init__(self) -> None:
        self.deleted: collections.Counter[tuple[str, str]] = collections.Counter()
        self._lock = threading.Lock()

    @hookimpl
    def syncpipe_action_done(self, action: Action, outcome: Any) -> None:
        if isinstance(action, Delete):
            with self._lock:
                self.deleted[(action.key.gvr.resource, action.key.name)] += 1


def test_a_syncer_started_with_crd_copies_owned_but_not_selected_deletes_each_crd_once(
    start_syncer, make_syncer, up_rest, down_rest, unique_name
):
    """A restart after the config stopped selecting the CRDs: the start-up janitor finds the
    owned CRD copies under apiextensions.k8s.io v1 and v1beta1 (both served) and watches them
    at one version only, so each CRD copy is deleted exactly once (one DELETE request each)."""
    group = f"{unique_name}.example.com"
    create_crds(up_rest, group)
    up_rest.create(SYNCER_CONFIGS, "", crd_first_config(unique_name, group))
    copies = [f"{plural}.{group}" for plural in ("withstatuses", "withouts")]
    first = start_syncer()
    for name in copies:
        wait_for(lambda name=name: down_rest.get_or_none(CRDS, "", name), timeout=60)
    assert first.ready.wait(30), "the first syncer's initial sync did not finish"
    first.stop(timeout=10)
    up_rest.delete(SYNCER_CONFIGS, "", unique_name)

    deletes = DeleteLog()
    second = make_syncer(unique_name)
    second.hooks.pm.register(deletes, name="test-delete-log")
    second.start()
    try:
        for name in copies:
            wait_for(lambda name=name: down_rest.get_or_none(CRDS, "", name) is None, timeout=60)
        assert second.ready.wait(30), "the second syncer's initial sync did not finish"
        wait_for(
            lambda: (
                not any(
                    stats.depth or stats.processing or stats.waiting
                    for stats in (q.statistics() for q in second.queues.values())
                )
            ),
            timeout=30,
            message=lambda: str(second.statistics()),
        )
    finally:
        second.stop(timeout=10)
    assert deletes.deleted == {("customresourcedefinitions", name): 1 for name in copies}
    assert second.downstream.requests_by_verb.get("delete") == len(copies)


def test_upsync_creates_updates_and_deletes_selected_objects_only(
    running, up_rest, down_rest, unique_name
):
    group = f"{unique_name}.wgpolicy.example"
    reports = crd(group, "policyreports", "PolicyReport", namespaced=True, status=True)
    cluster_reports = crd(
        group, "clusterpolicyreports", "ClusterPolicyReport", namespaced=False, status=False
    )
    for manifest in (reports, cluster_reports):
        down_rest.create(CRDS, "", manifest)
        wait_established(down_rest, manifest["metadata"]["name"])
    ns, other = unique_name, f"{unique_name}-other"
    for n in (ns, other):
        down_rest.create(NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}})
    up_rest.create(
        SYNCER_CONFIGS,
        "",
        {
            "apiVersion": "edge.kubestellar.io/v2alpha1",
            "kind": "SyncerConfig",
            "metadata": {"name": unique_name},
            "spec": {
                "upsync": [
                    {
                        "apiGroup": group,
                        "resources": ["policyreports", "clusterpolicyreports"],
                        "namespaces": [ns],
                        "names": ["*"],
                    }
                ]
            },
        },
    )
    gvr_ns = GroupVersionResource(group, "v1alpha1", "policyreports")
    gvr_cl = GroupVersionResource(group, "v1alpha1", "clusterpolicyreports")
    down_rest.create(gvr_ns, ns, cr(group, "PolicyReport", "r1", ns, spec={"foo": "fail"}))
    down_rest.create(gvr_ns, other, cr(group, "PolicyReport", "r1", other, spec={"foo": "fail"}))
    down_rest.create(gvr_cl, "", cr(group, "ClusterPolicyReport", "c1", spec={"foo": "fail"}))

    # The upstream has no CRD yet: the syncer keeps running and upsyncs once it appears.
    wait_for(lambda: running.ready.is_set(), timeout=30)
    for manifest in (reports, cluster_reports):
        up_rest.create(CRDS, "", manifest)
        wait_established(up_rest, manifest["metadata"]["name"])
    wait_for(lambda: up_rest.get_or_none(gvr_ns, ns, "r1"), timeout=60, ignore=(Exception,))
    wait_for(lambda: up_rest.get_or_none(gvr_cl, "", "c1"), timeout=60, ignore=(Exception,))
    assert up_rest.get(gvr_ns, ns, "r1")["spec"] == {"foo": "fail"}
    assert up_rest.get_or_none(gvr_ns, other, "r1") is None

    # Status travels with upsync (status subresource upstream).
    copy = down_rest.get(gvr_ns, ns, "r1")
    down_rest.replace(
        gvr_ns, ns, "r1", {**copy, "status": {"summary": {"fail": 1}}}, subresource="status"
    )
    wait_for(
        lambda: up_rest.get(gvr_ns, ns, "r1").get("status") == {"summary": {"fail": 1}}, timeout=30
    )

    # Update and delete follow.
    down_rest.merge_patch(gvr_ns, ns, "r1", {"spec": {"foo": "pass"}})
    wait_for(lambda: up_rest.get(gvr_ns, ns, "r1")["spec"] == {"foo": "pass"}, timeout=30)
    down_rest.delete(gvr_ns, ns, "r1")
    wait_for(lambda: up_rest.get_or_none(gvr_ns, ns, "r1") is None, timeout=30)
    assert up_rest.get_or_none(gvr_cl, "", "c1") is not None


def test_upsync_never_overwrites_an_upstream_object_it_did_not_create(
    running, up_rest, down_rest, unique_name, namesake_reports
):
    group = namesake_reports
    gvr = GroupVersionResource(group, "v1alpha1", "reports")
    up_rest.create(
        SYNCER_CONFIGS,
        "",
        {
            "apiVersion": "edge.kubestellar.io/v2alpha1",
            "kind": "SyncerConfig",
            "metadata": {"name": unique_name},
            "spec": {"upsync": [{"apiGroup": group, "resources": ["reports"], "names": ["*"]}]},
        },
    )
    wait_for(lambda: up_rest.get_or_none(gvr, "", "free"), timeout=60, ignore=(Exception,))
    wait_for(lambda: any("taken" in k for k in running._rejected), timeout=30)
    assert up_rest.get(gvr, "", "taken")["spec"] == {"foo": "upstream's own"}
