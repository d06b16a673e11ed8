"""The edge cluster's manifest: what ``kubectl apply -f`` installs to run the syncer there.

Six objects, in the order they must be created: the Namespace; the ServiceAccount the syncer
runs as (its identity in the edge cluster, with the in-cluster token the pod is given); the
Secret holding the upstream kubeconfig; the ClusterRole and its binding (``rbac`` decides the
rules); and the Deployment. Unlike the original (reference §3.4) there is no downstream token
Secret: the pod gets a projected, rotating ServiceAccount token from the kubelet.

Rendering is deterministic (no timestamps, no random values, keys in a fixed order), so running
syncer-gen again with the same inputs writes the same bytes and ``kubectl apply`` changes nothing.

The Deployment runs ``syncpipe run`` with the upstream kubeconfig mounted read-only and no
downstream kubeconfig, so the downstream side is the pod's own ServiceAccount. It is hardened
for Pod Security "restricted": non-root (UID 65532), no privilege escalation, every capability
dropped, the RuntimeDefault seccomp profile, a read-only root filesystem (a small ``/tmp``
emptyDir is writable: the Kubernetes client writes the CA it is given to a temporary file).
One replica by default, without leader election: two syncers with one identity would fight
over the same copies. More replicas (standbys for a fast failover) turn leader election on
(``syncpipe run --leader-elect``): the Lease lives in the syncer's namespace, and a Role and
RoleBinding there (placed before the Deployment) allow exactly that Lease. The strategy stays
``Recreate`` also then: only the leader reports ready, so a rolling update would wait forever
for a standby to become ready.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import yaml

from syncpipe.bootstrap import rbac
from syncpipe.bootstrap.identity import SyncerIdentity
from syncpipe.builtin import ownership
from syncpipe.config.settings import DEFAULT_MAX_NAMESPACED_WATCHES

SECRET_KEY = "kubeconfig"  # noqa: S105 - a key name, not a secret
"""The key of the upstream kubeconfig in the Secret (the original's ``SyncerSecretConfigKey``)."""
KUBECONFIG_DIR = "/kubestellar"
KUBECONFIG_PATH = f"{KUBECONFIG_DIR}/{SECRET_KEY}"
HEALTH_PORT = 8080
CONTAINER = "syncer"
NON_ROOT_UID = 65532  # the "nonroot" user of distroless images; the Containerfile uses it too
# More replicas than this need leader election (one writer at a time).
MAX_REPLICAS_WITHOUT_ELECTION = 1

KIND_ORDER = (
    "Namespace",
    "ServiceAccount",
    "Secret",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",  # with leader election only
    "RoleBinding",  # with leader election only
    "Deployment",
)


def lease_name(syncer_name: str) -> str:
    """The Lease ``syncpipe run --leader-elect --syncer-name NAME`` holds.

    It must equal the name ``runtime.wiring.leader_elector`` computes (a unit test checks).
    """
    return f"syncpipe-{ownership.owner_label_value(syncer_name)}"[:63].rstrip("-.")


def _rules(values: Iterable[rbac.Rule]) -> tuple[rbac.Rule, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class EdgeManifest:
    """Everything that decides the manifest's content."""

    identity: SyncerIdentity
    image: str = attrs.field(validator=attrs.validators.min_len(1))
    upstream_kubeconfig: str
    rules: tuple[rbac.Rule, ...] = attrs.field(converter=_rules)
    namespace: str = ""  # default: the syncer id
    replicas: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    leader_election: bool = False
    namespace_mapping: str = ""  # passed to ``syncpipe run`` when set
    # Passed to ``syncpipe run`` when not its default: the upstream Roles assume it.
    max_namespaced_watches: int = DEFAULT_MAX_NAMESPACED_WATCHES
    syncer_config_selector: str = ""  # passed to ``syncpipe run`` when set
    image_pull_policy: str = "IfNotPresent"

    def __attrs_post_init__(self) -> None:
        if self.replicas > MAX_REPLICAS_WITHOUT_ELECTION and not self.leader_election:
            raise ValueError(
                f"replicas={self.replicas} needs leader election: two syncers with one "
                "identity would otherwise write the same objects at once"
            )

    @property
    def target_namespace(self) -> str:
        return self.namespace or self.identity.id


def _meta(spec: EdgeManifest, name: str, *, namespaced: bool) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespaced:
        metadata["namespace"] = spec.target_namespace
    metadata["labels"] = {
        **spec.identity.labels,
        "app.kubernetes.io/name": "kubestellar-syncer",
        "app.kubernetes.io/instance": spec.identity.id,
    }
    return metadata


def syncer_args(spec: EdgeManifest) -> list[str]:
    """The container's arguments (the image's entry point is ``syncpipe``)."""
    args = [
        "run",
        "--upstream-kubeconfig",
        KUBECONFIG_PATH,
        "--syncer-name",
        spec.identity.name,
        "--health-address",
        f"0.0.0.0:{HEALTH_PORT}",
    ]
    if spec.namespace_mapping:
        args += ["--namespace-mapping", spec.namespace_mapping]
    if spec.max_namespaced_watches != DEFAULT_MAX_NAMESPACED_WATCHES:
        args += ["--max-namespaced-watches", str(spec.max_namespaced_watches)]
    if spec.syncer_config_selector:
        args += ["--syncer-config-selector", spec.syncer_config_selector]
    if spec.leader_election:
        args.append("--leader-elect")  # the Lease's namespace: $POD_NAMESPACE
    return args


def _deployment(spec: EdgeManifest) -> dict[str, Any]:
    syncer_id = spec.identity.id
    pod_labels = {"app": syncer_id}
    probe_port = {"port": "health", "scheme": "HTTP"}
    container = {
        "name": CONTAINER,
        "image": spec.image,
        "imagePullPolicy": spec.image_pull_policy,
        "args": syncer_args(spec),
        **(
            {
                "env": [
                    {
                        "name": "POD_NAMESPACE",
                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
                    }
                ]
            }
            if spec.leader_election
            else {}
        ),
        "ports": [{"name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP"}],
        # Alive: the control loop turns. Generous: the first discovery of a big API may be slow.
        "livenessProbe": {
            "httpGet": {"path": "/healthz", **probe_port},
            "initialDelaySeconds": 15,
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 6,
        },
        # Ready: the caches are filled and the first round of writes is done.
        "readinessProbe": {
            "httpGet": {"path": "/readyz", **probe_port},
            "periodSeconds": 5,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": NON_ROOT_UID,
            "runAsGroup": NON_ROOT_UID,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "upstream-kubeconfig", "mountPath": KUBECONFIG_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},  # a private emptyDir
        ],
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(spec, syncer_id, namespaced=True),
        "spec": {
            "replicas": spec.replicas,
            # Never two writing syncers at once during a rollout; with leader election only
            # the leader is ready, which a rolling update would wait for forever.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": pod_labels},
            "template": {
                "metadata": {"labels": {**pod_labels, **spec.identity.labels}},
                "spec": {
                    "serviceAccountName": syncer_id,
                    "automountServiceAccountToken": True,
                    # The syncer drains in-flight writes on SIGTERM within 30 s.
                    "terminationGracePeriodSeconds": 40,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": NON_ROOT_UID,
                        "runAsGroup": NON_ROOT_UID,
                        "fsGroup": NON_ROOT_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "upstream-kubeconfig",
                            "secret": {
                                "secretName": syncer_id,
                                "items": [{"key": SECRET_KEY, "path": SECRET_KEY}],
                                "defaultMode": 0o440,
                            },
                        },
                        {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
                    ],
                },
            },
        },
    }


