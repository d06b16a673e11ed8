"""Manifests, GVRs and waits shared by the end-to-end tests.

Every object a test creates carries the label ``e2e.syncpipe.io/test: <unique_name>`` so the
teardown in ``conftest.py`` can remove it from both control planes (the copies downstream carry
it too, since labels are synced).
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from syncpipe import errors
from syncpipe.clients.rest import RestClient
from syncpipe.model.resources import GroupVersionResource
from syncpipe.testing import wait_for

T = TypeVar("T")


def run_args(upstream: Any, downstream: Any, *extra: str) -> list[str]:
    """``python -m syncpipe run`` between the test planes (``upstream``/``downstream`` are the
    control-plane fixtures) with ``extra`` flags."""
    return command_args(upstream, downstream, "run", *extra)


def command_args(upstream: Any, downstream: Any, command: str, *extra: str) -> list[str]:
    """``python -m syncpipe COMMAND`` between the test planes with ``extra`` flags."""
    return [sys.executable, "-m", "syncpipe", command, *plane_flags(upstream, downstream), *extra]


def plane_flags(upstream: Any, downstream: Any) -> list[str]:
    """The flags that point a syncpipe command at the test planes (as their admin)."""
    return [
        "--upstream-kubeconfig",
        str(upstream.admin_kubeconfig),
        "--downstream-kubeconfig",
        str(downstream.admin_kubeconfig),
    ]


TEST_LABEL = "e2e.syncpipe.io/test"
DOWNSYNCED = "edge.kubestellar.io/downsynced"
UPSYNCED = "edge.kubestellar.io/upsynced"
OVERWRITE = "edge.kubestellar.io/downsync-overwrite"
OWNER_LABEL = "syncpipe.io/owner"

NS = GroupVersionResource("", "v1", "namespaces")
CM = GroupVersionResource("", "v1", "configmaps")
SECRETS = GroupVersionResource("", "v1", "secrets")
SERVICES = GroupVersionResource("", "v1", "services")
SERVICE_ACCOUNTS = GroupVersionResource("", "v1", "serviceaccounts")
DEPLOY = GroupVersionResource("apps", "v1", "deployments")
CRD = GroupVersionResource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
ROLES = GroupVersionResource("rbac.authorization.k8s.io", "v1", "roles")
ROLE_BINDINGS = GroupVersionResource("rbac.authorization.k8s.io", "v1", "rolebindings")
CLUSTER_ROLES = GroupVersionResource("rbac.authorization.k8s.io", "v1", "clusterroles")
CLUSTER_ROLE_BINDINGS = GroupVersionResource(
    "rbac.authorization.k8s.io", "v1", "clusterrolebindings"
)
SYNCER_CONFIGS = GroupVersionResource("edge.kubestellar.io", "v2alpha1", "syncerconfigs")
EDGE_SYNC_CONFIGS = GroupVersionResource("edge.kubestellar.io", "v2alpha1", "edgesyncconfigs")

# What the teardown deletes by label on both sides; namespaced objects go with their namespace.
LABELLED_CLUSTER_RESOURCES = (CRD, CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS, NS)

# Called by every wait: the running test's syncers register a check that raises at once when
# one of them exited by itself, instead of letting the wait run into its timeout.
liveness_checks: list[Callable[[], None]] = []


def check_syncers() -> None:
    for check in list(liveness_checks):
        check()


def wait_until(predicate: Callable[[], T], **kwargs: Any) -> T:
    """``wait_for`` that also fails fast when the syncer under test died."""

    def checked() -> T:
        check_syncers()
        return predicate()

    kwargs.setdefault("interval", 0.2)
    return wait_for(checked, **kwargs)


SYNC_TIMEOUT = 30.0  # the original's wait.ForeverTestTimeout
SLOW_TIMEOUT = 60.0  # waits that need a controller or a heartbeat


# -- manifests ---------------------------------------------------------------------------------


def labels(test: str, **extra: str) -> dict[str, str]:
    return {TEST_LABEL: test, **extra}


def namespace(name: str, test: str, **extra_labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels(test, **extra_labels)},
    }


def configmap(
    ns: str, name: str, data: dict[str, str], test: str, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "labels": labels(test)}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": dict(data)}


def secret(ns: str, name: str, data: dict[str, str], test: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": ns, "labels": labels(test)},
        "type": "Opaque",
        "data": dict(data),
    }


def deployment(ns: str, name: str, test: str, *, image: str = "busybox") -> dict[str, Any]:
    selector = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels(test, **selector)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": selector},
                "spec": {
                    "terminationGracePeriodSeconds": 3,
                    "containers": [
                        {"name": name, "image": image, "args": ["tail", "-f", "/dev/null"]}
                    ],
                },
            },
        },
    }


def group_for(test: str, base: str = "my.domain") -> str:
    """An API group of this test's own, so CRDs of different tests never collide."""
    return f"{test}.{base}"


