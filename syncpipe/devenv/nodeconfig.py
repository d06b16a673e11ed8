"""What a node's parts are told: containerd's config, the CNI network, the command lines.

Pure functions of a ``NodeLayout`` (paths and ports) and the node network's constants, kept
apart from starting anything (``node``) so that each setting sits next to its reason and can be
checked without root. Kubernetes 1.20 flags (the kubelet's ``--container-runtime=remote`` is
gone in later releases).
"""

from __future__ import annotations

from pathlib import Path

import attrs

from syncpipe.devenv.assets import KUBERNETES_VERSION

BRIDGE = "syncpipe0"
NODE_ADDRESS = "10.200.0.1"
POD_SUBNET = "10.200.0.0/24"
POD_RANGE_START = "10.200.0.10"
NODE_NAME = "syncpipe-node"
CNI_BIN_DIR = Path("/usr/lib/cni")
PAUSE_IMAGE = f"docker.io/library/syncpipe-pause:{KUBERNETES_VERSION}"
CONTAINERD_NAMESPACE = "k8s.io"  # the namespace the CRI plugin keeps images in


@attrs.frozen(kw_only=True)
class NodeLayout:
    """Where one node keeps its files, sockets and ports."""

    workdir: Path
    run_dir: Path  # short: unix socket paths are limited to 107 bytes
    kubelet_port: int
    kubelet_healthz_port: int
    proxy_healthz_port: int
    proxy_metrics_port: int
    scheduler_port: int

    @property
    def containerd_socket(self) -> Path:
        return self.run_dir / "containerd.sock"

    @property
    def containerd_config(self) -> Path:
        return self.workdir / "containerd.toml"

    @property
    def runc_root(self) -> Path:
        """runc's state for the pods' containers (not the system's /run/containerd/runc)."""
        return self.run_dir / "runc"

    @property
    def cni_conf_dir(self) -> Path:
        return self.workdir / "cni"

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "node.kubeconfig"


def containerd_config(layout: NodeLayout) -> str:
    """containerd's config: private root/state/socket, cgroupfs runc, our pause, our CNI."""
    cri = '[plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{layout.workdir / "containerd"}"
state = "{layout.run_dir / "state"}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "{layout.containerd_socket}"

[ttrpc]
  address = "{layout.run_dir / "containerd.sock.ttrpc"}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{layout.workdir / "opt"}"

{cri}]
  sandbox_image = "{PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # Never below containerd's own: lowering it needs CAP_SYS_RESOURCE, which a sandboxed root
  # may lack (runc then fails with "failed to update /proc/self/oom_score_adj").
  restrict_oom_score_adj = true

{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

{cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
  Root = "{layout.runc_root}"

{cri}.cni]
  bin_dir = "{CNI_BIN_DIR}"
  conf_dir = "{layout.cni_conf_dir}"
"""


def cni_config(layout: NodeLayout) -> dict[str, object]:
    """The pod network: Debian's bridge plugin on ``syncpipe0``, addresses from host-local."""
    return {
        "cniVersion": "0.4.0",
        "name": "syncpipe",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(layout.workdir / "ipam"),
                    "ranges": [
                        [
                            {
                                "subnet": POD_SUBNET,
                                "rangeStart": POD_RANGE_START,
                                "gateway": NODE_ADDRESS,
                            }
                        ]
                    ],
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            },
            {"type": "loopback"},
        ],
    }


def kubelet_argv(binary: Path, layout: NodeLayout) -> list[str]:
    """kubelet 1.20 on containerd, cgroupfs, no swap check; serving only on the bridge."""
    return [
        str(binary),
        f"--kubeconfig={layout.kubeconfig}",
        "--container-runtime=remote",
        f"--container-runtime-endpoint=unix://{layout.containerd_socket}",
        "--runtime-request-timeout=5m",
        # containerd's runc uses cgroupfs (SystemdCgroup=false): the two must agree.
        "--cgroup-driver=cgroupfs",
        "--fail-swap-on=false",
        f"--root-dir={layout.workdir / 'kubelet'}",
        f"--cert-dir={layout.workdir / 'kubelet-pki'}",
        f"--volume-plugin-dir={layout.workdir / 'volume-plugins'}",
        f"--hostname-override={NODE_NAME}",
        f"--node-ip={NODE_ADDRESS}",
        f"--address={NODE_ADDRESS}",
        f"--port={layout.kubelet_port}",
        "--read-only-port=0",
        "--healthz-bind-address=127.0.0.1",
        f"--healthz-port={layout.kubelet_healthz_port}",
        # The kubelet's API is reachable only on the bridge; the API server calls it anonymously.
        "--anonymous-auth=true",
        "--authorization-mode=AlwaysAllow",
        "--cluster-domain=cluster.local",
        # A shared build machine's disk and memory are no reason to evict the test's pods.
        "--eviction-hard=memory.available<1Mi,nodefs.available<1%,imagefs.available<1%",
        "--image-gc-high-threshold=100",
        "--image-gc-low-threshold=99",
        "--serialize-image-pulls=false",
        "--v=1",
    ]


def kube_proxy_argv(binary: Path, layout: NodeLayout) -> list[str]:
    """kube-proxy in iptables mode; it touches no sysctl (conntrack limits left alone)."""
    return [
        str(binary),
        f"--kubeconfig={layout.kubeconfig}",
        f"--hostname-override={NODE_NAME}",
        "--proxy-mode=iptables",
        f"--cluster-cidr={POD_SUBNET}",
        f"--bind-address={NODE_ADDRESS}",
        f"--healthz-bind-address=127.0.0.1:{layout.proxy_healthz_port}",
        f"--metrics-bind-address=127.0.0.1:{layout.proxy_metrics_port}",
        "--conntrack-max-per-core=0",
        "--conntrack-tcp-timeout-established=0",
        "--conntrack-tcp-timeout-close-wait=0",
        "--v=1",
    ]


def kube_scheduler_argv(binary: Path, layout: NodeLayout) -> list[str]:
    """The scheduler: without it pods stay Pending (the test control planes have none)."""
    return [
        str(binary),
        f"--kubeconfig={layout.kubeconfig}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        f"--secure-port={layout.scheduler_port}",
        "--port=0",
    ]
