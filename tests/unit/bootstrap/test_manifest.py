"""The edge cluster's manifest and the upstream kubeconfig it carries."""

from __future__ import annotations

import base64

import pytest
import yaml

from syncpipe.bootstrap import manifest, rbac
from syncpipe.bootstrap.identity import SyncerIdentity
from syncpipe.bootstrap.kubeconfig import UpstreamEndpoint, kubeconfig_dict, render_kubeconfig

IDENTITY = SyncerIdentity("edge1", "abcdefgh")
SYNCER_ID = "kubestellar-syncer-edge1-abcdefgh"
CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
RULES = rbac.downstream_rules(rbac.SyncNeeds())


def kubeconfig_text(server="https://mailbox.example.com:6443/clusters/root:abc"):
    endpoint = UpstreamEndpoint(server=server, ca_pem=CA)
    return render_kubeconfig(endpoint, user=SYNCER_ID, token="tok3n", namespace="default")


def spec(**changes):
    values = {
        "identity": IDENTITY,
        "image": "syncpipe:dev",
        "upstream_kubeconfig": kubeconfig_text(),
        "rules": RULES,
    }
    values.update(changes)
    return manifest.EdgeManifest(**values)


def documents(text):
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def test_kcp_workspace_path_survives_into_the_kubeconfig():
    server = "https://host:6443/clusters/root:abc"
    loaded = yaml.safe_load(kubeconfig_text(server))
    cluster = loaded["clusters"][0]["cluster"]
    assert cluster["server"] == server
    assert base64.b64decode(cluster["certificate-authority-data"]) == CA
    assert loaded["users"][0]["user"] == {"token": "tok3n"}
    context = loaded["contexts"][0]["context"]
    assert context["namespace"] == "default"
    assert loaded["current-context"] == loaded["contexts"][0]["name"]


def test_kubeconfig_without_a_ca_uses_the_system_trust_and_insecure_is_carried_over():
    plain = kubeconfig_dict(
        UpstreamEndpoint(server="https://public.example.com"), user="u", token="t", namespace="d"
    )
    assert plain["clusters"][0]["cluster"] == {"server": "https://public.example.com"}
    insecure = kubeconfig_dict(
        UpstreamEndpoint(server="https://h:1", insecure_skip_tls_verify=True),
        user="u",
        token="t",
        namespace="d",
    )
    assert insecure["clusters"][0]["cluster"]["insecure-skip-tls-verify"] is True


def test_a_server_url_must_be_http_or_https():
    with pytest.raises(ValueError, match="https://"):
        UpstreamEndpoint(server="host:6443")


def test_objects_come_in_apply_order():
    kinds = [doc["kind"] for doc in documents(manifest.render(spec()))]
    assert kinds == [
        "Namespace",
        "ServiceAccount",
        "Secret",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
    ]


def test_rendering_is_deterministic_and_starts_with_a_comment():
    first = manifest.render(spec())
    assert first == manifest.render(spec())
    assert first.startswith("# ")
    assert "keep it" in first.splitlines()[1] or "keep it" in first.splitlines()[2]


def test_everything_is_named_after_the_syncer_id_in_its_namespace():
    docs = documents(manifest.render(spec()))
    for doc in docs:
        name = doc["metadata"]["name"]
        assert name == SYNCER_ID
        if doc["kind"] in ("ServiceAccount", "Secret", "Deployment"):
            assert doc["metadata"]["namespace"] == SYNCER_ID
        assert doc["metadata"]["labels"]["syncpipe.io/syncer-gen"] == "edge1"
    other = documents(manifest.render(spec(namespace="edge-system")))
    assert other[0]["metadata"]["name"] == "edge-system"
    assert other[4]["subjects"] == [
        {"kind": "ServiceAccount", "name": SYNCER_ID, "namespace": "edge-system"}
    ]


def test_the_secret_holds_the_upstream_kubeconfig_unchanged():
    secret = documents(manifest.render(spec()))[2]
    assert secret["type"] == "Opaque"
    stored = base64.b64decode(secret["data"]["kubeconfig"]).decode()
    assert stored == kubeconfig_text()
    loaded = yaml.safe_load(stored)
    assert loaded["clusters"][0]["cluster"]["server"].endswith("/clusters/root:abc")