def crd(
    group: str,
    plural: str,
    kind: str,
    test: str,
    *,
    scope: str = "Cluster",
    status_subresource: bool = True,
    version: str = "v1alpha1",
) -> dict[str, Any]:
    """A CRD like the original's sample CRDs: ``spec.foo`` string, ``status.{state,total}``."""
    schema = {
        "openAPIV3Schema": {
            "type": "object",
            "properties": {
                "spec": {"type": "object", "properties": {"foo": {"type": "string"}}},
                "status": {
                    "type": "object",
                    "properties": {"state": {"type": "string"}, "total": {"type": "integer"}},
                },
            },
        }
    }
    version_entry: dict[str, Any] = {
        "name": version,
        "served": True,
        "storage": True,
        "schema": schema,
    }
    if status_subresource:
        version_entry["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}", "labels": labels(test)},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {
                "plural": plural,
                "singular": kind.lower(),
                "kind": kind,
                "listKind": f"{kind}List",
            },
            "versions": [version_entry],
        },
    }


def open_crd(
    group: str, plural: str, kind: str, test: str, *, scope: str, version: str = "v1"
) -> dict[str, Any]:
    """A CRD whose objects may hold anything (Kyverno's are big; their shape is not the point)."""
    manifest = crd(group, plural, kind, test, scope=scope, status_subresource=True, version=version)
    manifest["spec"]["versions"][0]["schema"] = {
        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    }
    return manifest


def custom_object(
    group: str,
    kind: str,
    name: str,
    test: str,
    *,
    namespace: str = "",
    version: str = "v1alpha1",
    spec: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels(test)}
    if namespace:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = dict(annotations)
    obj: dict[str, Any] = {"apiVersion": f"{group}/{version}", "kind": kind, "metadata": meta}
    if spec is not None:
        obj["spec"] = copy.deepcopy(spec)
    return obj


def syncer_config(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "SyncerConfig",
        "metadata": {"name": name},
        "spec": copy.deepcopy(spec),
    }


def namespace_scope_config(
    name: str, namespaces: list[str], resources: list[dict[str, str]], **spec: Any
) -> dict[str, Any]:
    """A SyncerConfig selecting ``resources`` in ``namespaces`` (more ``spec`` sections too)."""
    scope = {"namespaces": list(namespaces), "resources": list(resources)}
    return syncer_config(name, {"namespaceScope": scope, **spec})


def edge_sync_config(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "EdgeSyncConfig",
        "metadata": {"name": name},
        "spec": copy.deepcopy(spec),
    }


def resource(group: str, plural: str, version: str = "v1") -> dict[str, str]:
    """A SyncerConfig resource entry."""
    return {"group": group, "resource": plural, "apiVersion": version}


# -- API helpers -------------------------------------------------------------------------------


def create_crd_and_wait(rest: RestClient, manifest: dict[str, Any]) -> GroupVersionResource:
    """Create a CRD and wait until its resource can be listed (the original's 1 s poll wait)."""
    rest.create(CRD, "", manifest)
    spec = manifest["spec"]
    gvr = GroupVersionResource(spec["group"], spec["versions"][0]["name"], spec["names"]["plural"])
    wait_for(
        lambda: rest.list(gvr) is not None,
        timeout=SYNC_TIMEOUT,
        interval=0.2,
        ignore=(errors.ApiError,),
        message=f"{gvr} not served after creating its CRD",
    )
    return gvr


def wait_get(
    rest: RestClient,
    gvr: GroupVersionResource,
    ns: str,
    name: str,
    *,
    timeout: float = SYNC_TIMEOUT,
    where: str = "downstream",
) -> dict[str, Any]:
    """Wait until ``gvr ns/name`` can be read, and return it."""
    return wait_until(
        lambda: rest.get_or_none(gvr, ns, name),
        timeout=timeout,
        interval=0.2,
        ignore=(errors.ApiError,),
        message=f"{where}: {gvr.resource} {ns}/{name} never appeared",
    )


