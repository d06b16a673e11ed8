"""The node's prerequisites check and its configuration (pure: nothing is started)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import attrs
import pytest
from cryptography import x509

from syncpipe.devenv import flags, node, nodeconfig, pki
from tests.unit.devenv.test_flags import LAYOUT

CGROUP_V1 = "\n".join(
    f"cgroup /sys/fs/cgroup/{c} cgroup rw,relatime,{c} 0 0" for c in node.CGROUP_CONTROLLERS
)
CGROUP_V2_ONLY = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0"
FILESYSTEMS = "nodev\tcgroup\nnodev\tcgroup2\nnodev\toverlay\n\text4\n"

NODE_LAYOUT = nodeconfig.NodeLayout(
    workdir=Path("/w/node"),
    run_dir=Path("/run/syncpipe-node-x"),
    kubelet_port=10250,
    kubelet_healthz_port=10248,
    proxy_healthz_port=10256,
    proxy_metrics_port=10249,
    scheduler_port=10259,
)


def _missing(**overrides):
    given = {
        "euid": 0,
        "mounts_text": CGROUP_V1,
        "filesystems_text": FILESYSTEMS,
        "can_unshare_net": lambda: True,
        **overrides,
    }
    return node.missing_prerequisites(**given)


def test_a_machine_with_everything_lacks_nothing():
    assert _missing() == []


@pytest.mark.parametrize(
    ("overrides", "sentence"),
    [
        ({"euid": 1000}, "not root"),
        ({"mounts_text": CGROUP_V2_ONLY}, "no cgroup v1 hierarchy for cpu, cpuacct"),
        ({"filesystems_text": "nodev\tcgroup\n\text4\n"}, "no overlayfs"),
        ({"can_unshare_net": lambda: False}, "cannot create network namespaces"),
    ],
)
def test_each_missing_prerequisite_is_named(overrides, sentence):
    (problem,) = _missing(**overrides)
    assert problem.startswith(sentence)


def test_containerd_uses_cgroupfs_our_pause_image_and_private_paths():
    config = tomllib.loads(nodeconfig.containerd_config(NODE_LAYOUT))
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == nodeconfig.PAUSE_IMAGE
    assert cri["restrict_oom_score_adj"] is True
    runc = cri["containerd"]["runtimes"]["runc"]["options"]
    assert runc == {"SystemdCgroup": False, "Root": "/run/syncpipe-node-x/runc"}
    assert cri["cni"] == {"bin_dir": "/usr/lib/cni", "conf_dir": "/w/node/cni"}
    assert config["grpc"]["address"] == "/run/syncpipe-node-x/containerd.sock"
    assert config["root"] == "/w/node/containerd"


def test_kubelet_matches_containerd_and_serves_only_on_the_bridge():
    argv = nodeconfig.kubelet_argv(Path("/bin/kubelet"), NODE_LAYOUT)
    assert "--cgroup-driver=cgroupfs" in argv
    assert "--fail-swap-on=false" in argv
    assert "--container-runtime-endpoint=unix:///run/syncpipe-node-x/containerd.sock" in argv
    assert f"--address={nodeconfig.NODE_ADDRESS}" in argv
    assert "--read-only-port=0" in argv


def test_pods_get_addresses_on_the_bridge_with_the_node_address_as_gateway():
    (bridge, _loopback) = nodeconfig.cni_config(NODE_LAYOUT)["plugins"]
    assert bridge["bridge"] == nodeconfig.BRIDGE
    (range_,) = bridge["ipam"]["ranges"][0]
    assert range_["gateway"] == nodeconfig.NODE_ADDRESS
    assert range_["subnet"] == nodeconfig.POD_SUBNET


def test_api_server_on_the_bridge_advertises_it_for_the_kubernetes_service():
    argv = flags.apiserver_argv(
        Path("/bin/kube-apiserver"), attrs.evolve(LAYOUT, address=nodeconfig.NODE_ADDRESS)
    )
    assert f"--bind-address={nodeconfig.NODE_ADDRESS}" in argv
    assert f"--advertise-address={nodeconfig.NODE_ADDRESS}" in argv
    assert "--endpoint-reconciler-type=lease" in argv
    assert "--kubelet-preferred-address-types=InternalIP" in argv
    on_loopback = flags.apiserver_argv(Path("/bin/kube-apiserver"), LAYOUT)
    assert "--endpoint-reconciler-type=none" in on_loopback


def test_serving_certificate_names_the_addresses_pods_use():
    generated = pki.generate(
        "downstream",
        ip_addresses=(nodeconfig.NODE_ADDRESS, flags.KUBERNETES_SERVICE_IP),
        dns_names=flags.KUBERNETES_SERVICE_NAMES,
    )
    cert = x509.load_pem_x509_certificate(generated.serving_cert)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    addresses = {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
    assert addresses == {"127.0.0.1", nodeconfig.NODE_ADDRESS, flags.KUBERNETES_SERVICE_IP}
    assert "kubernetes.default.svc" in names.get_values_for_type(x509.DNSName)
