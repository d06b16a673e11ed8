"""The syncer image built by ``scripts/build-image``: its configuration and how it runs.

The image is built once per change of the sources (later runs reuse it) and run with runc as a
kubelet's runtime would run it: its own entry point, user and environment, and a read-only root
filesystem with only a small ``/tmp`` tmpfs, as syncer-gen's manifest sets the pod up.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import syncpipe
from syncpipe.bootstrap import manifest
from syncpipe.devenv import node
from syncpipe.testing import wait_for
from tests.e2e import helpers as h
from tests.e2e import oci

pytestmark = [pytest.mark.slow, pytest.mark.timeout(oci.BUILD_TIMEOUT_SECONDS + 120)]

KUBECONFIG_UP = f"{manifest.KUBECONFIG_DIR}/upstream"
KUBECONFIG_DOWN = f"{manifest.KUBECONFIG_DIR}/downstream"


@pytest.fixture(scope="module")
def archive() -> Path:
    return oci.image_archive()


@pytest.fixture(scope="module")
def bundle(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> oci.RuncBundle:
    return oci.RuncBundle(archive, tmp_path_factory.mktemp("image"))


def test_image_config_gives_the_containerfiles_entrypoint_user_and_environment(archive):
    """Both ways of building the image run the same thing as the same user."""
    config = oci.image_config(archive)
    containerfile = oci.containerfile_instructions()
    assert config["Entrypoint"] == json.loads(containerfile["ENTRYPOINT"]) == ["syncpipe"]
    assert config["Cmd"] == json.loads(containerfile["CMD"])
    assert config["User"] == containerfile["USER"]
    assert config["User"] == f"{manifest.NON_ROOT_UID}:{manifest.NON_ROOT_UID}"
    for setting in containerfile["ENV"].split():
        assert setting in config["Env"]
    assert f"{manifest.HEALTH_PORT}/tcp" in config["ExposedPorts"]
    assert config["Name"] == node.SYNCPIPE_IMAGE  # what `dev up --with-node` loads


def test_image_runs_syncpipe_as_its_non_root_user_on_a_read_only_root(bundle):
    """The entry point answers, as UID 65532, and nothing can write to the root filesystem."""
    entrypoint = bundle.entrypoint_and_cmd[0]
    version = bundle.run([entrypoint, "--version"])
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"syncpipe, version {syncpipe.__version__}"

    who = bundle.run(["sh", "-c", "id -u; id -g; touch /probe"])
    assert who.stdout.split() == [str(manifest.NON_ROOT_UID)] * 2
    assert "Read-only file system" in who.stderr


@pytest.fixture
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _secret_file(kubeconfig: Path, directory: Path) -> Path:
    """A copy readable by the image's user, as a Secret volume's file (mode 0644) is."""
    copy = directory / f"{kubeconfig.parent.name}-{kubeconfig.name}"
    copy.write_bytes(kubeconfig.read_bytes())
    copy.chmod(0o644)
    return copy


@pytest.fixture
def image_syncer(
    bundle, upstream, downstream, unique_name, free_port, tmp_path, syncer_crds, e2e_cleanup
) -> Iterator[tuple[subprocess.Popen[bytes], Path, int]]:
    """``syncpipe run`` in the image: kubeconfigs mounted read-only, /tmp a tmpfs, host network."""
    log_path = tmp_path / "syncer.log"
    args = [
        bundle.entrypoint_and_cmd[0],
        "run",
        "--upstream-kubeconfig",
        KUBECONFIG_UP,
        "--downstream-kubeconfig",
        KUBECONFIG_DOWN,
        "--syncer-name",
        unique_name,
        "--health-address",
        f"127.0.0.1:{free_port}",
    ]
    command = bundle.command(
        args,
        mounts=[
            oci.bind_mount(_secret_file(upstream.admin_kubeconfig, tmp_path), KUBECONFIG_UP),
            oci.bind_mount(_secret_file(downstream.admin_kubeconfig, tmp_path), KUBECONFIG_DOWN),
            oci.tmpfs_mount("/tmp"),
        ],
        host_network=True,
    )
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    yield proc, log_path, free_port
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            pytest.fail(f"the syncer in the image ignored SIGTERM:\n{log_path.read_text()}")


@pytest.mark.apiserver
def test_syncer_in_the_image_gets_ready_and_downsyncs_on_a_read_only_root(
    image_syncer, up_rest, down_rest, unique_name
):
    """The image runs the real syncer as syncer-gen's Deployment does: ready, syncing, stoppable."""
    proc, log_path, port = image_syncer

    def ready() -> bool:
        assert proc.poll() is None, f"the syncer exited:\n{log_path.read_text()}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
            return bool(answer.status == 200)

    wait_for(ready, timeout=h.SYNC_TIMEOUT, interval=0.3, ignore=(OSError,), message="not ready")
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.syncer_config(
            unique_name,
            {
                "namespacedObjects": [
                    {
                        **h.resource("", "configmaps"),
                        "objectsByNamespace": [{"namespace": unique_name, "names": ["*"]}],
                    }
                ]
            },
        ),
    )
    up_rest.create(h.NS, "", h.namespace(unique_name, unique_name))
    up_rest.create(h.CM, unique_name, h.configmap(unique_name, "c1", {"k": "v"}, unique_name))
    copied = h.wait_get(down_rest, h.CM, unique_name, "c1")
    assert copied["data"] == {"k": "v"}

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0, log_path.read_text()
    assert "Read-only file system" not in log_path.read_text()
