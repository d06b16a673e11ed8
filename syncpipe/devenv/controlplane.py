"""One local Kubernetes control plane: etcd, kube-apiserver and optionally kube-controller-manager.

A ``ControlPlane`` is what the integration tests and ``syncpipe dev`` use as "a cluster": real
binaries (so watch semantics, RBAC, resourceVersions and 410s are the real ones), each on free
loopback ports, with

- TLS served from a certificate signed by the control plane's own CA (clients verify it),
- a static admin bearer token in group ``system:masters`` (``--token-auth-file``),
- RBAC authorization, so restricted credentials can be tested, and
- service-account tokens minted through the TokenRequest API (``service_account_token``).

etcd's data lives on tmpfs (``/dev/shm``): on a disk, every fsync makes each write several times
slower (see ``tmpfs``). etcd itself listens on plain HTTP on the loopback interface; only the API
server talks to it.

What this module does not do: decide which control planes a test session needs (``pair``), find
or build the binaries (``assets``), spell out the binaries' flags (``flags``), or talk to the API
beyond setup calls (``kubeapi``).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import attrs
import urllib3

from syncpipe.devenv import flags, kubeapi, pki, processes, tmpfs
from syncpipe.devenv.assets import Assets
from syncpipe.errors import SyncpipeError

log = logging.getLogger(__name__)

ADMIN_USER = "syncpipe-admin"
READY_TIMEOUT_SECONDS = 90.0
POLL_SECONDS = 0.1
# Signals after which the process is still there; waiting for its exit would only time out.
_NON_TERMINATING_SIGNALS = frozenset({signal.SIGSTOP, signal.SIGTSTP, signal.SIGCONT})


def _record_tuple(
    items: Iterable[processes.ProcessRecord],
) -> tuple[processes.ProcessRecord, ...]:
    # A named converter: mypy's attrs plugin cannot type ``converter=tuple``.
    return tuple(items)


class ControlPlaneError(SyncpipeError):
    """A control plane could not be started; the message carries the failing binary's log."""


