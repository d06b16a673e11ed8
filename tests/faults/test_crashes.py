"""Crashes during an initial sync: kill -9 of an API server, of etcd, of the syncer itself.

Each fault hits while the syncer is still copying ``CONFIGMAPS`` ConfigMaps (and a few
Deployments, whose status the downstream's controllers keep changing) and while a thread keeps
changing some ConfigMaps upstream every 100 ms. After the fault heals the syncer must converge by
itself: every upstream object has an owned copy with the same data, there is no extra owned copy,
copies made before the fault kept their UID (nothing deleted and re-created), and the
Deployments' status came back upstream. The time from "healed" to "converged" is measured.
"""

from __future__ import annotations

import threading
import time

import pytest

from syncpipe import errors
from syncpipe.clients.watching import CollectionListerWatcher
from syncpipe.model.events import Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import GroupVersionResource, ResourceInfo
from syncpipe.runtime.livediscovery import LiveDiscovery
from syncpipe.runtime.syncer import SYNCER_CONFIGS
from syncpipe.source.informer import Informer
from syncpipe.source.recovery import ServerRecovery
from syncpipe.source.reflector import WatchSettings
from syncpipe.source.store import Store
from syncpipe.testing import wait_for
from tests.faults import helpers as h

# 300 ConfigMaps: a sync that lasts a few seconds on 2 cores (so the fault lands inside it)
# while the whole module stays around a minute and a half.
CONFIGMAPS = 300
DEPLOYMENTS = 3
CHURNED = 10  # ConfigMaps changed upstream every 100 ms, round robin, through the fault
OUTAGE_SECONDS = 5.0
CONVERGE_TIMEOUT = 180.0
SYNC_QPS = 100.0  # each side's requests per second: 300 ConfigMaps take about 3 s
KILL_AT_FRACTION = 4  # the fault hits after 1/4 of the ConfigMaps were created downstream


def _populate(up, ns: str) -> list[str]:
    up.create(h.NS, "", h.namespace(ns))
    names = [f"cm-{i:04d}" for i in range(CONFIGMAPS)]
    h.create_many(up, h.CM, [h.configmap(ns, n, {"i": n, "v": "0"}) for n in names])
    for i in range(DEPLOYMENTS):
        up.create(h.DEPLOY, ns, h.deployment(ns, f"dep-{i}"))
    return names


def _select(up, name: str, ns: str) -> None:
    up.create(
        SYNCER_CONFIGS,
        "",
        h.syncer_config(
            name,
            [ns],
            [h.resource_entry("", "configmaps"), h.resource_entry("apps", "deployments")],
        ),
    )


def _problems(up, down, name: str, ns: str) -> list[str]:
    return h.configmap_problems(up, down, name, ns) + h.deployment_problems(up, down, name, ns)


