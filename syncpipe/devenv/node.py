"""A real node for the downstream (edge) control plane: containerd, kubelet, kube-proxy, scheduler.

The node runs on this machine, as root, beside the control planes:

- a bridge ``syncpipe0`` with address ``10.200.0.1/24``, made here; both API servers listen on
  that address (never on an external interface), so pods reach the downstream through the
  in-cluster ``kubernetes`` Service (kube-proxy forwards its ClusterIP there) and the upstream
  at ``https://10.200.0.1:PORT`` (``syncer-gen --upstream-server``);
- containerd (Debian's) with a private root, state and socket, cgroupfs, overlayfs and the
  bridge CNI plugin (Debian's containernetworking-plugins) on that bridge;
- kubelet, kube-proxy and kube-scheduler built from the same Debian ``kubernetes`` source as the
  control plane (``provision.sh --node``);
- images only from local archives (``ctr images import``): the pause image from that source's
  ``build/pause``, a busybox image from Debian's busybox-static, and whatever the caller adds
  (the syncer image of ``scripts/build-image``). Nothing is ever pulled.

``missing_prerequisites`` says which of root, cgroup v1, overlayfs, network namespaces and the
binaries this machine lacks; callers skip (tests) or refuse (``syncpipe dev up --with-node``)
with exactly that.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from syncpipe.devenv import assets, controlplane, kubeapi, processes
from syncpipe.devenv.nodeconfig import (
    BRIDGE,
    CNI_BIN_DIR,
    CONTAINERD_NAMESPACE,
    NODE_ADDRESS,
    NODE_NAME,
    PAUSE_IMAGE,
    POD_SUBNET,
    NodeLayout,
    cni_config,
    containerd_config,
    kube_proxy_argv,
    kube_scheduler_argv,
    kubelet_argv,
)

CNI_PLUGINS = ("bridge", "host-local", "loopback")
# The cgroup v1 controllers the kubelet's cgroupfs driver writes to.
CGROUP_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "pids", "devices", "freezer")
BUSYBOX_IMAGE = "docker.io/library/syncpipe-busybox:dev"
SYNCPIPE_IMAGE = "docker.io/library/syncpipe:dev"  # what scripts/build-image names its image
BUSYBOX_APPLETS = ("sh", "sleep", "tail", "cat", "echo", "ls", "wget", "nc", "httpd")
POD_LOG_DIR = Path("/var/log/pods")
CONTAINER_LOG_LINKS = Path("/var/log/containers")
READY_TIMEOUT_SECONDS = 120.0

Progress = Callable[[str], None]


class NodeError(assets.AssetsError):
    """The node cannot be started here; the message says exactly why."""


# -- prerequisites ------------------------------------------------------------------------------


def _cgroup_v1_mounts(mounts_text: str) -> dict[str, str]:
    """controller -> mount point of its cgroup v1 hierarchy, from ``/proc/mounts`` text."""
    found: dict[str, str] = {}
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] == "cgroup":
            for option in fields[3].split(","):
                found.setdefault(option, fields[1])
    return found


def missing_prerequisites(
    *,
    euid: int | None = None,
    mounts_text: str | None = None,
    filesystems_text: str | None = None,
    can_unshare_net: Callable[[], bool] | None = None,
) -> list[str]:
    """What this machine lacks to run the node, each as one sentence; empty if nothing."""
    problems: list[str] = []
    if (os.geteuid() if euid is None else euid) != 0:
        problems.append("not root: containerd, the kubelet and the bridge need root")
    mounts = _cgroup_v1_mounts(
        Path("/proc/mounts").read_text() if mounts_text is None else mounts_text
    )
    absent = [c for c in CGROUP_CONTROLLERS if c not in mounts]
    if absent:
        problems.append(
            f"no cgroup v1 hierarchy for {', '.join(absent)}: kubelet 1.20 with the cgroupfs "
            "driver needs cgroup v1"
        )
    elif mounts_text is None:
        read_only = [c for c in CGROUP_CONTROLLERS if not os.access(mounts[c], os.W_OK)]
        if read_only:
            problems.append(f"cgroup v1 hierarchies not writable: {', '.join(read_only)}")
    filesystems = (
        Path("/proc/filesystems").read_text() if filesystems_text is None else filesystems_text
    )
    if "overlay" not in filesystems.split():
        problems.append("no overlayfs in /proc/filesystems: containerd's snapshotter needs it")
    unshare = _can_unshare_net if can_unshare_net is None else can_unshare_net
    if not problems and not unshare():
        problems.append("cannot create network namespaces (unshare --net failed): pods need them")
    return problems


def _can_unshare_net() -> bool:
    try:
        result = subprocess.run(["unshare", "--net", "true"], capture_output=True, check=False)
    except OSError:
        return False
    return result.returncode == 0


@attrs.frozen(kw_only=True)
class NodeBinaries:
    """Everything the node runs: built from the Kubernetes source, or Debian's packages."""

    kubelet: Path
    kube_proxy: Path
    kube_scheduler: Path
    kubectl: Path
    pause: Path
    containerd: Path
    ctr: Path
    runc: Path
    busybox: Path
    umoci: Path


