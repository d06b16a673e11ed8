"""Create or update the syncer's identity in the mailbox workspace, idempotently.

Every ``ensure_*`` function reads the object first and writes only what differs, and returns
what it did (``Outcome``), so a re-run of syncer-gen that has nothing to change changes nothing
and says so. Objects are found again by name (the syncer id) and the id itself by the label on
the ServiceAccount (``identity.SYNCER_GEN_LABEL``).

The token: since Kubernetes 1.24 a ServiceAccount no longer gets a token Secret by itself, and a
TokenRequest token expires. syncer-gen creates a Secret of type
``kubernetes.io/service-account-token`` annotated with the ServiceAccount's name, which the
token controller (kube-controller-manager's ``serviceaccount-token``, present on every server
version) fills with a non-expiring token that stays valid exactly as long as the Secret and the
ServiceAccount exist: deleting either revokes it.
"""

from __future__ import annotations

import base64
import enum
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from syncpipe import errors
from syncpipe.bootstrap import rbac
from syncpipe.bootstrap.identity import SyncerIdentity
from syncpipe.clients.rest import RestClient
from syncpipe.config import configapi, crds
from syncpipe.model.objects import RawObject, annotations_of, labels_of, meta, uid_of
from syncpipe.model.resources import CRD_GVR, NAMESPACE_GVR, GroupVersionResource

log = logging.getLogger(__name__)

SERVICE_ACCOUNTS = GroupVersionResource("", "v1", "serviceaccounts")
SECRETS = GroupVersionResource("", "v1", "secrets")
RBAC_GROUP = "rbac.authorization.k8s.io"
CLUSTER_ROLES = GroupVersionResource(RBAC_GROUP, "v1", "clusterroles")
CLUSTER_ROLE_BINDINGS = GroupVersionResource(RBAC_GROUP, "v1", "clusterrolebindings")
ROLES = GroupVersionResource(RBAC_GROUP, "v1", "roles")
ROLE_BINDINGS = GroupVersionResource(RBAC_GROUP, "v1", "rolebindings")

TOKEN_SECRET_TYPE = "kubernetes.io/service-account-token"  # noqa: S105 - a type name
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
SA_UID_ANNOTATION = "kubernetes.io/service-account.uid"

T = TypeVar("T")


class Outcome(enum.Enum):
    """What an ``ensure_*`` call did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def wait_until(
    predicate: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.2,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Poll ``predicate`` until it returns a value other than ``None``/falsy, or fail."""
    deadline = clock() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if clock() >= deadline:
            raise errors.BootstrapError(f"gave up after {timeout:g}s waiting for {what}")
        sleep(interval)


def token_secret_name(identity: SyncerIdentity) -> str:
    return f"{identity.id}-token"


# -- the identity ------------------------------------------------------------------------------


def find_identities(rest: RestClient, namespace: str, name: str) -> list[SyncerIdentity]:
    """Identities made for ``name`` by earlier runs, oldest first (normally zero or one)."""
    probe = SyncerIdentity.new(name)
    items, _ = rest.list(SERVICE_ACCOUNTS, namespace, label_selector=probe.selector)
    found = []
    for item in sorted(
        items, key=lambda o: (str(meta(o).get("creationTimestamp", "")), str(meta(o)["name"]))
    ):
        identity = SyncerIdentity.from_id(name, str(meta(item)["name"]))
        if identity is not None:
            found.append(identity)
    return found


def existing_namespaces(rest: RestClient, namespaces: Sequence[str]) -> list[str]:
    """Those of ``namespaces`` that exist upstream."""
    return [ns for ns in namespaces if rest.get_or_none(NAMESPACE_GVR, "", ns) is not None]


def ensure_namespace(rest: RestClient, namespace: str) -> Outcome:
    """The namespace of the upstream ServiceAccount (usually ``default``, which exists)."""
    if rest.get_or_none(NAMESPACE_GVR, "", namespace) is not None:
        return Outcome.UNCHANGED
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    try:
        rest.create(NAMESPACE_GVR, "", body)
    except errors.ApiAlreadyExists:
        return Outcome.UNCHANGED
    return Outcome.CREATED


def _missing_labels(obj: RawObject, wanted: Mapping[str, str]) -> dict[str, str]:
    have = labels_of(obj)
    return {k: v for k, v in wanted.items() if have.get(k) != v}


def ensure_service_account(
    rest: RestClient, identity: SyncerIdentity, namespace: str
) -> tuple[Outcome, RawObject]:
    """The ServiceAccount the syncer authenticates as upstream; returns it as stored."""
    existing = rest.get_or_none(SERVICE_ACCOUNTS, namespace, identity.id)
    if existing is None:
        body = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": identity.id, "namespace": namespace, "labels": identity.labels},
        }
        return Outcome.CREATED, rest.create(SERVICE_ACCOUNTS, namespace, body)
    missing = _missing_labels(existing, identity.labels)
    if not missing:
        return Outcome.UNCHANGED, existing
    patched = rest.merge_patch(
        SERVICE_ACCOUNTS, namespace, identity.id, {"metadata": {"labels": missing}}
    )
    return Outcome.UPDATED, patched


