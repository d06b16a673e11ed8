"""Watch expiry: the syncer is cut off from the upstream while history it needs is compacted away.

The pair runs with ``--etcd-compaction-interval=5s`` and without a watch cache for ConfigMaps
(so a watch is served from etcd's history, and an old resourceVersion really expires). The
syncer reaches the upstream through a loopback TCP proxy; while the proxy is partitioned,
ConfigMaps are created, updated and deleted directly upstream and etcd compacts at least twice
past the syncer's resourceVersion. When the proxy heals, the re-watch gets ``410 Gone`` and the
relist must find every change: new copies, updated data, deleted copies gone (3 deletions,
below the circuit breaker's minimum of held deletions), and no copy re-created.
"""

from __future__ import annotations

import time

from syncpipe import errors
from syncpipe.runtime.syncer import SYNCER_CONFIGS
from syncpipe.testing import wait_for
from tests.faults import helpers as h
from tests.faults.proxy import TcpProxy

COMPACTION_SECONDS = 5
APISERVER_ARGS = (f"--etcd-compaction-interval={COMPACTION_SECONDS}s",)
WATCH_CACHE_SIZES = ("configmaps#0",)

CONFIGMAPS = 300
CREATED = 20
UPDATED = 20
DELETED = 3  # the circuit breaker holds inferred deletions only beyond 5 (min_held)
CONVERGE_TIMEOUT = 120.0


def _expired(up, ns: str, resource_version: str) -> bool:
    """Whether a watch from ``resource_version`` is answered with 410 Gone now."""
    try:
        stream = up.watch(h.CM, ns, resource_version=resource_version, timeout_seconds=1)
    except errors.ApiResourceExpired:
        return True
    try:
        for _ in stream:
            pass
    except errors.ApiResourceExpired:
        return True
    finally:
        stream.close()
    return False


def test_partition_past_compaction_relists_and_finds_creates_updates_and_deletes(
    planes, up, down, unique_name, tmp_path, recovery
):
    ns = name = unique_name
    up.create(h.NS, "", h.namespace(ns))
    names = [f"cm-{i:04d}" for i in range(CONFIGMAPS)]
    h.create_many(up, h.CM, [h.configmap(ns, n, {"v": "0"}) for n in names])
    up.create(SYNCER_CONFIGS, "", h.syncer_config(name, [ns], [h.resource_entry("", "configmaps")]))
    proxy = TcpProxy(("127.0.0.1", planes.upstream.apiserver_port)).start()
    try:
        kubeconfig = h.write_kubeconfig(
            tmp_path / "via-proxy.kubeconfig",
            server=proxy.url,
            ca_pem=planes.upstream.ca_pem,
            token=planes.upstream.admin_token,
        )
        syncer = h.make_syncer(
            planes.upstream, planes.downstream, name, upstream_kubeconfig=kubeconfig
        )
        with h.running(syncer):
            h.wait_converged(lambda: h.configmap_problems(up, down, name, ns), timeout=120)
            informer = h.upstream_informer(syncer, "configmaps")
            assert informer is not None
            expired_before = informer.reflector.statistics().expired
            before = h.uids(h.owned(down, h.CM, ns, name))

            proxy.partition()
            partitioned_at = time.monotonic()
            old_rv = informer.reflector.resource_version
            assert old_rv
            h.create_many(
                up, h.CM, [h.configmap(ns, f"new-{i:02d}", {"v": "new"}) for i in range(CREATED)]
            )
            for n in names[:UPDATED]:
                up.merge_patch(h.CM, ns, n, {"data": {"v": "partition-1"}})
            deleted = names[-DELETED:]
            for n in deleted:
                up.delete(h.CM, ns, n)
            # One compaction past the syncer's resourceVersion ...
            wait_for(
                lambda: _expired(up, ns, old_rv),
                timeout=6 * COMPACTION_SECONDS,
                interval=0.5,
                message=f"resourceVersion {old_rv} was never compacted",
            )
            first_expiry = time.monotonic()
            # ... and at least one more, over history written after the first one.
            for n in names[:UPDATED]:
                up.merge_patch(h.CM, ns, n, {"data": {"v": "partition-2"}})
            time.sleep(COMPACTION_SECONDS + 1)
            assert syncer.downstream.requests_by_verb.get("delete", 0) == 0
            proxy.heal()
            healed_at = time.monotonic()
            converged_at = h.wait_converged(
                lambda: h.configmap_problems(up, down, name, ns), timeout=CONVERGE_TIMEOUT
            )
            stats = informer.reflector.statistics()
            after = h.owned(down, h.CM, ns, name)
    finally:
        proxy.stop()
    assert stats.expired > expired_before, f"no 410 was seen by the reflector: {stats}"
    assert not set(deleted) & set(after)
    assert {f"new-{i:02d}" for i in range(CREATED)} <= set(after)
    assert all(after[n]["data"] == {"v": "partition-2"} for n in names[:UPDATED])
    recreated = sorted(
        n for n, uid in before.items() if n in after and after[n]["metadata"]["uid"] != uid
    )
    assert not recreated, f"copies deleted and re-created: {recreated[:10]}"
    recovery.record(
        "partition past compaction (410 → relist)",
        converged_at - healed_at,
        objects=CONFIGMAPS,
        partition_s=round(healed_at - partitioned_at, 1),
        expired_after_s=round(first_expiry - partitioned_at, 1),
        expired_410s=stats.expired - expired_before,
        relists=stats.lists,
    )