def find_node_binaries(environ: Mapping[str, str] | None = None) -> NodeBinaries | str:
    """The node's binaries, or a sentence naming those that are missing."""
    env = os.environ if environ is None else environ
    built = {name: assets.cache_dir(env) / "bin" / name for name in assets.NODE_BINARIES}
    system = {name: shutil.which(name) for name in assets.NODE_SYSTEM_TOOLS}
    missing = [name for name, path in built.items() if not os.access(path, os.X_OK)]
    missing += [name for name, path in system.items() if path is None]
    missing += [f"CNI plugin {p}" for p in CNI_PLUGINS if not (CNI_BIN_DIR / p).exists()]
    busybox = Path("/bin/busybox")
    if not _is_static_busybox(busybox):
        missing.append("busybox-static")
    if missing:
        return (
            f"missing {', '.join(missing)}: run `python -m syncpipe.devenv.assets --node` "
            "(builds them from Debian's kubernetes source and installs Debian's packages)"
        )
    return NodeBinaries(
        kubelet=built["kubelet"],
        kube_proxy=built["kube-proxy"],
        kube_scheduler=built["kube-scheduler"],
        kubectl=built["kubectl"],
        pause=built["pause"],
        containerd=Path(str(system["containerd"])),
        ctr=Path(str(system["ctr"])),
        runc=Path(str(system["runc"])),
        busybox=busybox,
        umoci=Path(str(system["umoci"])),
    )


def _is_static_busybox(path: Path) -> bool:
    """Whether ``path`` is a busybox that needs no shared library (fits a scratch image)."""
    try:
        data = path.read_bytes()[:4096]
    except OSError:
        return False
    return data.startswith(b"\x7fELF") and b"ld-linux" not in data


# -- images ------------------------------------------------------------------------------------


