"""Command lines of etcd, kube-apiserver and kube-controller-manager for one control plane.

Pure functions of a ``Layout`` (ports and file paths), kept apart from process handling so that
the reason for every flag sits next to it and the command lines can be checked without starting
anything. The flags are those of Kubernetes 1.20 and etcd 3.4; newer releases removed some of
them (``--insecure-port``, kube-controller-manager's ``--port``), so changing the version
starts here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import attrs

from syncpipe.devenv import pki

# The in-cluster name of the API; used as the service-account issuer and as the audience that
# service-account tokens are bound to (the API server rejects tokens for other audiences).
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc"
# ClusterIPs must be allocatable; only a node's kube-proxy makes them reachable (from its pods).
SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
# The "kubernetes" Service's ClusterIP: the first address of that range.
KUBERNETES_SERVICE_IP = "10.0.0.1"
# The names pods use for the API server (its certificate must carry them).
KUBERNETES_SERVICE_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
LOOPBACK = "127.0.0.1"


@attrs.frozen(kw_only=True)
class Layout:
    """Where one control plane's binaries find their ports and files."""

    name: str
    etcd_client_port: int
    etcd_peer_port: int
    apiserver_port: int
    etcd_data_dir: Path
    pki: pki.PkiFiles
    token_file: Path
    admin_kubeconfig: Path
    generated_cert_dir: Path
    # Where the API server listens and what it advertises: loopback, or a node's bridge address
    # (so that pods reach it through the "kubernetes" Service).
    address: str = LOOPBACK

    @property
    def etcd_client_url(self) -> str:
        """Where the API server reaches etcd (plain HTTP: loopback only, nobody else uses it)."""
        return f"http://127.0.0.1:{self.etcd_client_port}"


def etcd_argv(binary: Path, layout: Layout) -> list[str]:
    """A single-member etcd cluster on loopback ports."""
    peer = f"http://127.0.0.1:{layout.etcd_peer_port}"
    return [
        str(binary),
        f"--name={layout.name}",
        f"--data-dir={layout.etcd_data_dir}",
        f"--listen-client-urls={layout.etcd_client_url}",
        f"--advertise-client-urls={layout.etcd_client_url}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster={layout.name}={peer}",
        "--initial-cluster-state=new",
        "--logger=zap",
        # Only problems in the log: at "info" etcd writes a line per compaction and lease.
        "--log-level=warn",
    ]


def apiserver_argv(
    binary: Path,
    layout: Layout,
    *,
    watch_cache_sizes: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> list[str]:
    """kube-apiserver with TLS, static admin token, RBAC and TokenRequest; ``extra`` last."""
    files = layout.pki
    argv = [
        str(binary),
        f"--etcd-servers={layout.etcd_client_url}",
        f"--bind-address={layout.address}",
        f"--advertise-address={layout.address}",
        f"--secure-port={layout.apiserver_port}",
        "--insecure-port=0",
        f"--tls-cert-file={files.serving_cert}",
        f"--tls-private-key-file={files.serving_key}",
        # Unused while the two flags above are given, but the server insists on a writable one.
        f"--cert-dir={layout.generated_cert_dir}",
        f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
        "--authorization-mode=RBAC",
        f"--token-auth-file={layout.token_file}",
        f"--service-account-key-file={files.service_account_public_key}",
        # These three turn on the TokenRequest API (bound service-account tokens).
        f"--service-account-signing-key-file={files.service_account_key}",
        f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
        f"--api-audiences={SERVICE_ACCOUNT_ISSUER}",
        # On loopback the "kubernetes" Service's endpoints would be 127.0.0.1, which Endpoints
        # validation rejects: the reconciler would log an error every few seconds. On a bridge
        # address they are what a node's kube-proxy forwards the Service to.
        f"--endpoint-reconciler-type={'none' if layout.address == LOOPBACK else 'lease'}",
        "--allow-privileged=true",
        "--profiling=false",
    ]
    if layout.address != LOOPBACK:
        # The node's name resolves nowhere: `kubectl logs/exec` reach its kubelet by address.
        argv.append("--kubelet-preferred-address-types=InternalIP")
    if watch_cache_sizes:
        argv.append(f"--watch-cache-sizes={','.join(watch_cache_sizes)}")
    # Last, so that a caller's flag overrides ours (the Go flag parser keeps the last value).
    argv.extend(extra)
    return argv


def controller_manager_argv(
    binary: Path, layout: Layout, *, controllers: Sequence[str]
) -> list[str]:
    """kube-controller-manager running ``controllers`` as the admin, serving nothing."""
    files = layout.pki
    return [
        str(binary),
        f"--kubeconfig={layout.admin_kubeconfig}",
        # One instance per control plane; leader election would only add a lease write loop.
        "--leader-elect=false",
        f"--service-account-private-key-file={files.service_account_key}",
        f"--root-ca-file={files.ca_cert}",
        # No serving at all: nothing scrapes it, and it would need two more free ports.
        "--secure-port=0",
        "--port=0",
        f"--controllers={','.join(controllers)}",
    ]


def controller_enabled(controllers: Sequence[str], name: str) -> bool:
    """Whether kube-controller-manager's ``--controllers`` list turns ``name`` on.

    Approximates the real rule for the controllers that are on by default (``*`` enables
    those; ``bootstrapsigner`` and ``tokencleaner`` need naming even with ``*``).
    """
    if f"-{name}" in controllers:
        return False
    return name in controllers or "*" in controllers
