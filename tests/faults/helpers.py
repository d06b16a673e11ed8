"""Building blocks of the fault suite: objects, syncers (in-process and as processes), upstream
churn, convergence checks, and the recovery-time report.

Everything here talks to the fault suite's own control planes (``conftest.fault_planes``), never
to the session's shared pair: the faults kill API servers and etcd.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import urllib3
import yaml

from syncpipe import errors
from syncpipe.builtin import ownership
from syncpipe.clients.connect import ClusterAccess, load_configuration
from syncpipe.clients.rest import MERGE_PATCH, RestClient, object_path
from syncpipe.config.settings import Settings
from syncpipe.model.events import Direction
from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime import wiring
from syncpipe.runtime.syncer import SYNCER_CONFIGS, Syncer
from syncpipe.testing import wait_for
from syncpipe.testing.manifests import configmap as configmap  # re-exported for the fault tests
from syncpipe.testing.manifests import deployment as deployment

CM = GroupVersionResource("", "v1", "configmaps")
NS = GroupVersionResource("", "v1", "namespaces")
SECRETS = GroupVersionResource("", "v1", "secrets")
EVENTS = GroupVersionResource("", "v1", "events")
QUOTAS = GroupVersionResource("", "v1", "resourcequotas")
SERVICE_ACCOUNTS = GroupVersionResource("", "v1", "serviceaccounts")
DEPLOY = GroupVersionResource("apps", "v1", "deployments")
CRD = GroupVersionResource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
CLUSTER_ROLES = GroupVersionResource("rbac.authorization.k8s.io", "v1", "clusterroles")
CLUSTER_ROLE_BINDINGS = GroupVersionResource(
    "rbac.authorization.k8s.io", "v1", "clusterrolebindings"
)

REPORT_PATH = Path(os.environ.get("SYNCPIPE_FAULT_REPORT", "/tmp/syncpipe-fault-recovery.json"))
# Short timeouts for the test's own churn writes: a request sent while etcd is down must not
# hang the writer for the client's default minute.
CHURN_TIMEOUT = urllib3.Timeout(connect=2.0, read=5.0)


# -- clients -----------------------------------------------------------------------------------


def rest_for(plane: Any, *, kubeconfig: Path | None = None, label: str = "") -> RestClient:
    """A syncpipe ``RestClient`` for ``plane`` (the admin unless another kubeconfig is given)."""
    access = ClusterAccess(
        kubeconfig=str(kubeconfig or plane.admin_kubeconfig), label=label or plane.name
    )
    return RestClient(load_configuration(access), label=label or plane.name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_kubeconfig(path: Path, *, server: str, ca_pem: bytes, token: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "c",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                },
            }
        ],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return path


# -- objects -----------------------------------------------------------------------------------


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def resource_entry(group: str, resource: str, version: str = "v1") -> dict[str, str]:
    return {"group": group, "resource": resource, "apiVersion": version}


def syncer_config(name: str, namespaces: list[str], resources: list[dict[str, str]]) -> dict:
    return {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "SyncerConfig",
        "metadata": {"name": name},
        "spec": {"namespaceScope": {"namespaces": namespaces, "resources": resources}},
    }


def create_many(rest: RestClient, gvr: GroupVersionResource, objs: list[dict], threads: int = 8):
    """Create ``objs`` concurrently (each carries its namespace in metadata)."""

    def one(obj: dict) -> None:
        rest.create(gvr, obj["metadata"].get("namespace", ""), obj)

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, objs))


def delete_all_syncer_configs(rest: RestClient) -> None:
    items, _ = rest.list(SYNCER_CONFIGS)
    for item in items:
        with contextlib.suppress(errors.ApiNotFound):
            rest.delete(SYNCER_CONFIGS, "", item["metadata"]["name"])


def owner_selector(syncer_name: str) -> str:
    return f"{ownership.OWNER_LABEL}={ownership.owner_label_value(syncer_name)}"


def owned(rest: RestClient, gvr: GroupVersionResource, ns: str, syncer_name: str) -> dict:
    """Owned copies in ``ns`` by name."""
    items, _ = rest.list(gvr, ns, label_selector=owner_selector(syncer_name))
    return {i["metadata"]["name"]: i for i in items}


def by_name(rest: RestClient, gvr: GroupVersionResource, ns: str) -> dict[str, dict]:
    items, _ = rest.list(gvr, ns)
    return {i["metadata"]["name"]: i for i in items}


def uids(objs: dict[str, dict]) -> dict[str, str]:
    return {name: o["metadata"]["uid"] for name, o in objs.items()}


def versions(objs: dict[str, dict]) -> dict[str, str]:
    return {name: o["metadata"]["resourceVersion"] for name, o in objs.items()}


def configmap_problems(
    up: RestClient,
    down: RestClient,
    syncer_name: str,
    ns: str,
    down_ns: str | None = None,
) -> list[str]:
    """What keeps ``ns``'s ConfigMaps from being converged (empty: converged).

    Every upstream ConfigMap has an owned copy with the same data, and there is no owned copy
    without an upstream object.
    """
    source = by_name(up, CM, ns)
    copies = owned(down, CM, down_ns or ns, syncer_name)
    problems = [f"missing {n}" for n in sorted(source.keys() - copies.keys())]
    problems += [f"extra {n}" for n in sorted(copies.keys() - source.keys())]
    problems += [
        f"data of {n}: {copies[n].get('data')} != {source[n].get('data')}"
        for n in sorted(source.keys() & copies.keys())
        if (copies[n].get("data") or {}) != (source[n].get("data") or {})
    ]
    return problems


def deployment_problems(up: RestClient, down: RestClient, syncer_name: str, ns: str) -> list[str]:
    """Every upstream Deployment has an owned copy, and the copy's status came back upstream."""
    source = by_name(up, DEPLOY, ns)
    copies = owned(down, DEPLOY, ns, syncer_name)
    problems = [f"missing deployment {n}" for n in sorted(source.keys() - copies.keys())]
    problems += [f"extra deployment {n}" for n in sorted(copies.keys() - source.keys())]
    for n in sorted(source.keys() & copies.keys()):
        status = copies[n].get("status")
        if not status or not status.get("observedGeneration"):
            problems.append(f"deployment {n}: no status downstream yet")
        elif source[n].get("status") != status:
            problems.append(f"deployment {n}: status not returned upstream")
    return problems


