"""The fleet of ``fleet.py``: its edges, their workload and SyncerConfigs, their identities,
and the syncer processes.

Every edge ``edge-NNN`` has its mailbox namespace ``app-NNN`` upstream (2 Deployments,
2 headless Services, 3 ConfigMaps, one ``Widget``), its SyncerConfig ``edge-NNN`` labelled
``fleet.syncpipe.io/edge=edge-NNN``, and a ServiceAccount ``fleet-syncers/edge-NNN`` on each
side (cluster-admin), whose requests the API servers audit (``fleet_audit.py``). Services are
headless so that a hundred edges do not exhaust the control planes' /24 of cluster IPs.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from fleet_audit import AUDITED_NAMESPACE
from live import CM, CRD, DEPLOY, NS, SYNCER_CONFIGS, cpu_seconds, create_all, rest_for, wait

from syncpipe import errors
from syncpipe.clients.rest import RestClient
from syncpipe.config import crds
from syncpipe.devenv.controlplane import ControlPlane
from syncpipe.model.resources import GroupVersionResource

ROOT = pathlib.Path(__file__).resolve().parents[1]
SVC = GroupVersionResource("", "v1", "services")
WIDGET_GROUP = "fleet.bench.syncpipe.io"
WIDGETS = GroupVersionResource(WIDGET_GROUP, "v1", "widgets")
RESOURCES = (CM, SVC, DEPLOY, WIDGETS)

SELECTOR_FLAG = "--syncer-config-selector"
EDGE_LABEL = "fleet.syncpipe.io/edge"
WORKLOAD_LABEL = "fleet.syncpipe.io/workload"
# The workload of every edge: names per resource.
DEPLOYMENTS = ("web-0", "web-1")
SERVICES = ("web-0", "web-1")
CONFIGMAPS = ("config-0", "config-1", "config-2")
WIDGET_NAMES = ("widget-0",)
OBJECTS_PER_EDGE = {
    CM: len(CONFIGMAPS),
    SVC: len(SERVICES),
    DEPLOY: len(DEPLOYMENTS),
    WIDGETS: len(WIDGET_NAMES),
}
# Writes (and everything else) go from this many threads at once, as a placement controller's.
WRITERS = 16
STOP_TIMEOUT = 30.0  # for the syncer processes to exit on SIGTERM, all together
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Edge:
    """One edge cluster: its syncer's name, its mailbox namespace upstream, its copies'."""

    name: str
    upstream_ns: str

    @classmethod
    def numbered(cls, i: int) -> Edge:
        return cls(name=f"edge-{i:03d}", upstream_ns=f"app-{i:03d}")

    @property
    def prefix(self) -> str:
        return f"{self.name}-"

    @property
    def downstream_ns(self) -> str:
        return self.prefix + self.upstream_ns

    @property
    def poller_ns(self) -> str:
        return f"poll-{self.downstream_ns}"


# -- objects -----------------------------------------------------------------------------------


def meta(name: str, ns: str = "", **labels: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "labels": {WORKLOAD_LABEL: "1", **labels}}
    if ns:
        out["namespace"] = ns
    return out


def workload(edge: Edge) -> list[tuple[GroupVersionResource, dict[str, Any]]]:
    ns = edge.upstream_ns
    objs: list[tuple[GroupVersionResource, dict[str, Any]]] = []
    for name in CONFIGMAPS:
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(name, ns)}
        objs.append((CM, {**cm, "data": {"edge": edge.name, "payload": "x" * 256}}))
    for name in SERVICES:
        spec = {"clusterIP": "None", "selector": {"app": name}, "ports": [{"port": 80}]}
        objs.append(
            (SVC, {"apiVersion": "v1", "kind": "Service", "metadata": meta(name, ns), "spec": spec})
        )
    for name in DEPLOYMENTS:
        objs.append((DEPLOY, deployment(name, ns)))
    for name in WIDGET_NAMES:
        body = {"apiVersion": f"{WIDGET_GROUP}/v1", "kind": "Widget", "metadata": meta(name, ns)}
        objs.append((WIDGETS, {**body, "spec": {"size": 1}}))
    return objs


def deployment(name: str, ns: str) -> dict[str, Any]:
    app = {"app": name}
    container = {
        "name": "web",
        "image": "nginx:1.25",
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(name, ns),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": app},
            "template": {"metadata": {"labels": app}, "spec": {"containers": [container]}},
        },
    }


def widget_crd() -> dict[str, Any]:
    version = {
        "name": "v1",
        "served": True,
        "storage": True,
        "subresources": {"status": {}},
        "schema": {
            "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{WIDGETS.resource}.{WIDGET_GROUP}"},
        "spec": {
            "group": WIDGET_GROUP,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget", "singular": "widget"},
            "versions": [version],
        },
    }


def syncer_config(edge: Edge) -> dict[str, Any]:
    resources = [
        {"group": gvr.group, "resource": gvr.resource, "apiVersion": gvr.version}
        for gvr in RESOURCES
    ]
    return {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "SyncerConfig",
        "metadata": {"name": edge.name, "labels": {EDGE_LABEL: edge.name}},
        "spec": {"namespaceScope": {"namespaces": [edge.upstream_ns], "resources": resources}},
    }


def established(rest: RestClient, name: str) -> bool:
    crd = rest.get_or_none(CRD, "", name) or {}
    return any(
        c.get("type") == "Established" and c.get("status") == "True"
        for c in (crd.get("status") or {}).get("conditions") or ()
    )


def prepare(up: RestClient, down: RestClient, edges: Sequence[Edge]) -> None:
    """CRDs on both sides; every edge's namespace, workload and SyncerConfig upstream."""
    for manifest in crds.all_crd_manifests():
        with contextlib.suppress(errors.ApiAlreadyExists):
            up.create(CRD, "", manifest)
    crd = widget_crd()
    for rest in (up, down):
        rest.create(CRD, "", crd)
        wait(functools.partial(established, rest, crd["metadata"]["name"]), 60, "the Widget CRD")
    wait(
        lambda: established(up, f"{SYNCER_CONFIGS.resource}.{SYNCER_CONFIGS.group}"),
        60,
        "SyncerConfig API",
    )
    namespaces = [
        (
            NS,
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": meta(e.upstream_ns, "", **{EDGE_LABEL: e.name}),
            },
        )
        for e in edges
    ]
    create_all(up, namespaces, WRITERS)
    create_all(up, [o for e in edges for o in workload(e)], WRITERS)
    create_all(up, [(SYNCER_CONFIGS, syncer_config(e)) for e in edges], WRITERS)


