"""Operations, through the CLI on the real control planes: probes, metrics, leader election."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime.syncer import SYNCER_CONFIGS
from syncpipe.testing import wait_for

pytestmark = [pytest.mark.apiserver, pytest.mark.slow, pytest.mark.usefixtures("syncer_crds")]

NS = GroupVersionResource("", "v1", "namespaces")
CM = GroupVersionResource("", "v1", "configmaps")
LEASES = GroupVersionResource("coordination.k8s.io", "v1", "leases")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def http_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
        return response.read().decode()


class Syncers:
    """Start ``syncpipe run`` processes; every one is stopped by its pid at the end."""

    def __init__(self, upstream, downstream, tmp_path: Path) -> None:
        self.upstream = upstream
        self.downstream = downstream
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *extra: str) -> subprocess.Popen[bytes]:
        log = (self.tmp_path / f"{name}-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "syncpipe",
                "run",
                "--upstream-kubeconfig",
                str(self.upstream.admin_kubeconfig),
                "--downstream-kubeconfig",
                str(self.downstream.admin_kubeconfig),
                "--syncer-name",
                name,
                *extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def syncers(upstream, downstream, tmp_path, up_rest) -> Iterator[Syncers]:
    runner = Syncers(upstream, downstream, tmp_path)
    yield runner
    runner.stop_all()
    items, _ = up_rest.list(SYNCER_CONFIGS)
    for item in items:
        up_rest.delete(SYNCER_CONFIGS, "", item["metadata"]["name"])


def select_configmaps(up_rest, name: str, ns: str) -> None:
    config: dict[str, Any] = {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "SyncerConfig",
        "metadata": {"name": name},
        "spec": {
            "namespaceScope": {
                "namespaces": [ns],
                "resources": [{"group": "", "resource": "configmaps", "apiVersion": "v1"}],
            }
        },
    }
    up_rest.create(SYNCER_CONFIGS, "", config)


def test_probes_and_metrics_follow_the_initial_sync_and_sigterm_drains(
    syncers, up_rest, down_rest, unique_name
):
    ns = unique_name
    up_rest.create(NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    up_rest.create(
        CM, ns, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {}}
    )
    select_configmaps(up_rest, unique_name, ns)
    port = free_port()
    proc = syncers.start(unique_name, "--health-address", f"127.0.0.1:{port}")
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: http_status(f"{base}/healthz") == 200, timeout=30)
    wait_for(lambda: http_status(f"{base}/readyz") == 200, timeout=60)
    wait_for(lambda: down_rest.get_or_none(CM, ns, "a"), timeout=30)
    text = http_text(f"{base}/metrics")
    assert 'syncpipe_writes_total{side="downstream",subresource="",verb="create"}' in text
    assert "syncpipe_queue_depth" in text
    assert "syncpipe_reconcile_seconds_bucket" in text
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_two_replicas_with_leader_election_never_both_lead_and_the_standby_takes_over(
    syncers, up_rest, down_rest, unique_name
):
    ns = unique_name
    up_rest.create(NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    select_configmaps(up_rest, unique_name, ns)
    ports = [free_port(), free_port()]
    procs = [
        syncers.start(
            unique_name,
            "--leader-elect",
            "--leader-election-namespace",
            "default",
            "--health-address",
            f"127.0.0.1:{port}",
        )
        for port in ports
    ]

    def ready_ports() -> list[int]:
        return [p for p in ports if http_status(f"http://127.0.0.1:{p}/readyz") == 200]

    wait_for(lambda: len(ready_ports()) == 1, timeout=60, message="exactly one leader expected")
    leader_port = ready_ports()[0]
    leader = procs[ports.index(leader_port)]
    standby_port = next(p for p in ports if p != leader_port)
    # Only one is ready (the leader); the standby stays not ready while the leader lives.
    for _ in range(3):
        assert http_status(f"http://127.0.0.1:{standby_port}/readyz") == 503
    up_rest.create(
        CM, ns, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one"}, "data": {}}
    )
    wait_for(lambda: down_rest.get_or_none(CM, ns, "one"), timeout=30)

    leader.kill()  # no release: the standby must wait for the lease to expire
    leader.wait()
    wait_for(
        lambda: http_status(f"http://127.0.0.1:{standby_port}/readyz") == 200,
        timeout=60,
        message="the standby did not take over",
    )
    up_rest.create(
        CM, ns, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "two"}, "data": {}}
    )
    wait_for(lambda: down_rest.get_or_none(CM, ns, "two"), timeout=30)