def events_in(rest: RestClient, ns: str, reason: str | None = None) -> list[dict]:
    items, _ = rest.list(EVENTS, ns)
    return [e for e in items if reason is None or e.get("reason") == reason]


def ready_condition(up: RestClient, config_name: str) -> dict[str, Any] | None:
    obj = up.get(SYNCER_CONFIGS, "", config_name)
    for condition in (obj.get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return dict(condition)
    return None


# -- waiting and timing ------------------------------------------------------------------------


def wait_converged(
    problems: Callable[[], list[str]], *, timeout: float, interval: float = 0.25
) -> float:
    """Wait until ``problems()`` is empty; return the monotonic time it first was."""
    last: list[list[str]] = [[]]

    def done() -> bool:
        try:
            found = problems()
        except errors.ApiError as exc:  # a side still recovering: not converged yet
            last[0] = [f"API error: {exc}"]
            return False
        last[0] = found
        return not found

    wait_for(
        done,
        timeout=timeout,
        interval=interval,
        message=lambda: f"not converged: {len(last[0])} problems, first: {last[0][:5]}",
    )
    return time.monotonic()


class RecoveryReport:
    """Recovery times (fault healed → converged) of this run, merged into ``REPORT_PATH``."""

    def __init__(self, path: Path = REPORT_PATH) -> None:
        self.path = path
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {"recoveries": {}, "soak": {}}
        if not isinstance(data, dict):
            return {"recoveries": {}, "soak": {}}
        data.setdefault("recoveries", {})
        data.setdefault("soak", {})
        return data

    def _save(self, data: dict[str, Any]) -> None:
        self.path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")

    def record(self, fault: str, seconds: float, **detail: Any) -> None:
        """One measured recovery; printed, kept for the terminal summary and the JSON file."""
        line = f"recovery {fault}: {seconds:.2f}s" + "".join(
            f" {k}={v}" for k, v in sorted(detail.items())
        )
        print(line)  # noqa: T201 - the measurement is the output (shown with -s)
        with self._lock:
            self.lines.append(line)
            data = self._load()
            data["recoveries"][fault] = {
                "seconds": round(seconds, 3),
                "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                **detail,
            }
            self._save(data)

    def record_soak(self, summary: dict[str, Any]) -> None:
        line = (
            f"soak: {summary['objects']} objects, {summary['changes_per_second']:.1f} changes/s "
            f"for {summary['seconds']}s; RSS MiB after sync {summary['rss_after_sync_mib']:.1f}, "
            f"at end {summary['rss_end_mib']:.1f}"
        )
        print(line)  # noqa: T201
        with self._lock:
            self.lines.append(line)
            data = self._load()
            data["soak"] = summary
            self._save(data)


# -- syncers -----------------------------------------------------------------------------------


def make_syncer(
    up_plane: Any,
    down_plane: Any,
    name: str,
    *,
    upstream_kubeconfig: Path | None = None,
    qps: float = 0.0,
    burst: int = 0,
    **settings: Any,
) -> Syncer:
    """An in-process syncer (not started) between the two planes; ``qps``/``burst``: the
    client-side rate limit of each side (``--qps``/``--burst``)."""
    settings.setdefault("discovery_interval", 2.0)
    settings.setdefault("heartbeat_interval", 1.0)
    return wiring.build_syncer(
        settings=Settings(syncer_name=name, **settings),
        upstream_kubeconfig=str(upstream_kubeconfig or up_plane.admin_kubeconfig),
        downstream_kubeconfig=str(down_plane.admin_kubeconfig),
        qps=qps,
        burst=burst,
    )


@contextlib.contextmanager
def running(syncer: Syncer) -> Iterator[Syncer]:
    syncer.start()
    try:
        yield syncer
    finally:
        syncer.stop(timeout=10)


def writes(syncer: Syncer, side: str = "downstream") -> int:
    rest = syncer.downstream if side == "downstream" else syncer.upstream
    verbs = dict(rest.requests_by_verb)
    return sum(verbs.get(v, 0) for v in ("create", "patch", "update", "delete"))


def upstream_informer(syncer: Syncer, resource: str) -> Any:
    """The upstream source informer of ``resource`` (for its reflector's statistics)."""
    for gvr, state in syncer.flows[Direction.DOWN].sources.items():
        if gvr.resource == resource and state.informer is not None:
            return state.informer
    return None


class SyncerProcess:
    """One ``python -m syncpipe run`` subprocess with its log; stopped by its pid."""

    def __init__(self, argv: list[str], log_path: Path) -> None:
        self.argv = argv
        self.log_path = log_path
        log = log_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        finally:
            log.close()
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def kill_hard(self) -> None:
        """SIGKILL (a crash) and reap."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, grace: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL after ``grace``; return the exit status."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode

    def rss_bytes(self) -> int:
        """Resident set size of the process (``VmRSS``), 0 when gone."""
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return 0
        return 0


class SyncerProcesses:
    """Starts ``syncpipe run`` processes; ``stop_all`` stops each by its pid."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: list[SyncerProcess] = []

    def start(
        self,
        name: str,
        *,
        upstream_kubeconfig: Path,
        downstream_kubeconfig: Path,
        extra: Iterable[str] = (),
    ) -> SyncerProcess:
        argv = [
            sys.executable,
            "-m",
            "syncpipe",
            "run",
            "--upstream-kubeconfig",
            str(upstream_kubeconfig),
            "--downstream-kubeconfig",
            str(downstream_kubeconfig),
            "--syncer-name",
            name,
            *extra,
        ]
        proc = SyncerProcess(argv, self.tmp_path / f"{name}-{len(self.procs)}.log")
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.stop()


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


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head.startswith(name + "{") or head == name:
            found = dict(
                part.split("=", 1) for part in head[len(name) + 1 : -1].split(",") if "=" in part
            )
            found = {k: v.strip('"') for k, v in found.items()}
            if all(found.get(k) == v for k, v in labels.items()):
                return float(value)
    return 0.0


# -- upstream churn ----------------------------------------------------------------------------


class Churn:
    """A thread changing ConfigMaps every ``interval`` seconds through its own client.

    Round robin over ``names`` in ``ns``: each change sets ``data.churn`` to a new counter. Errors
    (the server being down) are counted and tolerated. Runs until ``stop()``.
    """

    def __init__(
        self, rest: RestClient, ns: str, names: list[str], *, interval: float = 0.1
    ) -> None:
        self.rest = rest
        self.ns = ns
        self.names = names
        self.interval = interval
        self.ok = 0
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="churn", daemon=True)

    def start(self) -> Churn:
        self._thread.start()
        return self

    def _run(self) -> None:
        i = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            name = self.names[i % len(self.names)]
            path = object_path(CM, self.ns, name)
            try:
                self.rest.raw(
                    "PATCH",
                    path,
                    body={"data": {"churn": str(i)}},
                    content_type=MERGE_PATCH,
                    timeout=CHURN_TIMEOUT,
                )
                self.ok += 1
            except errors.ApiError:
                self.failed += 1
            i += 1
            next_at += self.interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)
