"""syncer-gen on the real control planes: identity upstream, manifest downstream, least privilege.

One registration per module (``registered``), shared by the tests in order of the story: what
syncer-gen made upstream, that a re-run changes nothing, that the manifest applies (Python
client and kubectl), that a syncer running on exactly the generated credentials downsyncs and
returns status, and that those credentials are refused everything else.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml
from click.testing import CliRunner

from syncpipe import errors
from syncpipe.bootstrap import rbac
from syncpipe.bootstrap import upstream as bootstrap_upstream
from syncpipe.bootstrap.identity import SYNCER_GEN_LABEL
from syncpipe.cli.main import cli
from syncpipe.clients.connect import ClusterAccess, load_configuration
from syncpipe.clients.rest import RestClient, object_path
from syncpipe.model.resources import GroupVersionResource
from syncpipe.testing import wait_for
from syncpipe.testing.manifests import deployment

pytestmark = [pytest.mark.apiserver, pytest.mark.slow]

CM = GroupVersionResource("", "v1", "configmaps")
NS = GroupVersionResource("", "v1", "namespaces")
SA = GroupVersionResource("", "v1", "serviceaccounts")
SECRETS = GroupVersionResource("", "v1", "secrets")
PVC = GroupVersionResource("", "v1", "persistentvolumeclaims")
DEPLOY = GroupVersionResource("apps", "v1", "deployments")
REPLICASETS = GroupVersionResource("apps", "v1", "replicasets")
RBAC = "rbac.authorization.k8s.io"
CLUSTER_ROLES = GroupVersionResource(RBAC, "v1", "clusterroles")
CLUSTER_ROLE_BINDINGS = GroupVersionResource(RBAC, "v1", "clusterrolebindings")
ROLES = GroupVersionResource(RBAC, "v1", "roles")
SYNCER_CONFIGS = GroupVersionResource("edge.kubestellar.io", "v2alpha1", "syncerconfigs")
LEASES = GroupVersionResource("coordination.k8s.io", "v1", "leases")
MANIFEST_ORDER = [
    "Namespace",
    "ServiceAccount",
    "Secret",
    "ClusterRole",
    "ClusterRoleBinding",
    "Deployment",
]
SSA = "application/apply-patch+yaml"


@attrs.frozen(kw_only=True)
class Registration:
    name: str
    namespace: str  # upstream workload namespace the SyncerConfig selects
    manifest_path: Path
    manifest: str
    output: str
    syncer_id: str
    argv: tuple[str, ...]

    @property
    def objects(self) -> list[dict[str, Any]]:
        return [d for d in yaml.safe_load_all(self.manifest) if d]

    def object(self, kind: str) -> dict[str, Any]:
        return next(o for o in self.objects if o["kind"] == kind)

    @property
    def upstream_kubeconfig(self) -> str:
        return base64.b64decode(self.object("Secret")["data"]["kubeconfig"]).decode()


def syncer_gen(argv: list[str] | tuple[str, ...]) -> str:
    result = CliRunner().invoke(cli, ["syncer-gen", *argv], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def workload_config(name: str, ns: str) -> dict[str, Any]:
    return {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "SyncerConfig",
        "metadata": {"name": name},
        "spec": {
            "namespaceScope": {
                "namespaces": [ns],
                "resources": [
                    {"group": "", "resource": "configmaps", "apiVersion": "v1"},
                    {"group": "apps", "resource": "deployments", "apiVersion": "v1"},
                ],
            },
            "upsync": [
                {
                    "apiGroup": "",
                    "resources": ["persistentvolumeclaims"],
                    "namespaces": [ns],
                    "names": ["*"],
                }
            ],
        },
    }


@pytest.fixture(scope="module")
def registered(upstream, tmp_path_factory) -> Iterator[Registration]:
    """syncer-gen run once against the real upstream, with a SyncerConfig in place."""
    tag = secrets.token_hex(3)
    name, ns = f"gen{tag}", f"gen-{tag}"
    up = rest_for(upstream)
    try:
        up.create(NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        workdir = tmp_path_factory.mktemp("syncer-gen")
        path = workdir / f"{name}-syncer.yaml"
        # syncer-gen installs the CRDs itself when they are missing; the config needs them first.
        bootstrap_upstream.ensure_crds(up, timeout=30)
        up.create(SYNCER_CONFIGS, "", workload_config(name, ns))
        argv = [
            name,
            "--syncer-image",
            "syncpipe:dev",
            "-o",
            str(path),
            "--kubeconfig",
            str(upstream.admin_kubeconfig),
            "--upsync-resource",
            "apps/replicasets",
        ]
        started = time.monotonic()
        output = syncer_gen(argv)
        print(f"syncer-gen took {time.monotonic() - started:.1f}s")  # noqa: T201
        text = path.read_text()
        secret = next(d for d in yaml.safe_load_all(text) if d and d["kind"] == "Secret")
        yield Registration(
            name=name,
            namespace=ns,
            manifest_path=path,
            manifest=text,
            output=output,
            syncer_id=secret["metadata"]["name"],
            argv=tuple(argv),
        )
    finally:
        # Every syncer merges every SyncerConfig: leave none behind.
        if up.get_or_none(SYNCER_CONFIGS, "", name) is not None:
            up.delete(SYNCER_CONFIGS, "", name)
        up.close()


def token_rest(kubeconfig: Path, label: str) -> RestClient:
    return RestClient(load_configuration(ClusterAccess(kubeconfig=str(kubeconfig))), label=label)


def rest_for(plane) -> RestClient:
    return token_rest(plane.admin_kubeconfig, plane.name)


@pytest.fixture(scope="module")
def upstream_kubeconfig(registered, tmp_path_factory) -> Path:
    """The kubeconfig from the generated Secret, as the syncer pod would mount it."""
    path = tmp_path_factory.mktemp("mounted") / "kubeconfig"
    path.write_text(registered.upstream_kubeconfig)
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def syncer_up(upstream_kubeconfig) -> Iterator[RestClient]:
    rest = token_rest(upstream_kubeconfig, "upstream-as-syncer")
    yield rest
    rest.close()


@pytest.fixture(scope="module")
def applied(registered, downstream) -> Registration:
    """The manifest applied downstream through the Python client (server-side apply)."""
    down = rest_for(downstream)
    try:
        for obj in registered.objects:
            apply_with_rest(down, obj)
    finally:
        down.close()
    return registered


def apply_with_rest(rest: RestClient, obj: dict[str, Any]) -> dict[str, Any]:
    group, _, version = obj["apiVersion"].rpartition("/")
    plural = {
        "Namespace": "namespaces",
        "ServiceAccount": "serviceaccounts",
        "Secret": "secrets",
        "ClusterRole": "clusterroles",
        "ClusterRoleBinding": "clusterrolebindings",
        "Role": "roles",
        "RoleBinding": "rolebindings",
        "Deployment": "deployments",
    }[obj["kind"]]
    gvr = GroupVersionResource(group, version, plural)
    ns = obj["metadata"].get("namespace", "")
    answer: dict[str, Any] = rest.request(
        "PATCH",
        object_path(gvr, ns, obj["metadata"]["name"]),
        query={"fieldManager": "syncpipe-test", "force": "true"},
        body=obj,
        content_type=SSA,
    )
    return answer


# -- upstream ---------------------------------------------------------------------------------


def test_syncer_gen_creates_the_upstream_identity_and_fills_the_token(
    registered, up_rest, upstream
):
    sid = registered.syncer_id
    assert sid.startswith(f"kubestellar-syncer-{registered.name}-")
    account = up_rest.get(SA, "default", sid)
    assert account["metadata"]["labels"][SYNCER_GEN_LABEL] == registered.name
    role = up_rest.get(CLUSTER_ROLES, "", sid)
    assert role["rules"]
    assert rbac.REASONS_ANNOTATION in role["metadata"]["annotations"]
    binding = up_rest.get(CLUSTER_ROLE_BINDINGS, "", sid)
    assert binding["roleRef"]["name"] == sid
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sid, "namespace": "default"}]
    token_secret = up_rest.get(SECRETS, "default", f"{sid}-token")
    assert token_secret["type"] == "kubernetes.io/service-account-token"
    token = base64.b64decode(token_secret["data"]["token"]).decode()
    kubeconfig = yaml.safe_load(registered.upstream_kubeconfig)
    assert kubeconfig["users"][0]["user"]["token"] == token
    assert kubeconfig["clusters"][0]["cluster"]["server"] == upstream.server
    ca = base64.b64decode(kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"])
    assert ca == upstream.ca_pem
    # What it did is said on stderr, rule by rule, with the reasons.
    for line in ("Created service account", "Created cluster role", "Created token secret"):
        assert line in registered.output
    assert "why: downsync: read (SyncerConfig/" in registered.output
    assert "kubectl apply -f" in registered.output
    # Like KubeStellar's syncer-gen, it leaves an empty EdgeSyncConfig named after the syncer.
    esc = GroupVersionResource("edge.kubestellar.io", "v2alpha1", "edgesyncconfigs")
    assert up_rest.get(esc, "", registered.name)["spec"] in ({}, None)


def test_manifest_objects_come_in_order(registered):
    assert [o["kind"] for o in registered.objects] == MANIFEST_ORDER
    assert registered.manifest_path.stat().st_mode & 0o077 == 0  # it holds a token


def test_rerun_keeps_the_identity_and_changes_nothing(registered, up_rest):
    sid = registered.syncer_id
    paths = [
        (SA, "default", sid),
        (CLUSTER_ROLES, "", sid),
        (CLUSTER_ROLE_BINDINGS, "", sid),
        (SECRETS, "default", f"{sid}-token"),
    ]
    before = {p: up_rest.get(*p)["metadata"]["resourceVersion"] for p in paths}
    accounts_before, _ = up_rest.list(SA, "default", label_selector=f"{SYNCER_GEN_LABEL}")
    output = run_syncer_gen_again(registered)
    assert registered.manifest_path.read_text() == registered.manifest
    after = {p: up_rest.get(*p)["metadata"]["resourceVersion"] for p in paths}
    assert after == before
    accounts_after, _ = up_rest.list(SA, "default", label_selector=f"{SYNCER_GEN_LABEL}")
    assert len(accounts_after) == len(accounts_before)
    assert "Created" not in output
    assert "Updated" not in output
    assert output.count("Unchanged:") >= 4


def run_syncer_gen_again(registered: Registration) -> str:
    """Through the kubectl plugin when kubectl is there (the real `kubectl syncpipe` path)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return syncer_gen(registered.argv)
    bindir = str(Path(sys.executable).parent)
    assert (Path(bindir) / "kubectl-syncpipe").exists(), "pip install -e . makes it"
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [kubectl, "syncpipe", "syncer-gen", *registered.argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


# -- downstream --------------------------------------------------------------------------------


def test_manifest_applies_with_the_python_client(applied, down_rest):
    sid = applied.syncer_id
    assert down_rest.get(NS, "", sid)
    assert down_rest.get(SA, sid, sid)
    assert down_rest.get(SECRETS, sid, sid)["data"]["kubeconfig"]
    assert down_rest.get(CLUSTER_ROLES, "", sid)["rules"] == applied.object("ClusterRole")["rules"]
    assert down_rest.get(CLUSTER_ROLE_BINDINGS, "", sid)
    deployment = down_rest.get(DEPLOY, sid, sid)
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == sid


def test_manifest_applies_with_kubectl(applied, downstream):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("no kubectl on PATH (the Python-client apply is tested above)")
    argv = [kubectl, "--kubeconfig", str(downstream.admin_kubeconfig)]
    first = subprocess.run(
        [*argv, "apply", "-f", str(applied.manifest_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("\n") == len(MANIFEST_ORDER)
    again = subprocess.run(
        [*argv, "apply", "-f", str(applied.manifest_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    lines = again.stdout.splitlines()
    assert len(lines) == len(MANIFEST_ORDER)
    assert all(line.endswith("unchanged") for line in lines), again.stdout


# -- the credentials: enough ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def downstream_kubeconfig(applied, downstream) -> Path:
    """A token of the generated downstream ServiceAccount, as the pod would get it."""
    token = downstream.service_account_token(applied.syncer_id, applied.syncer_id)
    return downstream.kubeconfig_for_token(token)


@pytest.fixture(scope="module")
def syncer_down(downstream_kubeconfig) -> Iterator[RestClient]:
    rest = token_rest(downstream_kubeconfig, "downstream-as-syncer")
    yield rest
    rest.close()


def configmap(ns: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": {"k": "v"},
    }


def test_a_syncer_on_exactly_the_generated_credentials_downsyncs_and_returns_status(
    applied, upstream_kubeconfig, downstream_kubeconfig, up_rest, down_rest, tmp_path
):
    ns = applied.namespace
    up_rest.create(CM, ns, configmap(ns, "settings"))
    up_rest.create(DEPLOY, ns, deployment(ns, "web"))
    log_path = tmp_path / "syncer.log"
    started = time.monotonic()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "syncpipe",
                "run",
                "--upstream-kubeconfig",
                str(upstream_kubeconfig),
                "--downstream-kubeconfig",
                str(downstream_kubeconfig),
                "--syncer-name",
                applied.name,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        copy = wait_for(
            lambda: down_rest.get_or_none(CM, ns, "settings"),
            timeout=60,
            message=lambda: log_path.read_text()[-3000:],
        )
        assert copy["data"] == {"k": "v"}
        wait_for(lambda: down_rest.get_or_none(DEPLOY, ns, "web"), timeout=60)

        def status_returned() -> bool:
            down = (down_rest.get(DEPLOY, ns, "web").get("status")) or {}
            up = (up_rest.get(DEPLOY, ns, "web").get("status")) or {}
            return bool(down.get("observedGeneration")) and up == down

        wait_for(status_returned, timeout=90, message=lambda: log_path.read_text()[-3000:])
        # Upsync: a claim made in the edge cluster appears in the mailbox.
        down_rest.create(PVC, ns, claim(ns, "made-at-the-edge"))
        wait_for(
            lambda: up_rest.get_or_none(PVC, ns, "made-at-the-edge"),
            timeout=60,
            message=lambda: log_path.read_text()[-3000:],
        )
        # The heartbeat reaches the SyncerConfig's status.
        wait_for(
            lambda: (up_rest.get(SYNCER_CONFIGS, "", applied.name).get("status") or {}).get(
                "lastSyncerHeartbeatTime"
            ),
            timeout=60,
        )
        print(f"downsync, status return, upsync, heartbeat: {time.monotonic() - started:.1f}s")  # noqa: T201
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log_text = log_path.read_text()
    assert process.returncode == 0, log_text[-3000:]
    assert "forbidden" not in log_text.lower(), log_text[-3000:]


# -- the credentials: no more -----------------------------------------------------------------


def forbidden(call, *args, **kwargs) -> bool:
    try:
        call(*args, **kwargs)
    except errors.ApiForbidden:
        return True
    return False


def test_the_upstream_token_is_refused_what_upsync_does_not_name(registered, syncer_up, up_rest):
    ns = registered.namespace
    up_rest.create(CM, ns, configmap(ns, "admins-own"))
    assert forbidden(syncer_up.create, CM, ns, configmap(ns, "intruder"))
    assert forbidden(syncer_up.delete, CM, ns, "admins-own")
    assert forbidden(syncer_up.merge_patch, CM, ns, "admins-own", {"data": {"k": "x"}})
    assert forbidden(syncer_up.create, DEPLOY, ns, deployment(ns, "intruder"))
    assert up_rest.get(CM, ns, "admins-own")["data"] == {"k": "v"}
    # Secrets: no SyncerConfig selects them, so the token cannot read any.
    assert forbidden(syncer_up.list, SECRETS, ns)
    assert forbidden(syncer_up.list, SECRETS)
    assert forbidden(syncer_up.get, SECRETS, "default", f"{registered.syncer_id}-token")
    # Nor may it touch RBAC or the configs themselves.
    assert forbidden(syncer_up.delete, CLUSTER_ROLES, "", registered.syncer_id)
    assert forbidden(
        syncer_up.merge_patch, SYNCER_CONFIGS, "", registered.name, {"spec": {"upsync": []}}
    )


def claim(ns: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }


def test_the_upstream_token_may_write_what_upsync_names(registered, syncer_up):
    ns = registered.namespace
    created = syncer_up.create(PVC, ns, claim(ns, "data"))
    syncer_up.merge_patch(PVC, ns, "data", {"metadata": {"labels": {"upsynced": "yes"}}})
    syncer_up.merge_patch(PVC, ns, "data", {"status": {"phase": "Bound"}}, subresource="status")
    syncer_up.delete(PVC, ns, "data", uid=created["metadata"]["uid"])
    replicaset = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "rs", "namespace": ns},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "rs"}},
            "template": {
                "metadata": {"labels": {"app": "rs"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }
    syncer_up.create(REPLICASETS, ns, replicaset)  # granted by --upsync-resource apps/replicasets
    syncer_up.delete(REPLICASETS, ns, "rs")


def test_the_downstream_token_is_refused_outside_the_synced_resources(applied, syncer_down):
    ns = applied.syncer_id
    assert forbidden(syncer_down.list, SECRETS, ns)
    assert forbidden(syncer_down.list, SECRETS)
    assert forbidden(syncer_down.list, CLUSTER_ROLES)
    assert forbidden(syncer_down.create, PVC, ns, {"metadata": {"name": "x"}, "spec": {}})
    # What it syncs it may write.
    assert syncer_down.list(CM, ns) is not None


# -- more replicas: leader election ---------------------------------------------------------------


def test_more_replicas_bring_leader_election_and_just_enough_rbac_for_the_lease(
    registered, upstream_kubeconfig, downstream_kubeconfig, syncer_down, down_rest, tmp_path
):
    path = tmp_path / "replicated.yaml"
    argv = [a if a != str(registered.manifest_path) else str(path) for a in registered.argv]
    syncer_gen([*argv, "--replicas", "2"])
    objects = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert [o["kind"] for o in objects] == [
        "Namespace",
        "ServiceAccount",
        "Secret",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Deployment",
    ]
    for obj in objects:
        apply_with_rest(down_rest, obj)
    sid = registered.syncer_id
    deployment = down_rest.get(DEPLOY, sid, sid)
    assert deployment["spec"]["replicas"] == 2
    lease_name = f"syncpipe-{registered.name}"
    log_path = tmp_path / "leader.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "syncpipe",
                "run",
                "--upstream-kubeconfig",
                str(upstream_kubeconfig),
                "--downstream-kubeconfig",
                str(downstream_kubeconfig),
                "--syncer-name",
                registered.name,
                "--leader-elect",
                "--leader-election-namespace",
                sid,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        lease = wait_for(
            lambda: down_rest.get_or_none(LEASES, sid, lease_name),
            timeout=60,
            message=lambda: log_path.read_text()[-3000:],
        )
        assert lease["spec"]["holderIdentity"]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log_text = log_path.read_text()
    assert process.returncode == 0, log_text[-3000:]
    assert "forbidden" not in log_text.lower(), log_text[-3000:]
    # Only its own Lease: another one in the same namespace is out of reach.
    down_rest.create(
        LEASES,
        sid,
        {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "other"}},
    )
    assert forbidden(syncer_down.get, LEASES, sid, "other")
    assert forbidden(syncer_down.list, LEASES, "kube-system")


def can_i(upstream, registered: Registration, verb: str, resource: str, *scope: str) -> bool:
    """``kubectl auth can-i`` as the syncer's upstream ServiceAccount (admin impersonating)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("no kubectl on PATH")
    account = f"system:serviceaccount:default:{registered.syncer_id}"
    done = subprocess.run(
        [
            kubectl,
            "--kubeconfig",
            str(upstream.admin_kubeconfig),
            "auth",
            "can-i",
            verb,
            resource,
            "--as",
            account,
            *scope,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    answer = done.stdout.strip()
    assert answer in ("yes", "no"), done.stderr
    return answer == "yes"


def test_reads_of_resources_selected_in_named_namespaces_are_granted_there_only(
    registered, upstream, up_rest
):
    """The syncer watches a resource selected in a few named namespaces in each of them, so
    syncer-gen grants its reads through a Role in each: the mailbox's other namespaces (other
    edges' workloads) are out of the token's reach."""
    ns, sid = registered.namespace, registered.syncer_id
    for verb in ("list", "watch", "get"):
        assert can_i(upstream, registered, verb, "configmaps", "-n", ns)
        assert can_i(upstream, registered, verb, "deployments.apps", "-n", ns)
    assert can_i(
        upstream, registered, "patch", "deployments.apps", "--subresource=status", "-n", ns
    )
    assert not can_i(upstream, registered, "patch", "deployments.apps", "-n", ns)
    assert not can_i(upstream, registered, "list", "configmaps", "-n", "default")
    assert not can_i(upstream, registered, "list", "configmaps", "--all-namespaces")
    assert not can_i(upstream, registered, "watch", "deployments.apps", "--all-namespaces")
    # Namespace objects and configs are still read cluster-wide.
    assert can_i(upstream, registered, "watch", "namespaces")
    assert can_i(upstream, registered, "list", "syncerconfigs.edge.kubestellar.io")
    role = up_rest.get(ROLES, ns, sid)
    assert {"configmaps"} <= {r for rule in role["rules"] for r in rule["resources"]}
    assert "role binding" in registered.output


def test_a_namespace_no_longer_selected_loses_its_role(registered, upstream, up_rest):
    """Re-running syncer-gen after a config change removes the Role of a namespace no config
    names any more, and grants the new one once it exists (until then, cluster-wide)."""
    ns, sid = registered.namespace, registered.syncer_id
    moved = f"{ns}-moved"
    scope = up_rest.get(SYNCER_CONFIGS, "", registered.name)["spec"]["namespaceScope"]

    def select(namespaces: list[str]) -> None:
        patch = {"spec": {"namespaceScope": {**scope, "namespaces": namespaces}}}
        up_rest.merge_patch(SYNCER_CONFIGS, "", registered.name, patch)

    select([moved])
    try:
        # A namespace that does not exist yet cannot hold a Role: read cluster-wide
        # meanwhile, and syncer-gen creates no namespace in the mailbox.
        output = syncer_gen(registered.argv)
        assert f"{moved} do not exist upstream yet" in output
        assert f'role and role binding "{ns}/{sid}"' in output
        assert up_rest.get_or_none(ROLES, ns, sid) is None
        assert up_rest.get_or_none(NS, "", moved) is None
        assert can_i(upstream, registered, "list", "configmaps", "--all-namespaces")

        up_rest.create(
            NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": moved}}
        )
        syncer_gen(registered.argv)
        assert up_rest.get_or_none(ROLES, moved, sid) is not None
        assert can_i(upstream, registered, "list", "configmaps", "-n", moved)
        assert not can_i(upstream, registered, "list", "configmaps", "-n", ns)
        assert not can_i(upstream, registered, "list", "configmaps", "--all-namespaces")
    finally:
        select(scope["namespaces"])
        syncer_gen(registered.argv)
        if up_rest.get_or_none(NS, "", moved) is not None:
            up_rest.delete(NS, "", moved)
    assert can_i(upstream, registered, "list", "configmaps", "-n", ns)