# -- identities and the syncer processes --------------------------------------------------------


@dataclass(frozen=True)
class Identities:
    """Per edge, a kubeconfig of its own ServiceAccount on each side (the audited identity)."""

    upstream: dict[str, pathlib.Path]
    downstream: dict[str, pathlib.Path]

    @classmethod
    def create(cls, planes: Sequence[ControlPlane], edges: Sequence[Edge]) -> Identities:
        """ServiceAccounts ``fleet-syncers/<edge>`` on both sides, all of them cluster-admin."""
        paths: list[dict[str, pathlib.Path]] = []
        for plane in planes:
            binding = {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": AUDITED_NAMESPACE},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "cluster-admin",
                },
                "subjects": [
                    {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Group",
                        "name": f"system:serviceaccounts:{AUDITED_NAMESPACE}",
                    }
                ],
            }
            plane.api().create("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", binding)
            paths.append(
                {
                    edge.name: plane.kubeconfig_for_token(
                        plane.service_account_token(AUDITED_NAMESPACE, edge.name),
                        plane.workdir / "kubeconfigs" / f"{edge.name}.kubeconfig",
                    )
                    for edge in edges
                }
            )
        return cls(upstream=paths[0], downstream=paths[1])

    def clients(self, edge: Edge) -> tuple[RestClient, RestClient]:
        """Upstream and downstream clients with the edge's identity."""
        return (
            rest_for(self.upstream[edge.name], "upstream"),
            rest_for(self.downstream[edge.name], "downstream"),
        )


