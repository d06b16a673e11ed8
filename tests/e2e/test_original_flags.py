"""The original KubeStellar-Syncer's command line runs syncpipe (a Deployment's image swapped).

syncer-gen of the original writes a container running the syncer binary with
``--from-kubeconfig=/kubestellar/kubeconfig --sync-target-name=<name> --sync-target-uid=<uid>
--qps=20 --burst=30 --v=3`` and no ``--to-kubeconfig`` (in-cluster). Here ``KUBECONFIG`` stands
in for the pod's in-cluster configuration.
"""

from __future__ import annotations

import uuid

import pytest

from syncpipe.builtin import ownership
from tests.e2e import helpers as h

pytestmark = [pytest.mark.apiserver, pytest.mark.slow]


def _select_configmaps(up_rest, unique_name: str) -> str:
    ns = unique_name
    up_rest.create(h.NS, "", h.namespace(ns, unique_name))
    up_rest.create(h.CM, ns, h.configmap(ns, "app", {"a": "1"}, unique_name))
    spec = {"namespaceScope": {"namespaces": [ns], "resources": [h.resource("", "configmaps")]}}
    up_rest.create(h.SYNCER_CONFIGS, "", h.syncer_config(unique_name, spec))
    return ns


def test_the_original_deployments_argument_list_runs_syncpipe(
    syncer_cli, up_rest, down_rest, upstream, downstream, unique_name
):
    ns = _select_configmaps(up_rest, unique_name)
    uid = str(uuid.uuid4())
    syncer = syncer_cli(
        argv=[
            f"--from-kubeconfig={upstream.admin_kubeconfig}",
            f"--sync-target-name={unique_name}",
            f"--sync-target-uid={uid}",
            "--qps=20",
            "--burst=30",
            "--v=3",
        ],
        env={"KUBECONFIG": str(downstream.admin_kubeconfig)},
    )
    copy = h.wait_get(down_rest, h.CM, ns, "app")
    # --sync-target-name names the syncer (its ownership mark) when --syncer-name is absent.
    assert h.label(copy, h.OWNER_LABEL) == ownership.owner_label_value(unique_name)

    def own_entry(obj) -> dict:
        return ((obj.get("status") or {}).get("syncers") or {}).get(unique_name) or {}

    config = h.wait_field(
        up_rest,
        h.SYNCER_CONFIGS,
        "",
        unique_name,
        lambda o: own_entry(o).get("syncTargetUID") == uid,
        timeout=h.SLOW_TIMEOUT,
        where="upstream",
        what="the sync target's uid in the syncer's status entry",
    )
    assert own_entry(config)["lastHeartbeatTime"]
    log = syncer.log_text()
    assert f"sync target uid {uid}" in log
    assert "client-side limit 20 requests/s, bursts of 30, per side" in log


def test_a_tight_client_side_rate_limit_is_honoured_and_still_converges(
    syncer_cli, up_rest, down_rest, upstream, downstream, unique_name
):
    ns = _select_configmaps(up_rest, unique_name)
    syncer = syncer_cli("--qps", "5", "--burst", "1")
    h.wait_get(down_rest, h.CM, ns, "app")
    # Discovery alone asks dozens of group versions at once: at 5 requests/s some of them
    # queue for more than a second, which the syncer says (as client-go does).
    h.wait_until(
        lambda: "for the client-side rate limit (--qps/--burst)" in syncer.log_text(),
        timeout=h.SYNC_TIMEOUT,
        message="no request waited for the client-side rate limit",
    )