def test_cluster_role_carries_the_rules_and_their_reasons():
    role = documents(manifest.render(spec()))[3]
    assert role["rules"] == rbac.rule_dicts(RULES)
    reasons = role["metadata"]["annotations"][rbac.REASONS_ANNOTATION]
    assert reasons == rbac.reasons_text(RULES)
    binding = documents(manifest.render(spec()))[4]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": SYNCER_ID,
    }


def test_the_deployment_runs_the_syncer_hardened_with_probes():
    deployment = documents(manifest.render(spec(replicas=0, namespace_mapping="hashed")))[5]
    assert deployment["spec"]["replicas"] == 0
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == SYNCER_ID
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    (container,) = pod["containers"]
    assert container["image"] == "syncpipe:dev"
    assert container["args"] == [
        "run",
        "--upstream-kubeconfig",
        "/kubestellar/kubeconfig",
        "--syncer-name",
        "edge1",
        "--health-address",
        "0.0.0.0:8080",
        "--namespace-mapping",
        "hashed",
    ]
    assert "--downstream-kubeconfig" not in container["args"]
    assert "--leader-elect" not in container["args"]
    assert "env" not in container
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["ports"][0]["containerPort"] == 8080
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == 65532
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert set(container["resources"]) == {"requests", "limits"}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/kubestellar"]["readOnly"] is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/kubestellar"]["name"]]["secret"]["secretName"] == SYNCER_ID
    # The selector matches the pod template.
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for key, value in deployment["spec"]["selector"]["matchLabels"].items():
        assert labels[key] == value


def test_without_namespace_mapping_the_flag_is_not_passed():
    assert "--namespace-mapping" not in manifest.syncer_args(spec())


def test_the_namespaced_watch_limit_is_passed_on_only_when_not_the_default():
    import attrs

    assert "--max-namespaced-watches" not in manifest.syncer_args(spec())
    args = manifest.syncer_args(attrs.evolve(spec(), max_namespaced_watches=0))
    assert args[-2:] == ["--max-namespaced-watches", "0"]


def test_the_config_selector_is_passed_on_only_when_given():
    assert "--syncer-config-selector" not in manifest.syncer_args(spec())
    args = manifest.syncer_args(spec(syncer_config_selector="edge=edge1"))
    assert args[-2:] == ["--syncer-config-selector", "edge=edge1"]


def test_kinds_follow_the_apply_order():
    assert tuple(k for k in manifest.KIND_ORDER if not k.startswith("Role")) == (
        "Namespace",
        "ServiceAccount",
        "Secret",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
    )


@pytest.mark.parametrize("replicas", [-1, 2])
def test_without_leader_election_replicas_are_zero_or_one(replicas):
    with pytest.raises(ValueError, match="replicas"):
        spec(replicas=replicas)


def test_more_replicas_run_with_leader_election_on_their_own_lease():
    docs = documents(manifest.render(spec(replicas=3, leader_election=True)))
    assert [d["kind"] for d in docs] == list(manifest.KIND_ORDER)
    role, binding, deployment = docs[5], docs[6], docs[7]
    assert role["metadata"]["namespace"] == SYNCER_ID
    assert role["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["syncpipe-edge1"],
            "verbs": ["get", "update"],
        },
    ]
    assert binding["roleRef"]["kind"] == "Role"
    assert binding["subjects"][0]["name"] == SYNCER_ID
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert "--leader-elect" in container["args"]
    assert container["env"] == [
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}
    ]


def test_the_lease_name_is_the_one_syncpipe_run_holds():
    from types import SimpleNamespace

    from syncpipe.runtime import wiring

    for name in ("edge1", "a" * 70, "Edge_1.x"):
        fake_syncer = SimpleNamespace(settings=SimpleNamespace(syncer_name=name), downstream=None)
        elector = wiring.leader_elector(fake_syncer, namespace="ns")
        assert manifest.lease_name(name) == elector.name