def selector_supported() -> bool:
    """Whether this syncpipe's ``run`` takes ``--syncer-config-selector``."""
    answer = subprocess.run(
        [sys.executable, "-m", "syncpipe", "run", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    return SELECTOR_FLAG in answer.stdout


def _die_with_parent() -> None:
    """In the child: SIGTERM when the benchmark dies, so no syncer outlives it (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (0 once it is gone)."""
    try:
        status = pathlib.Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) * 1024 if found else 0


ESTABLISHED = "01"  # TCP state in /proc/net/tcp


def connections_to(pid: int, port: int) -> int:
    """Established TCP connections a process holds to ``port`` (IPv4 loopback, ``/proc``)."""
    try:
        links = [os.readlink(f) for f in pathlib.Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return 0
    sockets = {link[8:-1] for link in links if link.startswith("socket:[")}
    count = 0
    for line in pathlib.Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].rsplit(":", 1)[1], 16)
        if fields[3] == ESTABLISHED and remote_port == port and fields[9] in sockets:
            count += 1
    return count


# What ``syncpipe run`` logs once it is ready (see ``SyncerFleet.not_ready``).
READY_LINE = "initial sync done"


class SyncerFleet:
    """N ``python -m syncpipe run`` processes, one per edge, logs in ``logdir``."""

    def __init__(
        self,
        edges: Sequence[Edge],
        identities: Identities,
        logdir: pathlib.Path,
        use_selector: bool,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.edges = list(edges)
        self.identities = identities
        self.logdir = logdir
        self.use_selector = use_selector
        self.extra_args = list(extra_args)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []

    def command(self, edge: Edge) -> list[str]:
        selector = [SELECTOR_FLAG, f"{EDGE_LABEL}={edge.name}"] if self.use_selector else []
        return [
            sys.executable,
            "-m",
            "syncpipe",
            "run",
            "--upstream-kubeconfig",
            str(self.identities.upstream[edge.name]),
            "--downstream-kubeconfig",
            str(self.identities.downstream[edge.name]),
            "--syncer-name",
            edge.name,
            "--namespace-mapping",
            f"prefix:{edge.prefix}",
            *selector,
            *self.extra_args,
        ]

    def start(self) -> None:
        self.logdir.mkdir(parents=True, exist_ok=True)
        for edge in self.edges:
            log = (self.logdir / f"{edge.name}.log").open("wb")
            self._logs.append(log)
            self.processes[edge.name] = subprocess.Popen(
                self.command(edge),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,  # Ctrl-C reaches the benchmark, which stops them
                preexec_fn=_die_with_parent,  # only prctl: safe in the forked child
            )

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.processes.items()}

    def not_ready(self) -> list[str]:
        """Syncers whose log does not say ``initial sync done`` yet: a syncer logs it once its
        first sync went idle AND its one-time start-up janitor ran (the janitor's lists of every
        resource must not be counted as traffic at rest)."""
        return [
            name
            for name in self.processes
            if READY_LINE not in (self.logdir / f"{name}.log").read_text(errors="replace")
        ]

    def check_alive(self) -> None:
        """Raise with the log's tail if a syncer has exited."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = (self.logdir / f"{name}.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"syncer {name} exited with {process.returncode}:\n{tail}")

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids().items()}

    def rss(self) -> dict[str, int]:
        return {name: rss_bytes(pid) for name, pid in self.pids().items()}

    def connections(self, port: int) -> dict[str, int]:
        return {name: connections_to(pid, port) for name, pid in self.pids().items()}

    def stop(self) -> None:
        """SIGTERM to all, SIGKILL to those still running after ``STOP_TIMEOUT``; safe twice."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(10)
        for log in self._logs:
            log.close()
        self._logs.clear()