def wait_gone(
    rest: RestClient,
    gvr: GroupVersionResource,
    ns: str,
    name: str,
    *,
    timeout: float = SYNC_TIMEOUT,
    where: str = "downstream",
) -> None:
    """Wait until ``gvr ns/name`` is NotFound (an object being deleted still counts as present)."""
    wait_until(
        lambda: rest.get_or_none(gvr, ns, name) is None,
        timeout=timeout,
        interval=0.2,
        ignore=(errors.ApiNotFound,),
        message=f"{where}: {gvr.resource} {ns}/{name} still exists",
    )


def wait_field(
    rest: RestClient,
    gvr: GroupVersionResource,
    ns: str,
    name: str,
    check: Any,
    *,
    timeout: float = SYNC_TIMEOUT,
    where: str = "downstream",
    what: str = "",
) -> dict[str, Any]:
    """Wait until ``check(obj)`` holds for ``gvr ns/name``; return the object."""
    last: dict[str, Any] = {}

    def ok() -> dict[str, Any] | None:
        obj = rest.get_or_none(gvr, ns, name)
        if obj is None:
            return None
        last["obj"] = obj
        return obj if check(obj) else None

    def describe() -> str:
        obj = last.get("obj")
        shown = None
        if obj is not None:
            shown = {k: v for k, v in obj.items() if k in ("data", "spec", "status")}
            shown["annotations"] = (obj.get("metadata") or {}).get("annotations")
            shown["labels"] = (obj.get("metadata") or {}).get("labels")
        return f"{where}: {gvr.resource} {ns}/{name}: {what or 'condition'} not met; last: {shown}"

    return wait_until(ok, timeout=timeout, message=describe)


def annotation(obj: dict[str, Any], key: str) -> str | None:
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(key)


def label(obj: dict[str, Any], key: str) -> str | None:
    return ((obj.get("metadata") or {}).get("labels") or {}).get(key)


def set_annotation(
    rest: RestClient, gvr: GroupVersionResource, ns: str, name: str, key: str, value: str
) -> None:
    rest.merge_patch(gvr, ns, name, {"metadata": {"annotations": {key: value}}})


def condition(rest: RestClient, name: str, type_: str) -> dict[str, Any] | None:
    """The condition ``type_`` on SyncerConfig ``name`` (None: no such config or condition)."""
    obj = rest.get_or_none(SYNCER_CONFIGS, "", name)
    if obj is None:
        return None
    for found in (obj.get("status") or {}).get("conditions") or ():
        if found.get("type") == type_:
            return dict(found)
    return None


def ready_condition(rest: RestClient, name: str) -> dict[str, Any] | None:
    return condition(rest, name, "Ready")


def wait_condition(
    rest: RestClient,
    name: str,
    type_: str,
    status: str,
    reason: str,
    *,
    timeout: float = SLOW_TIMEOUT,
) -> dict[str, Any]:
    """Wait until SyncerConfig ``name`` has condition ``type_`` with ``status`` and ``reason``."""
    last: dict[str, Any] = {}

    def matches() -> dict[str, Any] | None:
        found = condition(rest, name, type_)
        last["found"] = found
        if found and (found.get("status"), found.get("reason")) == (status, reason):
            return found
        return None

    return wait_until(
        matches,
        timeout=timeout,
        message=lambda: f"{type_} never became {status}/{reason}; last: {last.get('found')}",
    )


def create_when_served(
    rest: RestClient,
    gvr: GroupVersionResource,
    body: dict[str, Any],
    *,
    timeout: float = SYNC_TIMEOUT,
) -> dict[str, Any]:
    """Create ``body`` as soon as ``gvr`` is served (e.g. once a downsynced CRD is established)."""
    ns = (body.get("metadata") or {}).get("namespace", "")
    return wait_until(
        lambda: rest.create(gvr, ns, body),
        timeout=timeout,
        interval=0.2,
        ignore=(errors.ApiNotFound,),
        message=f"could not create {gvr.resource} {body['metadata']['name']}: API not served",
    )


def syncpipe_between_planes(
    upstream: Any, downstream: Any, command: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``command_args`` run to its end; ``env`` adds to the environment."""
    return syncpipe_command(command, *plane_flags(upstream, downstream), *args, env=env)


def syncpipe_command(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m syncpipe ARGS`` run to its end; ``env`` adds to the environment."""
    return subprocess.run(
        [sys.executable, "-m", "syncpipe", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