@attrs.frozen(kw_only=True)
class ControlPlaneRecord:
    """Everything needed to find, use and stop a control plane from another process."""

    name: str
    server: str
    admin_kubeconfig: Path = attrs.field(converter=Path)
    workdir: Path = attrs.field(converter=Path)
    etcd_data_dir: Path = attrs.field(converter=Path)
    processes: tuple[processes.ProcessRecord, ...] = attrs.field(converter=_record_tuple)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; ``from_json`` reads it back."""
        return {
            "name": self.name,
            "server": self.server,
            "admin_kubeconfig": str(self.admin_kubeconfig),
            "workdir": str(self.workdir),
            "etcd_data_dir": str(self.etcd_data_dir),
            "processes": [attrs.asdict(p) for p in self.processes],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ControlPlaneRecord:
        """Rebuild a record written by ``to_json``."""
        return cls(
            name=data["name"],
            server=data["server"],
            admin_kubeconfig=data["admin_kubeconfig"],
            workdir=data["workdir"],
            etcd_data_dir=data["etcd_data_dir"],
            processes=[processes.ProcessRecord(**p) for p in data["processes"]],
        )


class ControlPlane:
    """A running (or stoppable) etcd + kube-apiserver (+ kube-controller-manager).

    ``controllers`` is the value of kube-controller-manager's ``--controllers`` as a sequence
    (``("*", "-route")``); empty means no controller manager at all. ``workdir`` holds the keys,
    kubeconfigs and logs; when not given a temporary one is made and removed by ``stop``.
    """

    def __init__(
        self,
        name: str,
        *,
        assets: Assets,
        workdir: Path | None = None,
        controllers: Sequence[str] = (),
        watch_cache_sizes: Sequence[str] = (),
        apiserver_args: Sequence[str] = (),
        ready_timeout: float = READY_TIMEOUT_SECONDS,
        address: str = flags.LOOPBACK,
    ) -> None:
        self.name = name
        self.assets = assets
        self.controllers = tuple(controllers)
        self.watch_cache_sizes = tuple(watch_cache_sizes)
        self.apiserver_args = tuple(apiserver_args)
        self.ready_timeout = ready_timeout
        self._owns_workdir = workdir is None
        self.workdir = (
            Path(tempfile.mkdtemp(prefix=f"syncpipe-{name}-")) if workdir is None else workdir
        )
        self.etcd_client_port, self.etcd_peer_port, self.apiserver_port = processes.free_ports(3)
        self.address = address
        self.server = f"https://{address}:{self.apiserver_port}"
        self.admin_kubeconfig = self.workdir / "admin.kubeconfig"
        self.etcd_data_dir: Path | None = None
        self._pki: pki.Pki | None = None
        self._admin_token: str | None = None
        self._api: kubeapi.KubeApi | None = None
        self._etcd: processes.ManagedProcess | None = None
        self._apiserver: processes.ManagedProcess | None = None
        self._controller_manager: processes.ManagedProcess | None = None
        self._lock = threading.RLock()
        self._stopped = False

    # -- credentials -------------------------------------------------------------------------

    @property
    def ca_pem(self) -> bytes:
        """The PEM of the CA that signed the API server's serving certificate."""
        return self._started_pki().ca_cert

    @property
    def admin_token(self) -> str:
        """A bearer token of a ``system:masters`` user: allowed everything."""
        if self._admin_token is None:
            raise RuntimeError(f"control plane {self.name!r} was not started")
        return self._admin_token

    def api(self, token: str | None = None) -> kubeapi.KubeApi:
        """A small HTTPS client for setup calls; with ``token=None``, the admin's."""
        if token is None:
            if self._api is None:
                self._api = kubeapi.KubeApi(
                    server=self.server, ca_pem=self.ca_pem, token=self.admin_token
                )
            return self._api
        return kubeapi.KubeApi(server=self.server, ca_pem=self.ca_pem, token=token)

    def kubeconfig_for_token(self, token: str, path: Path | None = None) -> Path:
        """Write a kubeconfig that uses ``token`` against this API server; return its path."""
        if path is None:
            digest = hashlib.sha256(token.encode()).hexdigest()[:12]
            path = self.workdir / "kubeconfigs" / f"token-{digest}.kubeconfig"
        config = kubeapi.kubeconfig(
            name=self.name, server=self.server, ca_pem=self.ca_pem, token=token
        )
        return kubeapi.write_kubeconfig(path, config)

    def service_account_token(
        self,
        namespace: str,
        name: str,
        *,
        expiration_seconds: int = 24 * 3600,
    ) -> str:
        """A token of ServiceAccount ``namespace/name``, creating both if they are missing.

        The token comes from the TokenRequest API, so it works without the token controller and
        has only the permissions RBAC grants that ServiceAccount (none, until bound).
        """
        api = self.api()
        api.create(
            "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        )
        api.create(
            f"/api/v1/namespaces/{namespace}/serviceaccounts",
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
        )
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"
        answer = api.request(
            "POST",
            path,
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"expirationSeconds": expiration_seconds},
            },
        )
        if answer.status not in {200, 201}:
            raise kubeapi.ApiCallFailed(f"POST {path}", answer)
        token: str = answer.body["status"]["token"]
        return token

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, *, stop_at_exit: bool = True) -> Self:
        """Start every binary and wait until the API server (and controllers) are ready.

        On failure everything started so far is stopped, the work directory is kept for its
        logs, and ``ControlPlaneError`` names the log and quotes its end. With ``stop_at_exit``
        the control plane is also stopped when the interpreter exits normally.
        """
        started = time.monotonic()
        if stop_at_exit:
            atexit.register(self.stop)
        try:
            layout = self._prepare()
            self._etcd = self._launch("etcd", flags.etcd_argv(self.assets.etcd, layout))
            self._wait_etcd()
            self._apiserver = self._launch(
                "kube-apiserver",
                flags.apiserver_argv(
                    self.assets.kube_apiserver,
                    layout,
                    watch_cache_sizes=self.watch_cache_sizes,
                    extra=self.apiserver_args,
                ),
            )
            self._wait_apiserver()
            if self.controllers:
                self._controller_manager = self._launch(
                    "kube-controller-manager",
                    flags.controller_manager_argv(
                        self.assets.kube_controller_manager, layout, controllers=self.controllers
                    ),
                )
                self._wait_controllers()
        except BaseException:
            self._owns_workdir = False  # keep the logs the error message points at
            self.stop()
            raise
        log.info(
            "control plane %s ready at %s in %.1fs", self.name, self.server,
            time.monotonic() - started,
        )  # fmt: skip
        return self

    def stop(self) -> None:
        """Stop every process started here and remove etcd's data. Safe to call again."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            atexit.unregister(self.stop)
            for process in (self._controller_manager, self._apiserver, self._etcd):
                if process is not None:
                    process.stop()
            if self._api is not None:
                self._api.close()
            if self.etcd_data_dir is not None:
                tmpfs.remove_etcd_data_dir(self.etcd_data_dir)
            if self._owns_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def detach(self) -> ControlPlaneRecord:
        """Leave the processes running after this interpreter exits; return how to find them.

        Used by ``syncpipe dev up``; ``stop_detached`` is the matching stop.
        """
        with self._lock:
            record = self.describe()
            for process in (self._etcd, self._apiserver, self._controller_manager):
                if process is not None:
                    process.detach()
            self._stopped = True
            atexit.unregister(self.stop)
            return record

    def describe(self) -> ControlPlaneRecord:
        """A snapshot of where this control plane lives and which pids it runs."""
        running = [
            p.record()
            for p in (self._etcd, self._apiserver, self._controller_manager)
            if p is not None
        ]
        return ControlPlaneRecord(
            name=self.name,
            server=self.server,
            admin_kubeconfig=self.admin_kubeconfig,
            workdir=self.workdir,
            etcd_data_dir=self.etcd_data_dir or self.workdir / "etcd",
            processes=[r for r in running if r is not None],
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- fault injection ---------------------------------------------------------------------

    def kill_apiserver(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to kube-apiserver (SIGKILL: a crash; SIGSTOP: a hang)."""
        _signal(self._require(self._apiserver), sig)

    def restart_apiserver(self) -> None:
        """Stop kube-apiserver if it runs, start it on the same port, wait until ready."""
        apiserver = self._require(self._apiserver)
        apiserver.stop()
        apiserver.start()
        self._wait_apiserver()

    def kill_etcd(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to etcd; its data stays, so ``restart_etcd`` brings it all back."""
        _signal(self._require(self._etcd), sig)

    def restart_etcd(self) -> None:
        """Stop etcd if it runs, start it on the same ports and data, wait until served again."""
        etcd = self._require(self._etcd)
        etcd.stop()
        etcd.start()
        self._wait_etcd()
        if self._apiserver is not None and self._apiserver.alive():
            self._wait_apiserver()

    # -- internals ---------------------------------------------------------------------------

    def _started_pki(self) -> pki.Pki:
        if self._pki is None:
            raise RuntimeError(f"control plane {self.name!r} was not started")
        return self._pki

    def _require(self, process: processes.ManagedProcess | None) -> processes.ManagedProcess:
        if process is None or self._stopped:
            raise RuntimeError(f"control plane {self.name!r} is not running")
        return process

    def _launch(self, binary: str, argv: list[str]) -> processes.ManagedProcess:
        # Under the lock, so that a stop() racing with start() (Ctrl-C, atexit) either sees
        # the process and stops it, or prevents it from being started at all.
        with self._lock:
            if self._stopped:
                raise ControlPlaneError(f"control plane {self.name!r} was stopped while starting")
            process = processes.ManagedProcess(
                name=binary, argv=argv, log_path=self.workdir / "logs" / f"{binary}.log"
            )
            process.start()
            return process

    def _prepare(self) -> flags.Layout:
        self.workdir.mkdir(parents=True, exist_ok=True)
        in_cluster = self.address != flags.LOOPBACK
        self._pki = pki.generate(
            self.name,
            ip_addresses=(self.address, flags.KUBERNETES_SERVICE_IP) if in_cluster else (),
            dns_names=flags.KUBERNETES_SERVICE_NAMES if in_cluster else (),
        )
        pki_files = self._pki.write(self.workdir / "pki")
        self._admin_token = secrets.token_urlsafe(32)
        token_file = self.workdir / "pki" / "tokens.csv"
        token_file.touch(mode=0o600)
        token_file.write_text(f'{self._admin_token},{ADMIN_USER},{ADMIN_USER},"system:masters"\n')
        self.kubeconfig_for_token(self._admin_token, self.admin_kubeconfig)
        self.etcd_data_dir = tmpfs.make_etcd_data_dir(self.name, fallback=self.workdir / "etcd")
        return flags.Layout(
            name=self.name,
            etcd_client_port=self.etcd_client_port,
            etcd_peer_port=self.etcd_peer_port,
            apiserver_port=self.apiserver_port,
            etcd_data_dir=self.etcd_data_dir,
            pki=pki_files,
            token_file=token_file,
            admin_kubeconfig=self.admin_kubeconfig,
            generated_cert_dir=self.workdir / "pki" / "generated",
            address=self.address,
        )

    def _wait_etcd(self) -> None:
        url = f"http://127.0.0.1:{self.etcd_client_port}/health"
        pool = urllib3.PoolManager(timeout=urllib3.Timeout(connect=1.0, read=5.0), retries=False)

        def healthy() -> bool:
            answer = pool.request("GET", url)
            return answer.status == 200 and json.loads(answer.data).get("health") == "true"

        try:
            self._wait_until(healthy, self._require(self._etcd), "etcd to report healthy")
        finally:
            pool.clear()

    def _wait_apiserver(self) -> None:
        api = self.api()

        def ready() -> bool:
            return api.request("GET", "/readyz").status == 200

        self._wait_until(ready, self._require(self._apiserver), "kube-apiserver /readyz")

    def _wait_controllers(self) -> None:
        # The ServiceAccount controller creating "default/default" proves the controller
        # manager is connected and running its controllers; pods cannot be created in a
        # namespace before its "default" ServiceAccount exists anyway.
        if not flags.controller_enabled(self.controllers, "serviceaccount"):
            return
        api = self.api()

        def has_default_sa() -> bool:
            return (
                api.request("GET", "/api/v1/namespaces/default/serviceaccounts/default").status
                == 200
            )

        self._wait_until(
            has_default_sa,
            self._require(self._controller_manager),
            "kube-controller-manager to create the default ServiceAccount",
        )

    def _wait_until(
        self, probe: Callable[[], bool], process: processes.ManagedProcess, what: str
    ) -> None:
        deadline = time.monotonic() + self.ready_timeout
        last_error = ""
        while True:
            if not process.alive():
                raise self._failure(process, f"{process.name} exited ({process.returncode()})")
            try:
                if probe():
                    return
            except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
                last_error = f"; last probe error: {exc}"
            if time.monotonic() > deadline:
                raise self._failure(
                    process,
                    f"timed out after {self.ready_timeout:.0f}s waiting for {what}{last_error}",
                )
            time.sleep(POLL_SECONDS)

    def _failure(self, process: processes.ManagedProcess, reason: str) -> ControlPlaneError:
        return ControlPlaneError(
            f"control plane {self.name!r}: {reason}\n"
            f"--- last lines of {process.log_path} ---\n{process.log_tail(30)}"
        )


def _signal(process: processes.ManagedProcess, sig: int) -> None:
    process.kill(sig, wait=0 if sig in _NON_TERMINATING_SIGNALS else processes.TERM_GRACE_SECONDS)


def stop_detached(record: ControlPlaneRecord) -> None:
    """Stop a control plane left running by ``ControlPlane.detach`` (in any process)."""
    # Reverse start order: the controller manager and the API server first, so they do not
    # spend their last seconds retrying a vanished etcd.
    for process in reversed(record.processes):
        processes.stop_pid(process)
    tmpfs.remove_etcd_data_dir(record.etcd_data_dir)