def edge_objects(spec: EdgeManifest) -> list[dict[str, Any]]:
    """The manifest's objects, in ``KIND_ORDER``."""
    syncer_id = spec.identity.id
    namespace_meta = _meta(spec, spec.target_namespace, namespaced=False)
    # The pod complies with Pod Security "restricted"; say so where the cluster enforces it.
    namespace_meta["labels"]["pod-security.kubernetes.io/enforce"] = "restricted"
    cluster_role_meta = _meta(spec, syncer_id, namespaced=False)
    cluster_role_meta["annotations"] = {rbac.REASONS_ANNOTATION: rbac.reasons_text(spec.rules)}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": namespace_meta},
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(spec, syncer_id, namespaced=True),
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": _meta(spec, syncer_id, namespaced=True),
            "type": "Opaque",
            # ``data``, not ``stringData``: kubectl's client-side apply reports a Secret with
            # ``stringData`` as "configured" on every re-apply (the live object only has
            # ``data``), which would hide whether anything really changed.
            "data": {SECRET_KEY: base64.b64encode(spec.upstream_kubeconfig.encode()).decode()},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": cluster_role_meta,
            "rules": rbac.rule_dicts(spec.rules),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": _meta(spec, syncer_id, namespaced=False),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": syncer_id,
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": syncer_id, "namespace": spec.target_namespace}
            ],
        },
        *(_leader_election_objects(spec) if spec.leader_election else []),
        _deployment(spec),
    ]


def _leader_election_objects(spec: EdgeManifest) -> list[dict[str, Any]]:
    syncer_id = spec.identity.id
    rules = rbac.leader_election_rules(lease_name(spec.identity.name))
    role_meta = _meta(spec, syncer_id, namespaced=True)
    role_meta["annotations"] = {rbac.REASONS_ANNOTATION: rbac.reasons_text(rules)}
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": role_meta,
            "rules": rbac.rule_dicts(rules),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _meta(spec, syncer_id, namespaced=True),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": syncer_id,
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": syncer_id, "namespace": spec.target_namespace}
            ],
        },
    ]


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings, so the rule reasons stay readable."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _represent_str)


def to_yaml(objects: Sequence[dict[str, Any]], *, header: str = "") -> str:
    """A multi-document YAML stream; ``header`` lines become comments at the top."""
    lines = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    documents = [
        yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)
        for obj in objects
    ]
    return lines + "".join(f"---\n{doc}" for doc in documents)


def render(spec: EdgeManifest) -> str:
    """The whole manifest as YAML, with a header that says what it is and how to use it."""
    header = (
        f"The edge-cluster side of syncer {spec.identity.name!r} ({spec.identity.id}),\n"
        "made by `syncpipe syncer-gen`. It holds a token for the mailbox workspace: keep it\n"
        "private. Install with `kubectl apply -f FILE`, remove with `kubectl delete -f FILE`."
    )
    return to_yaml(edge_objects(spec), header=header)
