"""The syncer as users run it: syncer-gen's manifest applied in an edge cluster with a real node.

A control-plane pair of its own, listening on the node's bridge address, and a node (containerd,
kubelet, kube-proxy, kube-scheduler; ``syncpipe.devenv.node``) with the syncer image of
``scripts/build-image`` loaded. ``syncpipe syncer-gen`` → ``kubectl apply`` → the syncer pod
starts from that image and turns ready → a downsynced Deployment's pods really run and their
``readyReplicas`` return upstream → the syncer pod deleted, its Deployment starts another, which
converges without writing anything again.

Skips, naming it, where this machine lacks a prerequisite of the node (root, cgroup v1,
overlayfs, network namespaces, the node's binaries) or of the image.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncpipe.clients.connect import ClusterAccess, load_configuration
from syncpipe.clients.rest import RestClient
from syncpipe.devenv import assets, node, pair
from syncpipe.model.resources import GroupVersionResource
from syncpipe.testing import wait_for
from tests.e2e import helpers as h
from tests.e2e import oci

pytestmark = [pytest.mark.slow, pytest.mark.timeout(oci.BUILD_TIMEOUT_SECONDS + 600)]

PODS = GroupVersionResource("", "v1", "pods")
POD_READY_TIMEOUT = 180.0
SYNCER_NAME = "edge1"


class Cluster:
    """The pair on the bridge, the node, and clients for both sides."""

    def __init__(self, planes: pair.ControlPlanePair, node_: node.Node, kubectl: Path) -> None:
        self.planes = planes
        self.node = node_
        self.kubectl_binary = kubectl
        self.up = _rest(planes.upstream.admin_kubeconfig, "upstream")
        self.down = _rest(planes.downstream.admin_kubeconfig, "downstream")

    def kubectl(self, side: str, *args: str, stdin: str | None = None) -> str:
        """kubectl (built from the same source as the cluster) against one side, as its admin."""
        plane = self.planes.upstream if side == "upstream" else self.planes.downstream
        result = subprocess.run(
            [str(self.kubectl_binary), "--kubeconfig", str(plane.admin_kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout


def _rest(kubeconfig: Path, label: str) -> RestClient:
    return RestClient(load_configuration(ClusterAccess(kubeconfig=str(kubeconfig))), label=label)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    missing = node.missing_prerequisites()
    if missing:
        pytest.skip("no node on this machine: " + "; ".join(missing))
    binaries = node.find_node_binaries()
    if isinstance(binaries, str):
        pytest.skip(binaries)
    archive = oci.image_archive()
    workdir = tmp_path_factory.mktemp("node-cluster")
    try:
        node.ensure_bridge()
    except node.NodeError as exc:
        pytest.skip(str(exc))
    try:
        planes = pair.start_pair(assets=assets.ensure_assets(), workdir=workdir, for_node=True)
        try:
            node_ = node.Node.for_control_plane(
                planes.downstream, binaries=binaries, workdir=workdir / "node"
            )
            node_.start(images={oci.image_config(archive)["Name"]: archive})
            try:
                ready = Cluster(planes, node_, binaries.kubectl)
                yield ready
                ready.up.close()
                ready.down.close()
            finally:
                node_.stop()
        finally:
            planes.stop()
    finally:
        node.remove_bridge()


def _deployment_ready(rest: RestClient, ns: str, name: str, replicas: int = 1) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        obj = rest.get_or_none(h.DEPLOY, ns, name)
        if obj and (obj.get("status") or {}).get("readyReplicas") == replicas:
            return obj
        return None

    found: dict[str, Any] = wait_for(
        ready, timeout=POD_READY_TIMEOUT, interval=0.5, message=f"{ns}/{name} never ready"
    )
    return found


def _syncer_pods(rest: RestClient, ns: str) -> list[dict[str, Any]]:
    items, _ = rest.list(PODS, ns)
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def _ready_pod(rest: RestClient, ns: str, not_named: str = "") -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        for pod in _syncer_pods(rest, ns):
            conditions = (pod.get("status") or {}).get("conditions") or ()
            if pod["metadata"]["name"] != not_named and any(
                c["type"] == "Ready" and c["status"] == "True" for c in conditions
            ):
                return pod
        return None

    found: dict[str, Any] = wait_for(
        ready, timeout=POD_READY_TIMEOUT, interval=0.3, message=f"no ready syncer pod in {ns}"
    )
    return found


def _initial_writes(cluster: Cluster, ns: str, pod: dict[str, Any]) -> int:
    """The writes a syncer pod reports with its "initial sync done" line."""

    def summary_lines() -> list[str]:
        log = cluster.kubectl("downstream", "logs", "-n", ns, pod["metadata"]["name"])
        return [line for line in log.splitlines() if "syncpipe: initial sync done" in line]

    # The pod turns ready as the syncer does; the process logs the line on its next second.
    (summary,) = wait_for(summary_lines, timeout=30, message="no 'initial sync done' line")
    return int(summary.rsplit(",", 1)[1].split()[0])


def test_syncer_gen_manifest_runs_the_image_on_a_node_and_real_status_returns(
    cluster, tmp_path, request
):
    ns = "workloads"
    up, down = cluster.up, cluster.down
    crds = subprocess.run(
        [sys.executable, "-m", "syncpipe", "crds"], capture_output=True, text=True, check=True
    ).stdout
    cluster.kubectl("upstream", "apply", "-f", "-", stdin=crds)
    h.wait_until(
        lambda: up.list(h.SYNCER_CONFIGS) is not None,
        timeout=h.SYNC_TIMEOUT,
        ignore=(Exception,),
        message="SyncerConfig not served",
    )
    up.create(
        h.SYNCER_CONFIGS,
        "",
        h.syncer_config(
            SYNCER_NAME,
            {
                "namespaceScope": {
                    "namespaces": [ns],
                    "resources": [h.resource("apps", "deployments")],
                }
            },
        ),
    )

    manifest_path = tmp_path / "edge1-syncer.yaml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "syncpipe",
            "syncer-gen",
            SYNCER_NAME,
            "--kubeconfig",
            str(cluster.planes.upstream.admin_kubeconfig),
            "--syncer-image",
            "syncpipe:dev",
            "--upstream-server",
            cluster.planes.upstream.server,
            "-o",
            str(manifest_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    applied_at = time.monotonic()
    cluster.kubectl("downstream", "apply", "-f", str(manifest_path))
    syncer_ns = next(
        line.split(":", 1)[1].strip()
        for line in manifest_path.read_text().splitlines()
        if line.strip().startswith("namespace:")
    )
    first = _ready_pod(down, syncer_ns)
    # Both probes green: ready, and never restarted by its liveness probe.
    assert first["status"]["containerStatuses"][0]["restartCount"] == 0
    first_writes = _initial_writes(cluster, syncer_ns, first)
    start_to_ready = time.monotonic() - applied_at
    # Measured, not asserted: in the report's properties (junit xml: -o junit_family=xunit1).
    request.node.user_properties.append(("syncer_apply_to_ready_seconds", round(start_to_ready, 1)))

    up.create(h.NS, "", h.namespace(ns, "node"))
    up.create(h.DEPLOY, ns, h.deployment(ns, "web", "node", image="syncpipe-busybox:dev"))
    _deployment_ready(down, ns, "web")
    returned = _deployment_ready(up, ns, "web")
    assert returned["status"]["readyReplicas"] == 1
    pods = [p for p in _syncer_pods(down, ns) if p["status"].get("phase") == "Running"]
    assert pods, "the downsynced Deployment has no running pod"

    before_ns = down.get(h.NS, "", ns)["metadata"]["resourceVersion"]
    before_up = up.get(h.DEPLOY, ns, "web")["metadata"]["resourceVersion"]
    before_down = down.get(h.DEPLOY, ns, "web")["metadata"]["resourceVersion"]
    down.delete(PODS, syncer_ns, first["metadata"]["name"])
    second = _ready_pod(down, syncer_ns, not_named=first["metadata"]["name"])
    assert second["metadata"]["name"] != first["metadata"]["name"]
    # Ready means its initial sync is done: it found both sides already agreeing.
    assert up.get(h.DEPLOY, ns, "web")["metadata"]["resourceVersion"] == before_up
    assert down.get(h.DEPLOY, ns, "web")["metadata"]["resourceVersion"] == before_down
    assert down.get(h.NS, "", ns)["metadata"]["resourceVersion"] == before_ns
    # Its writes are those of the first syncer, which had nothing to copy: the SyncerConfig
    # heartbeat, nothing of the synced objects.
    assert _initial_writes(cluster, syncer_ns, second) == first_writes