def cluster_role_body(
    identity: SyncerIdentity, rules: Sequence[rbac.Rule], *, namespace: str = ""
) -> RawObject:
    """The upstream ClusterRole (or, in ``namespace``, Role), each rule's reason annotated."""
    metadata: dict[str, Any] = {
        "name": identity.id,
        "labels": identity.labels,
        "annotations": {rbac.REASONS_ANNOTATION: rbac.reasons_text(rules)},
    }
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": "Role" if namespace else "ClusterRole",
        "metadata": metadata,
        "rules": rbac.rule_dicts(rules),
    }


def _same_rules(stored: Sequence[Mapping[str, Any]], wanted: Sequence[Mapping[str, Any]]) -> bool:
    # The server stores rules as given but drops empty lists; compare on what it keeps.
    def normal(rule: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in rule.items() if v}

    return [normal(r) for r in stored] == [normal(r) for r in wanted]


def ensure_cluster_role(
    rest: RestClient, identity: SyncerIdentity, rules: Sequence[rbac.Rule], *, namespace: str = ""
) -> Outcome:
    """The upstream ClusterRole (or Role in ``namespace``): created, or replaced when its
    rules (or reasons) changed."""
    body = cluster_role_body(identity, rules, namespace=namespace)
    gvr = ROLES if namespace else CLUSTER_ROLES
    existing = rest.get_or_none(gvr, namespace, identity.id)
    if existing is None:
        rest.create(gvr, namespace, body)
        return Outcome.CREATED
    same = (
        _same_rules(existing.get("rules") or [], body["rules"])
        and not _missing_labels(existing, identity.labels)
        and annotations_of(existing).get(rbac.REASONS_ANNOTATION)
        == body["metadata"]["annotations"][rbac.REASONS_ANNOTATION]
    )
    if same:
        return Outcome.UNCHANGED
    replacement = {
        **body,
        "metadata": {
            **body["metadata"],
            "labels": {**labels_of(existing), **identity.labels},
            "annotations": {**annotations_of(existing), **body["metadata"]["annotations"]},
            "resourceVersion": meta(existing)["resourceVersion"],
        },
    }
    rest.replace(gvr, namespace, identity.id, replacement)
    return Outcome.UPDATED


def ensure_cluster_role_binding(
    rest: RestClient, identity: SyncerIdentity, namespace: str, *, role_namespace: str = ""
) -> Outcome:
    """Bind the ClusterRole (or the Role in ``role_namespace``) to the ServiceAccount of
    ``namespace``; a binding to another role is remade."""
    kind = "Role" if role_namespace else "ClusterRole"
    gvr = ROLE_BINDINGS if role_namespace else CLUSTER_ROLE_BINDINGS
    role_ref = {"apiGroup": RBAC_GROUP, "kind": kind, "name": identity.id}
    subjects = [{"kind": "ServiceAccount", "name": identity.id, "namespace": namespace}]
    metadata: dict[str, Any] = {"name": identity.id, "labels": identity.labels}
    if role_namespace:
        metadata["namespace"] = role_namespace
    body: RawObject = {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": f"{kind}Binding",
        "metadata": metadata,
        "roleRef": role_ref,
        "subjects": subjects,
    }
    existing = rest.get_or_none(gvr, role_namespace, identity.id)
    if existing is None:
        rest.create(gvr, role_namespace, body)
        return Outcome.CREATED
    if existing.get("roleRef") != role_ref:
        # roleRef is immutable: the only way to change it is a new binding.
        rest.delete(gvr, role_namespace, identity.id, uid=uid_of(existing))
        rest.create(gvr, role_namespace, body)
        return Outcome.UPDATED
    if existing.get("subjects") == subjects and not _missing_labels(existing, identity.labels):
        return Outcome.UNCHANGED
    replacement = {
        **body,
        "metadata": {
            **body["metadata"],
            "labels": {**labels_of(existing), **identity.labels},
            "resourceVersion": meta(existing)["resourceVersion"],
        },
    }
    rest.replace(gvr, role_namespace, identity.id, replacement)
    return Outcome.UPDATED


def remove_stale_roles(
    rest: RestClient, identity: SyncerIdentity, keep: Sequence[str]
) -> list[str]:
    """Delete this identity's Roles and RoleBindings in namespaces not in ``keep`` (a config
    no longer names them); returns those namespaces."""
    selector = ",".join(f"{k}={v}" for k, v in sorted(identity.labels.items()))
    removed: set[str] = set()
    for gvr in (ROLE_BINDINGS, ROLES):
        found, _ = rest.list(gvr, label_selector=selector)
        for obj in found:
            namespace = str(meta(obj).get("namespace", ""))
            if meta(obj).get("name") == identity.id and namespace not in keep:
                rest.delete(gvr, namespace, identity.id, uid=uid_of(obj))
                removed.add(namespace)
    return sorted(removed)