def _add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def _add_link(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    tar.addfile(info)


def scratch_image(
    binaries: NodeBinaries,
    *,
    files: Mapping[str, Path],
    links: Mapping[str, str],
    entrypoint: Sequence[str] = (),
    cmd: Sequence[str] = (),
    tag: str,
    output: Path,
) -> Path:
    """An OCI archive of one layer with ``files`` (and ``links``), built with umoci; PATH /bin."""
    with tempfile.TemporaryDirectory(prefix="syncpipe-image-") as tmp:
        work = Path(tmp)
        layer = work / "layer.tar"
        with tarfile.open(layer, "w") as tar:
            for directory in sorted({str(Path(name).parent) for name in [*files, *links]}):
                if directory not in {".", "/"}:
                    info = tarfile.TarInfo(directory)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
            for name, source in files.items():
                _add_file(tar, name, source.read_bytes())
            for name, target in links.items():
                _add_link(tar, name, target)
        layout = f"{work / 'oci'}:{tag}"
        umoci = str(binaries.umoci)
        _run([umoci, "init", "--layout", str(work / "oci")])
        _run([umoci, "new", "--image", layout])
        _run([umoci, "raw", "add-layer", "--image", layout, str(layer)])
        config = [umoci, "config", "--image", layout, "--config.env", "PATH=/bin"]
        for arg in entrypoint:
            config += ["--config.entrypoint", arg]
        for arg in cmd:
            config += ["--config.cmd", arg]
        _run(config)
        output.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(output, "w") as archive:
            archive.add(work / "oci", arcname=".")
    return output


def node_images(binaries: NodeBinaries, directory: Path) -> dict[str, Path]:
    """The pause and busybox images (image name -> OCI archive), built once into ``directory``."""
    built: dict[str, Path] = {}
    pause = directory / "pause.oci.tar"
    if not pause.exists():
        scratch_image(
            binaries,
            files={"pause": binaries.pause},
            links={},
            entrypoint=["/pause"],
            tag=PAUSE_IMAGE.rsplit(":", 1)[1],
            output=pause,
        )
    built[PAUSE_IMAGE] = pause
    busybox = directory / "busybox.oci.tar"
    if not busybox.exists():
        scratch_image(
            binaries,
            files={"bin/busybox": binaries.busybox},
            links={f"bin/{applet}": "busybox" for applet in BUSYBOX_APPLETS},
            cmd=["sh"],  # as Docker's busybox image: a pod's command or args replace it
            tag=BUSYBOX_IMAGE.rsplit(":", 1)[1],
            output=busybox,
        )
    built[BUSYBOX_IMAGE] = busybox
    return built


def import_image(binaries: NodeBinaries, layout: NodeLayout, name: str, archive: Path) -> None:
    """Load ``archive`` into the node's containerd as ``name`` (never pulled)."""
    base = name.rsplit(":", 1)[0]
    _run(
        [
            str(binaries.ctr),
            "--address",
            str(layout.containerd_socket),
            "--namespace",
            CONTAINERD_NAMESPACE,
            "images",
            "import",
            "--base-name",
            base,
            str(archive),
        ]
    )


def _run(argv: Sequence[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise NodeError(f"{' '.join(argv[:4])} ... failed: {result.stderr.strip()[-2000:]}")


# -- the bridge ----------------------------------------------------------------------------------


def ensure_bridge() -> None:
    """Create ``syncpipe0`` with the node address, up; refuse if it exists (one node a machine)."""
    if subprocess.run(["ip", "link", "show", BRIDGE], capture_output=True).returncode == 0:
        raise NodeError(
            f"bridge {BRIDGE} exists: another node runs on this machine (`syncpipe dev down` "
            f"stops one started there; after a crash: `ip link del {BRIDGE}`)"
        )
    _run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    _run(["ip", "addr", "add", f"{NODE_ADDRESS}/{POD_SUBNET.split('/')[1]}", "dev", BRIDGE])
    _run(["ip", "link", "set", BRIDGE, "up"])


def remove_bridge() -> None:
    with contextlib.suppress(NodeError):
        _run(["ip", "link", "del", BRIDGE])


# -- the running node ----------------------------------------------------------------------------


class Node:
    """containerd, kube-scheduler, kubelet and kube-proxy for one downstream control plane."""

    def __init__(
        self,
        *,
        binaries: NodeBinaries,
        workdir: Path,
        server: str,
        ca_pem: bytes,
        token: str,
    ) -> None:
        self.binaries = binaries
        self.workdir = workdir
        digest = hashlib.sha256(str(workdir).encode()).hexdigest()[:10]
        ports = processes.free_ports(5)
        self.layout = NodeLayout(
            workdir=workdir,
            run_dir=Path("/run") / f"syncpipe-node-{digest}",
            kubelet_port=ports[0],
            kubelet_healthz_port=ports[1],
            proxy_healthz_port=ports[2],
            proxy_metrics_port=ports[3],
            scheduler_port=ports[4],
        )
        self.server = server
        self.ca_pem = ca_pem
        self.token = token
        self.processes: list[processes.ManagedProcess] = []

    @classmethod
    def for_control_plane(
        cls, plane: controlplane.ControlPlane, *, binaries: NodeBinaries, workdir: Path
    ) -> Node:
        """A node of ``plane`` (started, on the bridge address), joining as its admin."""
        return cls(
            binaries=binaries,
            workdir=workdir,
            server=plane.server,
            ca_pem=plane.ca_pem,
            token=plane.admin_token,
        )

    def start(
        self, *, images: Mapping[str, Path] | None = None, progress: Progress | None = None
    ) -> Node:
        """Write the configs, start containerd, load the images, then the Kubernetes parts."""
        layout = self.layout
        for directory in (layout.workdir, layout.run_dir, layout.cni_conf_dir):
            directory.mkdir(parents=True, exist_ok=True)
        layout.containerd_config.write_text(containerd_config(layout))
        (layout.cni_conf_dir / "10-syncpipe.conflist").write_text(
            json.dumps(cni_config(layout), indent=2)
        )
        kubeapi.write_kubeconfig(
            layout.kubeconfig,
            kubeapi.kubeconfig(
                name="node", server=self.server, ca_pem=self.ca_pem, token=self.token
            ),
        )
        try:
            containerd = self._launch(
                "containerd",
                [str(self.binaries.containerd), "--config", str(layout.containerd_config)],
            )
            self._wait(lambda: layout.containerd_socket.exists(), containerd, "its socket")
            all_images = {**node_images(self.binaries, self.workdir / "images"), **(images or {})}
            for name, archive in all_images.items():
                if progress is not None:
                    progress(f"loading {name} into the node's containerd")
                import_image(self.binaries, layout, name, archive)
            self._launch(
                "kube-scheduler", kube_scheduler_argv(self.binaries.kube_scheduler, layout)
            )
            kubelet = self._launch("kubelet", kubelet_argv(self.binaries.kubelet, layout))
            self._launch("kube-proxy", kube_proxy_argv(self.binaries.kube_proxy, layout))
            api = kubeapi.KubeApi(server=self.server, ca_pem=self.ca_pem, token=self.token)
            try:
                self._wait(lambda: _node_ready(api), kubelet, f"node {NODE_NAME} to be Ready")
            finally:
                api.close()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop everything in reverse order, remove the pods' containers and kube-proxy's rules."""
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        cleanup_node(self.binaries, self.layout.workdir, self.layout.run_dir)

    def detach(self) -> NodeRecord:
        """Leave the node running after this interpreter exits (``syncpipe dev up``)."""
        record = NodeRecord(
            workdir=self.layout.workdir,
            run_dir=self.layout.run_dir,
            processes=[p.detach() for p in self.processes],
        )
        self.processes.clear()
        return record

    def _launch(self, name: str, argv: list[str]) -> processes.ManagedProcess:
        process = processes.ManagedProcess(
            name=name, argv=argv, log_path=self.workdir / "logs" / f"{name}.log"
        )
        process.start()
        self.processes.append(process)
        return process

    def _wait(
        self, probe: Callable[[], bool], process: processes.ManagedProcess, what: str
    ) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while True:
            if not process.alive():
                raise NodeError(
                    f"{process.name} exited ({process.returncode()}) while waiting for {what}\n"
                    f"--- last lines of {process.log_path} ---\n{process.log_tail(30)}"
                )
            with contextlib.suppress(OSError, ValueError, kubeapi.ApiCallFailed):
                if probe():
                    return
            if time.monotonic() > deadline:
                raise NodeError(
                    f"timed out after {READY_TIMEOUT_SECONDS:.0f}s waiting for {what}\n"
                    f"--- last lines of {process.log_path} ---\n{process.log_tail(30)}"
                )
            time.sleep(0.5)


def _record_tuple(
    items: Iterable[processes.ProcessRecord],
) -> tuple[processes.ProcessRecord, ...]:
    return tuple(items)


@attrs.frozen(kw_only=True)
class NodeRecord:
    """A detached node: where its files are and which pids it runs (``stop_detached``)."""

    workdir: Path = attrs.field(converter=Path)
    run_dir: Path = attrs.field(converter=Path)
    processes: tuple[processes.ProcessRecord, ...] = attrs.field(converter=_record_tuple)

    def to_json(self) -> dict[str, object]:
        return {
            "workdir": str(self.workdir),
            "run_dir": str(self.run_dir),
            "processes": [attrs.asdict(p) for p in self.processes],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NodeRecord:
        return cls(
            workdir=data["workdir"],
            run_dir=data["run_dir"],
            processes=[processes.ProcessRecord(**p) for p in data["processes"]],
        )


def stop_detached(record: NodeRecord) -> None:
    """Stop a node left running by ``Node.detach`` and clean up after it, bridge included."""
    for process in reversed(record.processes):
        processes.stop_pid(process)
    binaries = find_node_binaries()
    if isinstance(binaries, NodeBinaries):
        cleanup_node(binaries, record.workdir, record.run_dir)
    remove_bridge()


def _node_ready(api: kubeapi.KubeApi) -> bool:
    answer = api.request("GET", f"/api/v1/nodes/{NODE_NAME}")
    if answer.status != 200:
        return False
    conditions: Iterable[dict[str, str]] = answer.body.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def cleanup_node(binaries: NodeBinaries, workdir: Path, run_dir: Path) -> None:
    """After the processes stopped: the pods' containers and mounts, kube-proxy's iptables rules."""
    layout = NodeLayout(
        workdir=workdir,
        run_dir=run_dir,
        kubelet_port=0,
        kubelet_healthz_port=0,
        proxy_healthz_port=0,
        proxy_metrics_port=0,
        scheduler_port=0,
    )
    subprocess.run(
        [str(binaries.kube_proxy), "--cleanup"], capture_output=True, check=False, timeout=60
    )
    # The pods' containers outlive the kubelet and containerd (each has a shim): kill them
    # through runc, then the shims this node's containerd started (their command line names
    # its socket).
    containers = layout.runc_root / CONTAINERD_NAMESPACE
    if containers.is_dir():
        for container in containers.iterdir():
            runc = [str(binaries.runc), "--root", str(containers)]
            subprocess.run([*runc, "delete", "--force", container.name], capture_output=True)
    for record in _shims(layout):
        processes.stop_pid(record)
    for tool in ("iptables", "ip6tables"):
        _remove_kube_rules(tool)
    _remove_pod_logs(layout.containerd_config)
    _unmount_under(layout.workdir)
    _unmount_under(layout.run_dir)
    shutil.rmtree(layout.run_dir, ignore_errors=True)
    remove_bridge()


def _shims(layout: NodeLayout) -> list[processes.ProcessRecord]:
    socket = str(layout.containerd_socket).encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if argv and argv[0].endswith(b"containerd-shim-runc-v2") and socket in argv:
                executable = argv[0].decode()
                found.append(
                    processes.ProcessRecord(name="shim", pid=int(proc.name), executable=executable)
                )
    return found


def _remove_kube_rules(tool: str) -> None:
    """Drop every ``KUBE-`` chain and rule the kubelet and kube-proxy left; keep all others."""
    saved = subprocess.run([f"{tool}-save"], capture_output=True, text=True, check=False)
    if saved.returncode != 0 or "KUBE-" not in saved.stdout:
        return
    kept = [line for line in saved.stdout.splitlines() if "KUBE-" not in line]
    subprocess.run(
        [f"{tool}-restore"], input="\n".join(kept) + "\n", text=True, capture_output=True
    )


def _remove_pod_logs(since_file: Path) -> None:
    """The kubelet 1.20 writes pod logs under /var/log/pods whatever its root: remove those
    made since the node started (``since_file``; one node per machine, the bridge is fixed)."""
    try:
        since = since_file.stat().st_mtime
    except OSError:
        return
    for pod_logs in POD_LOG_DIR.glob("*_*_*"):
        with contextlib.suppress(OSError):
            if pod_logs.stat().st_mtime >= since:
                shutil.rmtree(pod_logs, ignore_errors=True)
    for link in CONTAINER_LOG_LINKS.glob("*.log"):
        if link.is_symlink() and not link.exists():
            link.unlink(missing_ok=True)


def _unmount_under(root: Path) -> None:
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    prefix = str(root)
    for mount_point in sorted((m for m in mounts if m.startswith(prefix)), reverse=True):
        subprocess.run(["umount", "-l", mount_point], capture_output=True, check=False)


def main() -> None:
    """``python -m syncpipe.devenv.node``: exit 0 if this machine can run a node, else say why."""
    import sys

    missing = missing_prerequisites()
    for problem in missing:
        sys.stderr.write(f"no node here: {problem}\n")
    raise SystemExit(1 if missing else 0)


if __name__ == "__main__":
    main()
