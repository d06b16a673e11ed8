"""Where the control-plane binaries are looked up, and how a missing one gets built once."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from syncpipe.devenv import assets

BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")


def make_executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def fill(directory: Path) -> Path:
    for name in BINARIES:
        make_executable(directory / name)
    return directory


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    """An environment with an empty PATH and an empty cache, nothing set."""
    (tmp_path / "empty-path").mkdir()
    return {"PATH": str(tmp_path / "empty-path"), "SYNCPIPE_CACHE_DIR": str(tmp_path / "cache")}


def bin_cache(environ: dict[str, str]) -> Path:
    return assets.cache_dir(environ) / "bin"


def test_single_file_variables_win_over_the_assets_dir_path_and_cache(tmp_path, environ):
    fill(tmp_path / "kubebuilder")
    fill(tmp_path / "on-path")
    fill(bin_cache(environ))
    special = make_executable(tmp_path / "special" / "my-apiserver")
    environ |= {
        "TEST_ASSET_KUBE_APISERVER": str(special),
        "KUBEBUILDER_ASSETS": str(tmp_path / "kubebuilder"),
        "PATH": str(tmp_path / "on-path"),
    }

    found = assets.find_assets(environ)

    assert found == assets.Assets(
        etcd=tmp_path / "kubebuilder" / "etcd",
        kube_apiserver=special,
        kube_controller_manager=tmp_path / "kubebuilder" / "kube-controller-manager",
    )


def test_kubebuilder_assets_dir_wins_over_path_and_cache(tmp_path, environ):
    fill(tmp_path / "kubebuilder")
    fill(tmp_path / "on-path")
    fill(bin_cache(environ))
    environ |= {
        "KUBEBUILDER_ASSETS": str(tmp_path / "kubebuilder"),
        "PATH": str(tmp_path / "on-path"),
    }

    found = assets.find_assets(environ)

    assert found is not None
    assert {
        p.parent for p in (found.etcd, found.kube_apiserver, found.kube_controller_manager)
    } == {tmp_path / "kubebuilder"}


def test_path_wins_over_the_cache(tmp_path, environ):
    fill(bin_cache(environ))
    make_executable(tmp_path / "on-path" / "etcd")
    environ["PATH"] = f"{tmp_path / 'nothing-here'}:{tmp_path / 'on-path'}"

    found = assets.find_assets(environ)

    assert found is not None
    assert found.etcd == tmp_path / "on-path" / "etcd"
    assert found.kube_apiserver == bin_cache(environ) / "kube-apiserver"


def test_cache_is_used_when_nothing_else_has_the_binaries(environ):
    fill(bin_cache(environ))

    found = assets.find_assets(environ)

    assert found is not None
    assert found.kube_controller_manager == bin_cache(environ) / "kube-controller-manager"


def test_cache_dir_defaults_to_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))

    assert assets.cache_dir({}) == tmp_path / ".cache" / "syncpipe" / "assets-v1.20.2"


def test_non_executable_files_are_not_binaries(environ):
    cache = fill(bin_cache(environ))
    (cache / "etcd").chmod(0o644)

    assert assets.find_binary("etcd", environ) is None
    assert assets.find_assets(environ) is None


@pytest.mark.parametrize(
    "variable", ["TEST_ASSET_ETCD", "KUBEBUILDER_ASSETS"], ids=["single-file", "assets-dir"]
)
def test_a_variable_naming_a_missing_binary_is_an_error_not_a_fallback(tmp_path, environ, variable):
    fill(bin_cache(environ))
    environ[variable] = str(tmp_path / "does-not-exist")

    with pytest.raises(assets.AssetsError, match=variable):
        assets.find_assets(environ)


def test_without_provisioning_a_missing_binary_is_reported_by_name(environ):
    make_executable(bin_cache(environ) / "etcd")

    with pytest.raises(assets.AssetsError, match="kube-apiserver, kube-controller-manager"):
        assets.ensure_assets(environ=environ, provision=False)


@pytest.fixture
def fake_provision(tmp_path, monkeypatch) -> Path:
    """A provision.sh stand-in that counts its runs and creates the binaries slowly."""
    runs = tmp_path / "runs"
    script = tmp_path / "provision.sh"
    script.write_text(
        "set -eu\n"
        f"echo run >> {runs}\n"
        "sleep 0.3\n"
        'mkdir -p "$1/bin"\n'
        "for b in etcd kube-apiserver kube-controller-manager; do\n"
        '  printf "#!/bin/sh\\n" > "$1/bin/$b"; chmod +x "$1/bin/$b"\n'
        "done\n"
    )
    monkeypatch.setattr(assets, "PROVISION_SCRIPT", script)
    return runs


def test_missing_binaries_are_provisioned_into_the_cache_once_for_concurrent_callers(
    environ, fake_provision
):
    results: list[assets.Assets] = []
    messages: list[str] = []
    callers = [
        threading.Thread(
            target=lambda: results.append(
                assets.ensure_assets(environ=environ, progress=messages.append)
            )
        )
        for _ in range(3)
    ]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()

    assert fake_provision.read_text().splitlines() == ["run"]
    assert len(results) == 3
    assert all(r.etcd == bin_cache(environ) / "etcd" for r in results)
    assert any("building" in m for m in messages)


def test_a_failed_provisioning_is_an_error_with_the_end_of_its_log(tmp_path, environ, monkeypatch):
    script = tmp_path / "provision.sh"
    script.write_text("echo 'no compiler today' >&2\nexit 3\n")
    monkeypatch.setattr(assets, "PROVISION_SCRIPT", script)

    with pytest.raises(assets.AssetsError, match=r"(?s)exit 3.*no compiler today"):
        assets.ensure_assets(environ=environ)


def test_the_provisioning_script_ships_inside_the_package():
    assert assets.PROVISION_SCRIPT.is_file()
    assert assets.PROVISION_SCRIPT.read_text().startswith("#!/usr/bin/env bash")
