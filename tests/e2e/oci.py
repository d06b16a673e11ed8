"""The syncer image for the end-to-end tests: built by ``scripts/build-image``, read, and run.

``image_archive()`` builds (or reuses) the OCI archive and skips the calling test with the exact
missing prerequisite where this machine cannot build it; ``image_config`` reads the image's
configuration from the archive; ``RuncBundle`` runs the image with runc the way a kubelet's
runtime does (the image's entry point, user and environment), with a read-only root filesystem.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "scripts" / "build-image"
CONTAINERFILE = REPO / "Containerfile"
IMAGE_TOOLS = ("mmdebstrap", "umoci", "runc")
BUILD_TIMEOUT_SECONDS = 900


def missing_prerequisite() -> str | None:
    """Why this machine cannot build and run the image, or ``None`` if it can."""
    if os.geteuid() != 0:
        return "building the image needs root (mmdebstrap's root mode chroots; runc runs it)"
    absent = [tool for tool in IMAGE_TOOLS if shutil.which(tool) is None]
    if absent and shutil.which("apt-get") is None:
        return f"{', '.join(absent)} not installed and no apt-get to install them from Debian"
    return None


def image_archive() -> Path:
    """The OCI archive of ``syncpipe:dev``, built once per change of the sources; else skip."""
    reason = missing_prerequisite()
    if reason is not None:
        pytest.skip(reason)
    result = subprocess.run(
        [str(BUILD_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"scripts/build-image failed:\n{result.stderr[-4000:]}"
    return Path(result.stdout.strip().splitlines()[-1])


def _blob(archive: tarfile.TarFile, digest: str) -> Any:
    algorithm, _, value = digest.partition(":")
    member = archive.extractfile(f"./blobs/{algorithm}/{value}")
    assert member is not None, f"{digest} missing from the archive"
    return json.load(member)


def image_config(path: Path) -> dict[str, Any]:
    """The image's configuration (``config`` of its OCI image config) and its name annotation."""
    with tarfile.open(path) as archive:
        index_file = archive.extractfile("./index.json")
        assert index_file is not None
        index = json.load(index_file)
        (descriptor,) = index["manifests"]
        manifest = _blob(archive, descriptor["digest"])
        config: dict[str, Any] = _blob(archive, manifest["config"]["digest"])["config"]
    return {**config, "Name": descriptor["annotations"]["io.containerd.image.name"]}


class RuncBundle:
    """The image unpacked as an OCI runtime bundle (``umoci unpack``), run with ``runc run``."""

    def __init__(self, archive: Path, workdir: Path) -> None:
        layout = workdir / "layout"
        layout.mkdir()
        with tarfile.open(archive) as tar:
            tar.extractall(layout, filter="tar")
        (descriptor,) = json.loads((layout / "index.json").read_text())["manifests"]
        ref = descriptor["annotations"]["org.opencontainers.image.ref.name"]
        self.path = workdir / "bundle"
        subprocess.run(
            ["umoci", "unpack", "--image", f"{layout}:{ref}", str(self.path)],
            check=True,
            capture_output=True,
        )
        shutil.rmtree(layout)
        self.base = json.loads((self.path / "config.json").read_text())

    @property
    def entrypoint_and_cmd(self) -> list[str]:
        args: list[str] = self.base["process"]["args"]
        return args

    def command(
        self,
        args: Sequence[str],
        *,
        mounts: Sequence[dict[str, Any]] = (),
        host_network: bool = False,
    ) -> list[str]:
        """``runc run`` of ``args`` in the image as its user, the root filesystem read-only."""
        config = json.loads(json.dumps(self.base))
        config["root"]["readonly"] = True
        config["process"]["terminal"] = False
        config["process"]["args"] = list(args)
        config["mounts"] = [*config["mounts"], *mounts]
        if host_network:
            namespaces = config["linux"]["namespaces"]
            config["linux"]["namespaces"] = [ns for ns in namespaces if ns["type"] != "network"]
        (self.path / "config.json").write_text(json.dumps(config))
        container_id = f"syncpipe-test-{uuid.uuid4().hex[:12]}"
        return ["runc", "run", "--bundle", str(self.path), container_id]

    def run(self, args: Sequence[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(args), capture_output=True, text=True, timeout=timeout, check=False
        )


def bind_mount(source: Path, destination: str, *, read_only: bool = True) -> dict[str, Any]:
    options = ["rbind", "ro" if read_only else "rw"]
    return {"destination": destination, "type": "bind", "source": str(source), "options": options}


def tmpfs_mount(destination: str) -> dict[str, Any]:
    """A small writable tmpfs, as the pod's emptyDir for ``/tmp``."""
    options = ["nosuid", "nodev", "mode=1777", "size=16m"]
    return {"destination": destination, "type": "tmpfs", "source": "tmpfs", "options": options}


def containerfile_instructions() -> dict[str, str]:
    """The last value of each instruction of the Containerfile's final stage (``ENV`` joined)."""
    lines: list[str] = []
    pending = ""
    for raw in CONTAINERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    final_stage = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    found: dict[str, str] = {}
    for line in final_stage:
        keyword, _, value = line.partition(" ")
        found[keyword] = (
            (found.get(keyword, "") + " " + value).strip() if keyword == "ENV" else value
        )
    return found