def _token_of(secret: RawObject | None) -> str | None:
    if secret is None:
        return None
    encoded = (secret.get("data") or {}).get("token")
    return base64.b64decode(encoded).decode("ascii") if encoded else None


def ensure_token(
    rest: RestClient,
    identity: SyncerIdentity,
    namespace: str,
    *,
    service_account_uid: str,
    timeout: float,
) -> tuple[Outcome, str]:
    """The ServiceAccount's long-lived token, from a Secret the token controller fills.

    A token Secret left over from a deleted namesake ServiceAccount (its uid annotation says
    so) holds a revoked token: it is replaced.
    """
    name = token_secret_name(identity)
    existing = rest.get_or_none(SECRETS, namespace, name)
    outcome = Outcome.UNCHANGED
    if existing is not None:
        stale_uid = annotations_of(existing).get(SA_UID_ANNOTATION)
        if existing.get("type") != TOKEN_SECRET_TYPE or (
            stale_uid and stale_uid != service_account_uid
        ):
            log.info("replacing token Secret %s/%s of another ServiceAccount", namespace, name)
            rest.delete(SECRETS, namespace, name, uid=uid_of(existing))
            wait_until(
                lambda: rest.get_or_none(SECRETS, namespace, name) is None,
                timeout=timeout,
                what=f"the old Secret {namespace}/{name} to be deleted",
            )
            existing = None
            outcome = Outcome.UPDATED
    if existing is None:
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": TOKEN_SECRET_TYPE,
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": identity.labels,
                "annotations": {SA_NAME_ANNOTATION: identity.id},
            },
        }
        rest.create(SECRETS, namespace, body)
        if outcome is Outcome.UNCHANGED:
            outcome = Outcome.CREATED
    token = _poll_token(rest, namespace, name, timeout=timeout)
    return outcome, token


def _poll_token(rest: RestClient, namespace: str, name: str, *, timeout: float) -> str:
    try:
        return wait_until(
            lambda: _token_of(rest.get_or_none(SECRETS, namespace, name)),
            timeout=timeout,
            what=f"the token controller to fill Secret {namespace}/{name}",
        )
    except errors.BootstrapError as exc:
        raise errors.BootstrapError(
            f"{exc}. The token is written by kube-controller-manager's serviceaccount-token "
            "controller: is it running for this server (kcp: in the workspace's shard)?"
        ) from exc


# -- the configuration APIs ---------------------------------------------------------------------


def ensure_crds(rest: RestClient, *, timeout: float) -> list[tuple[str, Outcome]]:
    """Install the SyncerConfig/EdgeSyncConfig CRDs where missing; wait until established."""
    done = []
    for manifest in crds.all_crd_manifests():
        name = str(manifest["metadata"]["name"])
        if rest.get_or_none(CRD_GVR, "", name) is not None:
            done.append((name, Outcome.UNCHANGED))
            continue
        try:
            rest.create(CRD_GVR, "", manifest)
            done.append((name, Outcome.CREATED))
        except errors.ApiAlreadyExists:
            done.append((name, Outcome.UNCHANGED))
    for name, _ in done:
        _wait_established(rest, name, timeout=timeout)
    return done


def _wait_established(rest: RestClient, name: str, *, timeout: float) -> None:
    def established() -> bool:
        return _established(rest.get(CRD_GVR, "", name))

    wait_until(established, timeout=timeout, what=f"CRD {name} to be established")


def _established(crd: RawObject) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def custom_resources(rest: RestClient) -> set[rbac.GroupResource]:
    """The resources served by CRDs upstream (only these can lack a ``/status`` with status)."""
    items, _ = rest.list(CRD_GVR)
    return {
        rbac.GroupResource(str(item["spec"]["group"]), str(item["spec"]["names"]["plural"]))
        for item in items
    }


EDGE_SYNC_CONFIGS = configapi.EDGE_SYNC_CONFIGS


def ensure_default_edge_sync_config(rest: RestClient, name: str) -> Outcome:
    """An empty EdgeSyncConfig named after the syncer, as KubeStellar's syncer-gen leaves one.

    It selects nothing (the merge of every config makes it harmless) but tools and tests that
    look for the syncer's registration by it find it.
    """
    if rest.get_or_none(EDGE_SYNC_CONFIGS, "", name) is not None:
        return Outcome.UNCHANGED
    body = {
        "apiVersion": configapi.API_VERSION,
        "kind": "EdgeSyncConfig",
        "metadata": {"name": name},
        "spec": {},
    }
    try:
        rest.create(EDGE_SYNC_CONFIGS, "", body)
    except errors.ApiAlreadyExists:
        return Outcome.UNCHANGED
    return Outcome.CREATED