@pytest.mark.parametrize("fault", ["upstream-apiserver", "downstream-apiserver", "upstream-etcd"])
def test_control_plane_killed_during_initial_sync_recovers_without_loss_or_recreation(
    fault, planes, up, down, unique_name, recovery
):
    ns = name = unique_name
    names = _populate(up, ns)
    _select(up, name, ns)
    # Throttled (as the original's --qps/--burst would) so that the initial sync lasts a few
    # seconds: unthrottled it takes a fraction of one, and the fault could miss it.
    syncer = h.make_syncer(planes.upstream, planes.downstream, name, qps=SYNC_QPS, burst=10)
    churn_rest = h.rest_for(planes.upstream, label="churn")
    with h.running(syncer):
        churn = h.Churn(churn_rest, ns, names[:CHURNED], interval=0.1).start()
        try:
            wait_for(
                lambda: (
                    syncer.downstream.requests_by_verb.get("create", 0)
                    >= CONFIGMAPS // KILL_AT_FRACTION
                ),
                timeout=60,
                interval=0.01,
                message="the initial sync did not start",
            )
            before_fault = h.uids(h.owned(down, h.CM, ns, name))
            if fault == "upstream-apiserver":
                planes.upstream.kill_apiserver()
            elif fault == "downstream-apiserver":
                planes.downstream.kill_apiserver()
            else:
                planes.upstream.kill_etcd()
            killed_at = time.monotonic()
            created_before = syncer.downstream.requests_by_verb.get("create", 0)
            time.sleep(OUTAGE_SECONDS)
            if fault == "upstream-apiserver":
                planes.upstream.restart_apiserver()
            elif fault == "downstream-apiserver":
                planes.downstream.restart_apiserver()
            else:
                planes.upstream.restart_etcd()
            healed_at = time.monotonic()
        finally:
            churn.stop()
        churn_rest.close()
        assert created_before < CONFIGMAPS, "the fault must hit during the initial sync"
        # Copies that exist when the fault heals (some made during the outage) must keep
        # their UID too.
        at_heal = h.uids(h.owned(down, h.CM, ns, name))
        converged_at = h.wait_converged(
            lambda: _problems(up, down, name, ns), timeout=CONVERGE_TIMEOUT
        )
        after_cms = h.uids(h.owned(down, h.CM, ns, name))
        for moment, seen in (("before the fault", before_fault), ("when it healed", at_heal)):
            recreated = sorted(n for n, uid in seen.items() if after_cms.get(n) != uid)
            assert not recreated, f"copies present {moment} were deleted/re-created: {recreated}"
        assert set(after_cms) == set(names)
        seconds = converged_at - healed_at
        recovery.record(
            f"kill -9 {fault}",
            seconds,
            objects=CONFIGMAPS + DEPLOYMENTS,
            outage_s=round(healed_at - killed_at, 1),
            copies_before_fault=len(before_fault),
            churn_ok=churn.ok,
            churn_failed=churn.failed,
            watches_woken=syncer.statistics()["watches_woken_by_recovery"],
        )
        # Quiet afterwards: nothing left to write once converged (zero writes at rest).
        settled = h.writes(syncer)
        time.sleep(2.0)
        assert h.writes(syncer) == settled
        assert not _problems(up, down, name, ns)


def test_syncer_killed_mid_sync_restarts_and_converges_without_rewriting_synced_copies(
    planes, up, down, unique_name, syncer_procs, recovery
):
    """kill -9 of ``syncpipe run`` a quarter into the initial sync; a new process converges,
    creates only the missing copies and writes nothing to the copies already in sync (same
    UID, same resourceVersion)."""
    ns = name = unique_name
    up.create(h.NS, "", h.namespace(ns))
    names = [f"cm-{i:04d}" for i in range(CONFIGMAPS)]
    h.create_many(up, h.CM, [h.configmap(ns, n, {"i": n}) for n in names])
    up.create(SYNCER_CONFIGS, "", h.syncer_config(name, [ns], [h.resource_entry("", "configmaps")]))
    kubeconfigs = {
        "upstream_kubeconfig": planes.upstream.admin_kubeconfig,
        "downstream_kubeconfig": planes.downstream.admin_kubeconfig,
    }
    first = syncer_procs.start(name, **kubeconfigs)
    wait_for(
        lambda: len(h.owned(down, h.CM, ns, name)) >= CONFIGMAPS // KILL_AT_FRACTION,
        timeout=60,
        interval=0.05,
        message="the first syncer did not start copying",
    )
    first.kill_hard()
    time.sleep(0.5)  # requests the server had already accepted finish
    synced = h.owned(down, h.CM, ns, name)
    assert len(synced) < CONFIGMAPS, "the kill must hit during the initial sync"
    # The namespace copy may not be finished yet: made bare for the first ConfigMap, it gets
    # its labels and source record from its own reconcile, which the kill may have preempted.
    ns_copy = down.get(h.NS, "", ns)
    ns_pending = "syncpipe.io/source" not in (ns_copy["metadata"].get("annotations") or {})
    source = h.by_name(up, h.CM, ns)
    assert all(copy["data"] == source[n]["data"] for n, copy in synced.items())

    port = h.free_port()
    second = syncer_procs.start(
        name, **kubeconfigs, extra=["--health-address", f"127.0.0.1:{port}"]
    )
    restarted_at = second.started
    converged_at = h.wait_converged(
        lambda: h.configmap_problems(up, down, name, ns), timeout=CONVERGE_TIMEOUT
    )
    recovery.record(
        "kill -9 syncer (restart → converged)",
        converged_at - restarted_at,
        objects=CONFIGMAPS,
        copies_before_fault=len(synced),
    )
    after = h.owned(down, h.CM, ns, name)
    assert {n: after[n]["metadata"]["uid"] for n in synced} == h.uids(synced)
    rewritten = sorted(
        n
        for n in synced
        if after[n]["metadata"]["resourceVersion"] != synced[n]["metadata"]["resourceVersion"]
    )
    assert not rewritten, f"copies already in sync were written again: {rewritten[:10]}"
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: h.http_status(f"{base}/readyz") == 200, timeout=60)
    text = h.http_text(f"{base}/metrics")
    creates = h.metric(text, "syncpipe_writes_total", side="downstream", verb="create")
    patches = h.metric(text, "syncpipe_writes_total", side="downstream", verb="patch")
    assert creates == CONFIGMAPS - len(synced)
    assert patches == (1 if ns_pending else 0)
    assert second.alive()


