"""Find (or build, once) the etcd, kube-apiserver and kube-controller-manager binaries.

Each binary is looked up on its own, first hit wins:

1. ``TEST_ASSET_ETCD`` / ``TEST_ASSET_KUBE_APISERVER`` / ``TEST_ASSET_KUBE_CONTROLLER_MANAGER``
   (one file each) and then ``KUBEBUILDER_ASSETS`` (a directory holding all three) — the
   variables controller-runtime's envtest reads, so an existing envtest setup just works;
2. ``PATH``;
3. the cache ``${SYNCPIPE_CACHE_DIR:-~/.cache/syncpipe}/assets-v1.20.2/bin``.

A variable that is set but points at nothing is an error, not a reason to look further: someone
asked for that binary, and silently testing against another one would be worse than stopping.

If a binary is still missing, ``ensure_assets`` runs the shipped ``provision.sh`` into the cache
(it builds Kubernetes from Debian's source package: minutes, once per machine). A file lock
makes concurrent callers — two pytest sessions, or pytest and ``syncpipe dev up`` — wait for
one build instead of running two.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs

from syncpipe.errors import SyncpipeError

KUBERNETES_VERSION = "v1.20.2"
PROVISION_SCRIPT = Path(__file__).with_name("provision.sh")

# binary name -> the envtest variable naming that one file
ENV_VARS: Mapping[str, str] = {
    "etcd": "TEST_ASSET_ETCD",
    "kube-apiserver": "TEST_ASSET_KUBE_APISERVER",
    "kube-controller-manager": "TEST_ASSET_KUBE_CONTROLLER_MANAGER",
}

# Built by ``provision.sh --node`` into the same cache (a node for the downstream) ...
NODE_BINARIES = ("kube-scheduler", "kubelet", "kube-proxy", "kubectl", "pause")
# ... which also installs these from Debian's packages (found on PATH).
NODE_SYSTEM_TOOLS = ("containerd", "ctr", "runc", "umoci", "iptables", "ip")

Progress = Callable[[str], None]


class AssetsError(SyncpipeError):
    """The binaries cannot be found or built."""


@attrs.frozen(kw_only=True)
class Assets:
    """Absolute paths of the three control-plane binaries."""

    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The versioned cache directory (``provision.sh`` puts binaries in its ``bin``)."""
    env = os.environ if environ is None else environ
    root = env.get("SYNCPIPE_CACHE_DIR") or str(Path("~/.cache/syncpipe").expanduser())
    return Path(root) / f"assets-{KUBERNETES_VERSION}"


def find_binary(name: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """Where binary ``name`` is, following the lookup order above; ``None`` if nowhere."""
    env = os.environ if environ is None else environ
    explicit = env.get(ENV_VARS[name])
    if explicit:
        return _require_executable(Path(explicit), f"${ENV_VARS[name]}")
    assets_dir = env.get("KUBEBUILDER_ASSETS")
    if assets_dir:
        return _require_executable(Path(assets_dir) / name, "$KUBEBUILDER_ASSETS")
    on_path = shutil.which(name, path=env.get("PATH", os.defpath))
    if on_path:
        return Path(on_path).absolute()
    cached = cache_dir(env) / "bin" / name
    return cached if _is_executable(cached) else None


def find_assets(environ: Mapping[str, str] | None = None) -> Assets | None:
    """All three binaries, or ``None`` if any is missing (``ensure_assets`` builds them)."""
    found = {name: find_binary(name, environ) for name in ENV_VARS}
    etcd, apiserver, manager = (
        found["etcd"],
        found["kube-apiserver"],
        found["kube-controller-manager"],
    )
    if etcd is None or apiserver is None or manager is None:
        return None
    return Assets(etcd=etcd, kube_apiserver=apiserver, kube_controller_manager=manager)


def ensure_assets(
    *,
    progress: Progress | None = None,
    environ: Mapping[str, str] | None = None,
    provision: bool = True,
) -> Assets:
    """Find the binaries, building the missing ones into the cache if ``provision`` allows.

    ``progress`` receives one-line human messages (the CLI echoes them; a build takes minutes
    and silence would look like a hang).
    """
    assets = find_assets(environ)
    if assets is not None:
        return assets
    missing = sorted(name for name in ENV_VARS if find_binary(name, environ) is None)
    cache = cache_dir(environ)
    if not provision:
        raise AssetsError(
            f"missing {', '.join(missing)}: set KUBEBUILDER_ASSETS or TEST_ASSET_*, put them on "
            f"PATH, or run {PROVISION_SCRIPT} {cache}"
        )
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".provision.lock").open("w") as lock:
        if progress is not None:
            progress(f"waiting for the provisioning lock in {cache} ...")
        fcntl.flock(lock, fcntl.LOCK_EX)
        # Whoever held the lock before us may have built everything meanwhile.
        assets = find_assets(environ)
        if assets is not None:
            return assets
        _run_provision(cache, missing, progress)
    assets = find_assets(environ)
    if assets is None:
        raise AssetsError(
            f"{PROVISION_SCRIPT} finished but binaries are still missing in {cache / 'bin'}"
        )
    return assets


def ensure_node_binaries(
    *, progress: Progress | None = None, environ: Mapping[str, str] | None = None
) -> None:
    """Build the node's binaries into the cache and install its Debian packages, if missing."""
    cache = cache_dir(environ)

    def complete() -> bool:
        return all(_is_executable(cache / "bin" / name) for name in NODE_BINARIES) and all(
            shutil.which(tool) for tool in NODE_SYSTEM_TOOLS
        )

    if complete():
        return
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".provision.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if complete():
            return
        wanted = [*ENV_VARS, *NODE_BINARIES]
        missing = [name for name in wanted if not _is_executable(cache / "bin" / name)]
        _run_provision(cache, missing or ["Debian's node packages"], progress, extra=("--node",))


def _run_provision(
    cache: Path, missing: list[str], progress: Progress | None, extra: Sequence[str] = ()
) -> None:
    log_path = cache / "provision.log"
    if progress is not None:
        progress(
            f"building {', '.join(missing)} (Kubernetes {KUBERNETES_VERSION}) into {cache}; "
            f"this takes several minutes once per machine (log: {log_path})"
        )
    with log_path.open("wb") as log:
        result = subprocess.run(
            ["bash", str(PROVISION_SCRIPT), str(cache), *extra],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        lines = log_path.read_text(errors="replace").splitlines()[-30:]
        raise AssetsError(
            f"provisioning the control-plane binaries failed (exit {result.returncode}); "
            f"log {log_path}:\n" + "\n".join(lines)
        )
    if progress is not None:
        progress(f"control-plane binaries ready in {cache / 'bin'}")


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _require_executable(path: Path, source: str) -> Path:
    if not _is_executable(path):
        raise AssetsError(f"{source} names {path}, which is not an executable file")
    return path.absolute()


def main() -> None:
    """``python -m syncpipe.devenv.assets [--node]``: find or build the binaries, say where.

    With ``--node`` also the node's (``syncpipe dev up --with-node``, the node tests).
    """
    import sys

    def progress(line: str) -> None:
        sys.stderr.write(line + "\n")

    try:
        if "--node" in sys.argv[1:]:
            # First: on a clean machine one build then makes the control plane's binaries too.
            ensure_node_binaries(progress=progress)
        assets = ensure_assets(progress=progress)
    except AssetsError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(1) from exc
    for path in (assets.etcd, assets.kube_apiserver, assets.kube_controller_manager):
        sys.stdout.write(f"{path}\n")


if __name__ == "__main__":
    main()
