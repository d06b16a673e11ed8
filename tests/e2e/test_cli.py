"""The commands a user runs around ``syncpipe run``, on the real control planes."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from syncpipe import errors
from tests.e2e import helpers as h

pytestmark = [pytest.mark.apiserver, pytest.mark.slow]


def test_crds_printed_by_syncpipe_apply_with_kubectl_and_are_served(upstream, up_rest):
    """``syncpipe crds | kubectl apply -f -``, as the README says, installs working APIs."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    manifests = subprocess.run(
        [sys.executable, "-m", "syncpipe", "crds"], check=True, capture_output=True, text=True
    ).stdout
    applied = subprocess.run(
        [kubectl, "--kubeconfig", str(upstream.admin_kubeconfig), "apply", "-f", "-"],
        input=manifests,
        capture_output=True,
        text=True,
        check=False,
    )
    assert applied.returncode == 0, applied.stderr
    for gvr in (h.SYNCER_CONFIGS, h.EDGE_SYNC_CONFIGS):
        h.wait_until(
            lambda gvr=gvr: up_rest.list(gvr) is not None,
            timeout=h.SYNC_TIMEOUT,
            ignore=(errors.ApiError,),
            message=f"{gvr} not served",
        )


def test_run_takes_its_time_flags_as_kubernetes_durations_and_syncs(
    syncer_cli, wait_syncer_up, up_rest, down_rest, unique_name
):
    """A flag copied from a controller's manifest (``--resync-period 5s``) starts the syncer."""
    syncer = syncer_cli(
        "--resync-period", "5s", "--status-settle", "250ms", "--poll-interval", "1m"
    )
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.namespace_scope_config(unique_name, [unique_name], [h.resource("", "configmaps")]),
    )
    up_rest.create(h.NS, "", h.namespace(unique_name, unique_name))
    up_rest.create(h.CM, unique_name, h.configmap(unique_name, "cm", {"a": "1"}, unique_name))
    wait_syncer_up(syncer)
    h.wait_field(down_rest, h.CM, unique_name, "cm", lambda obj: obj.get("data") == {"a": "1"})
