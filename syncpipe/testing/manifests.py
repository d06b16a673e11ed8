"""Manifests for tests: small workloads, reading them from YAML, the config selecting them.

The factories make objects the test suites create on real API servers and state to the
offline harness; ``manifests_of`` reads dicts and YAML strings alike; ``select_everything`` is
the SyncerConfig selecting exactly some manifests.
"""

from __future__ import annotations

from typing import Any

import yaml

from syncpipe.config import configapi, manifests
from syncpipe.config.documents import located_objects, objects_of
from syncpipe.model.objects import RawObject

Manifest = RawObject | str
"""An object as a dict, or YAML text holding any number of them."""


def manifests_of(*items: Manifest) -> list[RawObject]:
    """Objects from dicts and YAML strings (multi-document; ``kind: List`` unpacked)."""
    found: list[RawObject] = []
    for item in items:
        if isinstance(item, str):
            found.extend(dict(obj) for _, obj in located_objects(item, file="<manifest>"))
        else:
            found.extend(dict(obj) for _, obj in objects_of(item))
    return found


def select_everything(*items: Manifest, name: str = "everything") -> RawObject:
    """A SyncerConfig selecting exactly these objects and their namespaces, by name (what
    ``syncpipe config from-manifests`` writes)."""
    text = yaml.safe_dump_all(manifests_of(*items))
    objects = manifests.read_manifest_objects(text, file="<manifests>")
    config = manifests.syncer_config_selecting(manifests.resolve(objects), name=name)
    return config.to_dict()


def configmap(ns: str, name: str, data: dict[str, str], **meta: Any) -> dict[str, Any]:
    """A ConfigMap ``ns/name`` holding ``data``; ``meta`` adds metadata fields (labels...)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, **meta},
        "data": data,
    }


def deployment(ns: str, name: str) -> dict[str, Any]:
    """A one-replica Deployment ``ns/name`` of busybox, selecting ``app: name``."""
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "busybox", "args": ["sleep", "1"]}]},
            },
        },
    }


def crd(group: str, plural: str, kind: str, *, namespaced: bool, status: bool) -> dict[str, Any]:
    """A CRD ``plural.group`` serving ``v1alpha1`` (with a ``/status`` subresource if asked)."""
    version: dict[str, Any] = {
        "name": "v1alpha1",
        "served": True,
        "storage": True,
        "schema": {
            "openAPIV3Schema": {
                "type": "object",
                "properties": {
                    "spec": {"type": "object", "properties": {"foo": {"type": "string"}}},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                },
            }
        },
    }
    if status:
        version["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "names": {
                "plural": plural,
                "kind": kind,
                "singular": kind.lower(),
                "listKind": f"{kind}List",
            },
            "scope": "Namespaced" if namespaced else "Cluster",
            "versions": [version],
        },
    }


def cr(group: str, kind: str, name: str, namespace: str = "", **extra: Any) -> dict[str, Any]:
    """An object of a CRD made by ``crd``; ``extra`` adds top-level fields (spec...)."""
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": f"{group}/v1alpha1", "kind": kind, "metadata": meta, **extra}


def namespace_scope_config(
    name: str,
    namespaces: list[str],
    resources: tuple[tuple[str, str, str], ...] = (("", "v1", "configmaps"),),
    *,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A SyncerConfig selecting ``resources`` (group, version, resource) in ``namespaces``."""
    return {
        "apiVersion": configapi.API_VERSION,
        "kind": "SyncerConfig",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "namespaceScope": {
                "namespaces": namespaces,
                "resources": [
                    {"group": g, "resource": r, "apiVersion": v} for g, v, r in resources
                ],
            }
        },
    }


def status_crds(group: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two cluster-scoped CRDs of ``group``: ``withstatuses`` (kind ``WithStatus``, with a
    ``/status`` subresource) and ``withouts`` (kind ``Without``, without one)."""
    return (
        crd(group, "withstatuses", "WithStatus", namespaced=False, status=True),
        crd(group, "withouts", "Without", namespaced=False, status=False),
    )


def crd_first_config(name: str, group: str) -> dict[str, Any]:
    """A SyncerConfig selecting the ``status_crds`` of ``group`` by name, every ``WithStatus``
    object, and the ``Without`` named ``sample``."""
    return {
        "apiVersion": configapi.API_VERSION,
        "kind": "SyncerConfig",
        "metadata": {"name": name},
        "spec": {
            "clusterScope": [
                {
                    "group": "apiextensions.k8s.io",
                    "resource": "customresourcedefinitions",
                    "apiVersion": "v1",
                    "objects": [f"withstatuses.{group}", f"withouts.{group}"],
                },
                {
                    "group": group,
                    "resource": "withstatuses",
                    "apiVersion": "v1alpha1",
                    "objects": ["*"],
                },
                {
                    "group": group,
                    "resource": "withouts",
                    "apiVersion": "v1alpha1",
                    "objects": ["sample"],
                },
            ]
        },
    }
