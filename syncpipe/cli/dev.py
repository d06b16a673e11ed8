"""``syncpipe dev``: a local upstream/downstream pair that outlives the command.

``up`` starts the same two control planes the integration tests use, detaches them, and records
their pids, servers and kubeconfigs in ``state.json`` inside the state directory
(``--state-dir``, ``$SYNCPIPE_DEV_DIR``, default ``./.syncpipe/dev``). ``status`` and ``down``
read that record; ``down`` stops exactly the recorded pids (after checking each still runs the
recorded binary) and removes what ``up`` created. A lock file serialises concurrent commands on
one state directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from syncpipe.devenv import assets, controlplane, kubeapi, node, nodeconfig, pair, processes

STATE_FILE = "state.json"
STATE_VERSION = 1
F = TypeVar("F", bound=Callable[..., Any])


def _state_dir_option(func: F) -> F:
    option = click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="SYNCPIPE_DEV_DIR",
        default=Path(".syncpipe/dev"),
        show_default=True,
        show_envvar=True,
        help="Where pids, kubeconfigs and logs of the dev control planes are kept.",
    )
    return option(func)


@click.group("dev")
def command() -> None:
    """Run a local upstream + downstream Kubernetes pair for trying syncpipe out."""


@command.command("up")
@_state_dir_option
@click.option(
    "--with-node",
    is_flag=True,
    help="Give the downstream a real node (containerd, kubelet, kube-proxy, scheduler; root, "
    "cgroup v1): pods run, and reach both API servers on the bridge 10.200.0.1.",
)
@click.option(
    "--image-archive",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="With --with-node: an OCI archive to load into the node (default: the one "
    "scripts/build-image writes, if it exists).",
)
def up(state_dir: Path, with_node: bool, image_archive: Path | None) -> None:
    """Start the pair in the background (or tell where it already runs)."""
    state_dir = state_dir.absolute()
    progress = lambda line: click.echo(line, err=True)  # noqa: E731
    with _locked(state_dir):
        records, node_record = _load(state_dir)
        if records is not None:
            if all(_running(r) for r in records):
                if with_node and node_record is None:
                    raise click.ClickException(
                        f"a pair without a node runs (state in {state_dir}): `syncpipe dev down` "
                        "first, then `syncpipe dev up --with-node`"
                    )
                click.echo(f"already running (state in {state_dir})")
                _print_where(records)
                return
            click.echo("found a partly stopped pair; stopping its remains first", err=True)
            _remove(state_dir, records, node_record)
        binaries = _node_binaries(progress) if with_node else None
        found = assets.ensure_assets(progress=progress)
        started = time.monotonic()
        if binaries is not None:
            try:
                node.ensure_bridge()  # before the API servers: they listen on its address
            except node.NodeError as exc:
                raise click.ClickException(str(exc)) from exc
        try:
            # stop_at_exit until detached: a failure or Ctrl-C leaves nothing behind.
            planes = pair.start_pair(
                assets=found, workdir=state_dir, stop_at_exit=True, for_node=with_node
            )
            if binaries is not None:
                node_record = _start_node(binaries, planes, state_dir, image_archive, progress)
        except (controlplane.ControlPlaneError, node.NodeError) as exc:
            if binaries is not None:
                node.remove_bridge()
            raise click.ClickException(str(exc)) from exc
        records = [planes.upstream.detach(), planes.downstream.detach()]
        _save(state_dir, records, node_record)
    click.echo(f"started in {time.monotonic() - started:.1f}s (state in {state_dir})")
    _print_where(records)
    if node_record is not None:
        click.echo(f"node {nodeconfig.NODE_NAME}: Ready; logs {node_record.workdir / 'logs'}")


def _node_binaries(progress: Callable[[str], None]) -> node.NodeBinaries:
    missing = node.missing_prerequisites()
    if missing:
        raise click.ClickException("cannot run a node here: " + "; ".join(missing))
    assets.ensure_node_binaries(progress=progress)
    binaries = node.find_node_binaries()
    if isinstance(binaries, str):
        raise click.ClickException(binaries)
    return binaries


def _start_node(
    binaries: node.NodeBinaries,
    planes: pair.ControlPlanePair,
    state_dir: Path,
    image_archive: Path | None,
    progress: Callable[[str], None],
) -> node.NodeRecord:
    archive = image_archive or assets.cache_dir().parent / "image" / "syncpipe-dev.oci.tar"
    images = {node.SYNCPIPE_IMAGE: archive} if archive.exists() else {}
    if not images:
        progress(f"no {archive}: the node starts without the syncpipe image (scripts/build-image)")
    started = node.Node.for_control_plane(
        planes.downstream, binaries=binaries, workdir=state_dir / "node"
    )
    try:
        started.start(images=images, progress=progress)
    except BaseException:
        planes.stop()
        raise
    return started.detach()


@command.command("down")
@_state_dir_option
def down(state_dir: Path) -> None:
    """Stop the pair started by `up` and remove its state."""
    state_dir = state_dir.absolute()
    with _locked(state_dir):
        records, node_record = _load(state_dir)
        if records is None:
            click.echo(f"nothing running (no {STATE_FILE} in {state_dir})")
            return
        _remove(state_dir, records, node_record)
    with contextlib.suppress(OSError):
        (state_dir / ".lock").unlink()
        state_dir.rmdir()  # only if nothing else lives there
    click.echo("stopped")


@command.command("status")
@_state_dir_option
def status(state_dir: Path) -> None:
    """Show servers, kubeconfigs and processes (exit 1 unless all are up)."""
    state_dir = state_dir.absolute()
    records, node_record = _load(state_dir)
    if records is None:
        click.echo(f"not running (no {STATE_FILE} in {state_dir})")
        sys.exit(1)
    healthy = True
    for record in records:
        ready = _ready(record)
        healthy = healthy and ready and _running(record)
        click.echo(f"{record.name}: {record.server} ({'ready' if ready else 'NOT READY'})")
        click.echo(f"  kubeconfig: {record.admin_kubeconfig}")
        for process in record.processes:
            state = "running" if processes.pid_runs(process) else "GONE"
            click.echo(f"  {process.name} pid {process.pid}: {state}")
        click.echo(f"  logs: {record.workdir / 'logs'}")
    if node_record is not None:
        click.echo(f"node {nodeconfig.NODE_NAME}:")
        for process in node_record.processes:
            running = processes.pid_runs(process)
            healthy = healthy and running
            click.echo(f"  {process.name} pid {process.pid}: {'running' if running else 'GONE'}")
        click.echo(f"  logs: {node_record.workdir / 'logs'}")
    if not healthy:
        sys.exit(1)


def _print_where(records: list[controlplane.ControlPlaneRecord]) -> None:
    for record in records:
        click.echo(f"{record.name}: {record.server}  kubeconfig {record.admin_kubeconfig}")
    click.echo("Use one with kubectl or syncpipe:")
    for record in records:
        click.echo(f"  export KUBECONFIG={record.admin_kubeconfig}  # {record.name}")


def _running(record: controlplane.ControlPlaneRecord) -> bool:
    return bool(record.processes) and all(processes.pid_runs(p) for p in record.processes)


def _ready(record: controlplane.ControlPlaneRecord) -> bool:
    try:
        api = kubeapi.KubeApi.from_kubeconfig(record.admin_kubeconfig)
        try:
            return api.request("GET", "/readyz").status == 200
        finally:
            api.close()
    except Exception:  # noqa: BLE001 -- any failure to ask means "not ready" for a status line
        return False


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _load(
    state_dir: Path,
) -> tuple[list[controlplane.ControlPlaneRecord] | None, node.NodeRecord | None]:
    path = state_dir / STATE_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None, None
    except ValueError as exc:
        raise click.ClickException(f"{path} is unreadable ({exc}); remove it by hand") from exc
    if data.get("version") != STATE_VERSION:
        raise click.ClickException(f"{path} has an unknown format version {data.get('version')}")
    planes = [controlplane.ControlPlaneRecord.from_json(r) for r in data["control_planes"]]
    node_data = data.get("node")
    return planes, None if node_data is None else node.NodeRecord.from_json(node_data)


def _save(
    state_dir: Path,
    records: list[controlplane.ControlPlaneRecord],
    node_record: node.NodeRecord | None,
) -> None:
    path = state_dir / STATE_FILE
    partial = path.with_suffix(".partial")
    data: dict[str, Any] = {
        "version": STATE_VERSION,
        "control_planes": [r.to_json() for r in records],
    }
    if node_record is not None:
        data["node"] = node_record.to_json()
    partial.write_text(json.dumps(data, indent=2) + "\n")
    partial.replace(path)  # atomic: status never reads half a file


def _remove(
    state_dir: Path,
    records: list[controlplane.ControlPlaneRecord],
    node_record: node.NodeRecord | None,
) -> None:
    """Stop the recorded processes and delete what ``up`` created (not the directory itself)."""
    if node_record is not None:
        node.stop_detached(node_record)
        if node_record.workdir.parent == state_dir:
            shutil.rmtree(node_record.workdir, ignore_errors=True)
    for record in records:
        controlplane.stop_detached(record)
        if record.workdir.parent == state_dir:
            shutil.rmtree(record.workdir, ignore_errors=True)
    (state_dir / STATE_FILE).unlink(missing_ok=True)
