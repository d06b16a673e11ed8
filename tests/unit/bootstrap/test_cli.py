"""syncer-gen's command line: flags checked before anything talks to a server; the CA and URL
the syncer gets come from the caller's kubeconfig as the client library reads it."""

from __future__ import annotations

import base64

import pytest
import yaml
from click.testing import CliRunner

from syncpipe.bootstrap.generate import endpoint_of
from syncpipe.cli.main import cli
from syncpipe.clients.connect import ClusterAccess, load_configuration
from syncpipe.clients.rest import RestClient

CA = b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
KCP = "https://kcp.example.com:6443/clusters/root:edge:mailbox-1"


def run(*args: str):
    return CliRunner().invoke(cli, ["syncer-gen", *args])


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["edge1", "-o", "x.yaml"], "--syncer-image"),
        (["edge1", "--syncer-image", "i"], "--output-file"),
        (["Edge_1", "--syncer-image", "i", "-o", "-"], "DNS-1123"),
        (["e" * 36, "--syncer-image", "i", "-o", "-"], "at most 35"),
        (["edge1", "--syncer-image", "i", "-o", "-", "--replicas", "-1"], "negative"),
        (
            ["edge1", "--syncer-image", "i", "-o", "-", "--replicas", "2", "--no-leader-elect"],
            "leader election",
        ),
        (
            ["edge1", "--syncer-image", "i", "-o", "-", "--upsync-resource", "apps/Deployment"],
            "GROUP/RESOURCE",
        ),
    ],
)
def test_bad_flags_are_refused_before_any_server_is_asked(args, complaint, tmp_path):
    missing = str(tmp_path / "no-such.kubeconfig")
    result = run(*args, "--kubeconfig", missing)
    assert result.exit_code == 2, result.output
    assert complaint in result.output


def test_an_unreachable_kubeconfig_is_a_clean_error(tmp_path):
    result = run("edge1", "--syncer-image", "i", "-o", "-", "--kubeconfig", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert "Traceback" not in result.output


def write_kubeconfig(path, cluster):
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "mb", "cluster": cluster}],
        "users": [{"name": "me", "user": {"token": "t"}}],
        "contexts": [{"name": "mb", "context": {"cluster": "mb", "user": "me"}}],
        "current-context": "mb",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def endpoint_for(path):
    rest = RestClient(load_configuration(ClusterAccess(kubeconfig=str(path))))
    try:
        return endpoint_of(rest)
    finally:
        rest.close()


def test_a_kcp_workspace_url_and_an_inline_ca_reach_the_syncer_unchanged(tmp_path):
    path = write_kubeconfig(
        tmp_path / "inline",
        {"server": KCP, "certificate-authority-data": base64.b64encode(CA).decode()},
    )
    endpoint = endpoint_for(path)
    assert endpoint.server == KCP
    assert endpoint.ca_pem == CA
    assert not endpoint.insecure_skip_tls_verify


def test_a_ca_in_a_file_is_embedded_too(tmp_path):
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(CA)
    endpoint = endpoint_for(
        write_kubeconfig(tmp_path / "file", {"server": KCP, "certificate-authority": str(ca_file)})
    )
    assert endpoint.ca_pem == CA


def test_no_ca_means_the_system_trust_store(tmp_path):
    endpoint = endpoint_for(write_kubeconfig(tmp_path / "none", {"server": KCP}))
    assert endpoint.ca_pem is None


def test_upstream_server_overrides_the_url(tmp_path):
    path = write_kubeconfig(tmp_path / "o", {"server": KCP})
    rest = RestClient(load_configuration(ClusterAccess(kubeconfig=str(path))))
    try:
        assert endpoint_of(rest, "https://mailbox.internal/clusters/x").server == (
            "https://mailbox.internal/clusters/x"
        )
    finally:
        rest.close()
