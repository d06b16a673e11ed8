"""The local control planes behave like two separate, real, RBAC-enforcing clusters."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import urllib3
from kubernetes import client
from kubernetes.client import ApiException

from syncpipe.devenv import kubeapi, processes
from syncpipe.devenv.controlplane import ControlPlane, ControlPlaneError, ControlPlaneRecord
from syncpipe.testing import clusters, wait_for

pytestmark = pytest.mark.apiserver


def create_namespace(api: client.ApiClient, name: str) -> None:
    client.CoreV1Api(api).create_namespace(
        body=client.V1Namespace(metadata=client.V1ObjectMeta(name=name))
    )


def create_config_map(api: client.ApiClient, namespace: str, name: str) -> None:
    client.CoreV1Api(api).create_namespaced_config_map(
        namespace=namespace,
        body=client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data={"k": "v"}),
    )


def status_of(call) -> int:
    """The HTTP status a client call ends with (200 when it succeeds)."""
    try:
        call()
    except ApiException as exc:
        return int(exc.status)
    return 200


@pytest.mark.parametrize("origin", ["upstream", "downstream"])
def test_objects_written_to_one_control_plane_are_absent_from_the_other(
    origin, upstream_client, downstream_client, unique_name
):
    written, other = (
        (upstream_client, downstream_client)
        if origin == "upstream"
        else (downstream_client, upstream_client)
    )
    create_namespace(written, unique_name)
    create_config_map(written, unique_name, "settings")

    found = client.CoreV1Api(written).read_namespaced_config_map(
        name="settings", namespace=unique_name
    )
    assert found.data == {"k": "v"}
    assert status_of(lambda: client.CoreV1Api(other).read_namespace(name=unique_name)) == 404
    assert (
        status_of(
            lambda: client.CoreV1Api(other).read_namespaced_config_map(
                name="settings", namespace=unique_name
            )
        )
        == 404
    )


def test_each_control_plane_has_its_own_certificate_authority(upstream, downstream):
    right_ca = kubeapi.KubeApi(
        server=downstream.server, ca_pem=downstream.ca_pem, token=downstream.admin_token
    )
    wrong_ca = kubeapi.KubeApi(
        server=downstream.server, ca_pem=upstream.ca_pem, token=downstream.admin_token
    )

    assert right_ca.request("GET", "/readyz").status == 200
    with pytest.raises(urllib3.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        wrong_ca.request("GET", "/readyz")


def test_a_service_account_token_is_forbidden_until_a_role_binding_allows_it(
    upstream, upstream_client, unique_name
):
    token = upstream.service_account_token(unique_name, "reader")
    restricted = clusters.api_client(upstream, token)
    core = client.CoreV1Api(restricted)
    try:
        assert status_of(lambda: core.list_namespaced_config_map(namespace=unique_name)) == 403

        rbac = client.RbacAuthorizationV1Api(upstream_client)
        rbac.create_namespaced_role(
            namespace=unique_name,
            body=client.V1Role(
                metadata=client.V1ObjectMeta(name="read-config-maps"),
                rules=[
                    client.V1PolicyRule(
                        api_groups=[""], resources=["configmaps"], verbs=["get", "list", "watch"]
                    )
                ],
            ),
        )
        rbac.create_namespaced_role_binding(
            namespace=unique_name,
            body=client.V1RoleBinding(
                metadata=client.V1ObjectMeta(name="reader-reads-config-maps"),
                role_ref=client.V1RoleRef(
                    api_group="rbac.authorization.k8s.io", kind="Role", name="read-config-maps"
                ),
                subjects=[
                    client.RbacV1Subject(
                        kind="ServiceAccount", name="reader", namespace=unique_name
                    )
                ],
            ),
        )

        wait_for(
            lambda: (
                status_of(lambda: core.list_namespaced_config_map(namespace=unique_name)) == 200
            ),
            timeout=10,
            message="the RoleBinding never took effect",
        )
        assert status_of(lambda: core.list_namespaced_secret(namespace=unique_name)) == 403
        assert status_of(lambda: core.list_namespaced_config_map(namespace="default")) == 403
    finally:
        restricted.close()


def test_a_token_kubeconfig_identifies_as_its_service_account(upstream, unique_name, tmp_path):
    token = upstream.service_account_token(unique_name, "who")
    path = upstream.kubeconfig_for_token(token, tmp_path / "who.kubeconfig")

    review = kubeapi.KubeApi.from_kubeconfig(path).request(
        "POST",
        "/apis/authentication.k8s.io/v1/tokenreviews",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}},
    )

    # A ServiceAccount may not create TokenReviews, which proves the kubeconfig is not the admin's.
    assert review.status == 403
    assert f"system:serviceaccount:{unique_name}:who" in review.body["message"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_downstream_controllers_reconcile_a_deployment_into_a_replica_set(
    downstream_client, unique_name
):
    create_namespace(downstream_client, unique_name)
    labels = {"app": "web"}
    client.AppsV1Api(downstream_client).create_namespaced_deployment(
        namespace=unique_name,
        body=client.V1Deployment(
            metadata=client.V1ObjectMeta(name="web"),
            spec=client.V1DeploymentSpec(
                replicas=1,
                selector=client.V1LabelSelector(match_labels=labels),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels),
                    spec=client.V1PodSpec(
                        containers=[client.V1Container(name="web", image="example.invalid/web")]
                    ),
                ),
            ),
        ),
    )
    apps = client.AppsV1Api(downstream_client)

    wait_for(
        lambda: (
            apps.read_namespaced_deployment(
                name="web", namespace=unique_name
            ).status.observed_generation
            == 1
        ),
        message="the Deployment controller never observed the Deployment",
    )
    replica_sets = wait_for(
        lambda: apps.list_namespaced_replica_set(namespace=unique_name).items,
        message="no ReplicaSet appeared for the Deployment",
    )
    assert [ref.name for ref in replica_sets[0].metadata.owner_references] == ["web"]


def test_upstream_runs_no_workload_controllers(upstream_client, unique_name):
    create_namespace(upstream_client, unique_name)
    core = client.CoreV1Api(upstream_client)

    # The ServiceAccount controller runs upstream ...
    wait_for(
        lambda: (
            status_of(lambda: core.read_namespaced_service_account("default", unique_name)) == 200
        ),
        message="the upstream ServiceAccount controller did not create 'default'",
    )
    # ... the Deployment controller does not.
    apps = client.AppsV1Api(upstream_client)
    apps.create_namespaced_deployment(
        namespace=unique_name,
        body=client.V1Deployment(
            metadata=client.V1ObjectMeta(name="web"),
            spec=client.V1DeploymentSpec(
                selector=client.V1LabelSelector(match_labels={"app": "web"}),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels={"app": "web"}),
                    spec=client.V1PodSpec(containers=[client.V1Container(name="web", image="x")]),
                ),
            ),
        ),
    )
    assert apps.list_namespaced_replica_set(namespace=unique_name).items == []


@pytest.mark.slow
def test_a_control_plane_survives_etcd_and_apiserver_restarts_and_stops_cleanly(
    control_plane_assets, tmp_path, unique_name
):
    plane = ControlPlane("restarts", assets=control_plane_assets, workdir=tmp_path).start()
    api = plane.api()
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": unique_name}}
    api.create("/api/v1/namespaces", namespace)
    server, pids = plane.server, [p.pid for p in plane.describe().processes]

    plane.kill_etcd()
    plane.restart_etcd()
    assert api.request("GET", f"/api/v1/namespaces/{unique_name}").status == 200

    plane.kill_apiserver()
    with pytest.raises(urllib3.exceptions.HTTPError):
        api.request("GET", "/readyz")
    plane.restart_apiserver()
    assert api.request("GET", f"/api/v1/namespaces/{unique_name}").status == 200

    plane.kill_apiserver(signal.SIGSTOP)  # a hung server: restart must still get rid of it
    plane.restart_apiserver()
    assert plane.server == server
    assert api.request("GET", f"/api/v1/namespaces/{unique_name}").status == 200

    records = plane.describe().processes
    assert [p.pid for p in records] != pids
    plane.stop()
    plane.stop()
    assert not [p for p in records if processes.pid_runs(p)]
    assert plane.etcd_data_dir is not None
    assert not plane.etcd_data_dir.exists()
    assert (tmp_path / "logs" / "kube-apiserver.log").is_file()  # a given workdir is kept


def test_a_control_plane_that_cannot_start_says_why_and_leaves_nothing_running(
    control_plane_assets, tmp_path
):
    plane = ControlPlane(
        "broken",
        assets=control_plane_assets,
        workdir=tmp_path,
        apiserver_args=["--no-such-flag=1"],
    )

    with pytest.raises(ControlPlaneError) as caught:
        plane.start()

    message = str(caught.value)
    assert "kube-apiserver exited" in message
    assert str(tmp_path / "logs" / "kube-apiserver.log") in message
    assert "unknown flag: --no-such-flag" in message
    assert not [p for p in plane.describe().processes if processes.pid_runs(p)]
    assert plane.etcd_data_dir is not None
    assert not plane.etcd_data_dir.exists()
    plane.stop()


def syncpipe_dev(*args: str, state_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncpipe", "dev", *args],
        env={**os.environ, "SYNCPIPE_DEV_DIR": str(state_dir)},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.mark.slow
def test_dev_up_status_down_manage_a_detached_pair(tmp_path):
    state_dir = tmp_path / "dev"
    started = syncpipe_dev("up", state_dir=state_dir)
    try:
        assert started.returncode == 0, started.stderr
        state = json.loads((state_dir / "state.json").read_text())
        records = [ControlPlaneRecord.from_json(r) for r in state["control_planes"]]
        assert [r.name for r in records] == ["upstream", "downstream"]
        for record in records:
            assert f"export KUBECONFIG={record.admin_kubeconfig}" in started.stdout
            assert {p.name for p in record.processes} == {
                "etcd",
                "kube-apiserver",
                "kube-controller-manager",
            }
            # The processes outlived the command that started them and serve requests.
            assert all(processes.pid_runs(p) for p in record.processes)
            api = kubeapi.KubeApi.from_kubeconfig(record.admin_kubeconfig)
            assert api.request("GET", "/api/v1/namespaces/default").status == 200

        status = syncpipe_dev("status", state_dir=state_dir)
        assert status.returncode == 0, status.stdout + status.stderr
        assert status.stdout.count("(ready)") == 2

        again = syncpipe_dev("up", state_dir=state_dir)
        assert again.returncode == 0, again.stderr
        assert "already running" in again.stdout
        assert json.loads((state_dir / "state.json").read_text()) == state
    finally:
        stopped = syncpipe_dev("down", state_dir=state_dir)

    assert stopped.returncode == 0, stopped.stderr
    pids = [p for r in records for p in r.processes]
    assert not [p for p in pids if processes.pid_runs(p)]
    assert not [r.etcd_data_dir for r in records if r.etcd_data_dir.exists()]
    assert not state_dir.exists()
    after = syncpipe_dev("status", state_dir=state_dir)
    assert after.returncode == 1
    assert "not running" in after.stdout