class _Idle:
    """A source that never reports anything (the CRD/APIService watches are not under test)."""

    def __init__(self, side: Side, info: ResourceInfo) -> None:
        self.store = Store(gvr=info.gvr, side=side)

    def add_handler(self, handler: object) -> None:
        pass

    def start(self) -> None:
        pass


def test_discovery_keeps_its_last_answer_while_a_restarted_api_server_is_not_ready(
    planes, up, down
):
    """A restarted kube-apiserver answers discovery before it is ready, without an error but
    without most groups (``apps`` among them). The syncer keeps the last complete answer
    until the server is ready: a Deployment copy's API never looks gone."""
    live = LiveDiscovery(
        clients={Side.UPSTREAM: up, Side.DOWNSTREAM: down},
        new_source=_Idle,
        wake=lambda: None,
    )
    live.refresh(time.monotonic(), None)
    assert live.served(Side.DOWNSTREAM).by_gvr(h.DEPLOY) is not None
    planes.downstream.kill_apiserver()
    restart = threading.Thread(target=planes.downstream.restart_apiserver, name="restart")
    restart.start()
    kept, refreshed = 0, 0
    try:
        while restart.is_alive():  # until the restarted server is ready
            try:
                live.refresh(time.monotonic(), None)
            except errors.ApiError:
                continue  # not listening yet
            refreshed += 1
            kept += Side.DOWNSTREAM in live.not_ready
            view = live.served(Side.DOWNSTREAM)
            assert view is not None
            assert view.by_gvr(h.DEPLOY) is not None, "deployments left the downstream's view"
    finally:
        restart.join()
    assert kept, f"no refresh met the server not ready ({refreshed} refreshes): nothing proven"
    live.refresh(time.monotonic(), None)
    assert not live.not_ready
    assert live.served(Side.DOWNSTREAM).by_gvr(h.DEPLOY) is not None


def test_a_watch_waiting_out_a_long_backoff_comes_back_with_the_first_that_reaches_the_server(
    planes, down, unique_name
):
    """The reflectors of one server share a ``ServerRecovery``: one whose next retry is an
    hour away comes back as soon as another reached the restarted server."""
    recovery = ServerRecovery()
    rest = h.rest_for(planes.downstream, label="recovery")
    down.create(h.NS, "", h.namespace(unique_name))

    def informer(gvr: GroupVersionResource, first: float, cap: float) -> Informer:
        return Informer(
            gvr=gvr,
            side=Side.DOWNSTREAM,
            lister_watcher=CollectionListerWatcher(rest, gvr, namespace=unique_name),
            settings=WatchSettings(backoff_initial=first, backoff_max=cap),
            recovery=recovery,
        )

    patient = informer(h.CM, 3600.0, 3600.0)
    eager = informer(h.DEPLOY, 0.2, 0.5)
    patient.start()
    eager.start()
    try:
        assert patient.wait_for_sync(30)
        assert eager.wait_for_sync(30)
        planes.downstream.kill_apiserver()
        wait_for(
            lambda: patient.reflector.statistics().restarts >= 1,
            timeout=30,
            message="the watch never noticed the server was gone",
        )
        planes.downstream.restart_apiserver()
        down.create(h.CM, unique_name, h.configmap(unique_name, "after", {"k": "v"}))
        wait_for(
            lambda: patient.store.get(ObjectKey(h.CM, unique_name, "after")) is not None,
            timeout=60,
            message="the watch waiting an hour did not come back with the other",
        )
        assert recovery.wakeups >= 1
        assert patient.reflector.statistics().restarts >= 1
    finally:
        patient.stop()
        eager.stop()
        rest.close()
