"""Command lines of the control-plane binaries."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncpipe.devenv import flags, pair, pki

LAYOUT = flags.Layout(
    name="upstream",
    etcd_client_port=2379,
    etcd_peer_port=2380,
    apiserver_port=6443,
    etcd_data_dir=Path("/dev/shm/etcd"),
    pki=pki.PkiFiles(
        ca_cert=Path("/w/ca.crt"),
        serving_cert=Path("/w/apiserver.crt"),
        serving_key=Path("/w/apiserver.key"),
        service_account_key=Path("/w/sa.key"),
        service_account_public_key=Path("/w/sa.pub"),
    ),
    token_file=Path("/w/tokens.csv"),
    admin_kubeconfig=Path("/w/admin.kubeconfig"),
    generated_cert_dir=Path("/w/generated"),
)


def test_apiserver_reaches_etcd_on_its_client_port_and_serves_tls_on_loopback():
    argv = flags.apiserver_argv(Path("/bin/kube-apiserver"), LAYOUT)

    assert argv[0] == "/bin/kube-apiserver"
    assert "--etcd-servers=http://127.0.0.1:2379" in argv
    assert "--bind-address=127.0.0.1" in argv
    assert "--secure-port=6443" in argv
    assert "--insecure-port=0" in argv
    assert "--tls-cert-file=/w/apiserver.crt" in argv
    assert "--authorization-mode=RBAC" in argv


def test_watch_cache_sizes_are_one_flag_and_extra_arguments_come_last():
    argv = flags.apiserver_argv(
        Path("kube-apiserver"),
        LAYOUT,
        watch_cache_sizes=["configmaps#100", "secrets#10"],
        extra=["--authorization-mode=AlwaysAllow"],
    )

    assert "--watch-cache-sizes=configmaps#100,secrets#10" in argv
    assert argv[-1] == "--authorization-mode=AlwaysAllow"


def test_no_watch_cache_sizes_flag_unless_asked():
    argv = flags.apiserver_argv(Path("kube-apiserver"), LAYOUT)

    assert not [a for a in argv if a.startswith("--watch-cache-sizes")]


def test_etcd_is_a_single_member_cluster_on_its_data_dir():
    argv = flags.etcd_argv(Path("etcd"), LAYOUT)

    assert "--data-dir=/dev/shm/etcd" in argv
    assert "--initial-cluster=upstream=http://127.0.0.1:2380" in argv
    assert "--listen-client-urls=http://127.0.0.1:2379" in argv


def test_controller_manager_runs_the_given_controllers_as_the_admin():
    argv = flags.controller_manager_argv(
        Path("kcm"), LAYOUT, controllers=pair.DOWNSTREAM_CONTROLLERS
    )

    assert "--kubeconfig=/w/admin.kubeconfig" in argv
    assert "--controllers=*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-route,-service" in argv


@pytest.mark.parametrize(
    ("controllers", "enabled"),
    [
        (pair.UPSTREAM_CONTROLLERS, True),
        (pair.DOWNSTREAM_CONTROLLERS, True),
        (("*", "-serviceaccount"), False),
        (("namespace",), False),
        ((), False),
    ],
)
def test_controller_enabled_follows_star_and_minus(controllers, enabled):
    assert flags.controller_enabled(controllers, "serviceaccount") is enabled
