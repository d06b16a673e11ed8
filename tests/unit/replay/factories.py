"""Factories for replay tests: discovery, headers, records and objects as servers send them."""

from __future__ import annotations

from typing import Any

from syncpipe.model.events import Side
from syncpipe.model.resources import GroupVersionResource, ResourceInfo
from syncpipe.replay.snapshot import Header, Record, RecordedResource, RecordType, SideInfo

VERBS = frozenset({"create", "delete", "get", "list", "patch", "update", "watch"})
NS = GroupVersionResource("", "v1", "namespaces")
CM = GroupVersionResource("", "v1", "configmaps")
SECRETS = GroupVersionResource("", "v1", "secrets")
DEPLOY = GroupVersionResource("apps", "v1", "deployments")
CRDS = GroupVersionResource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
SYNCER_CONFIGS = GroupVersionResource("edge.kubestellar.io", "v2alpha1", "syncerconfigs")

DISCOVERY = (
    ResourceInfo(gvr=NS, kind="Namespace", namespaced=False, status_subresource=True, verbs=VERBS),
    ResourceInfo(gvr=CM, kind="ConfigMap", namespaced=True, verbs=VERBS),
    ResourceInfo(gvr=SECRETS, kind="Secret", namespaced=True, verbs=VERBS),
    ResourceInfo(
        gvr=DEPLOY, kind="Deployment", namespaced=True, status_subresource=True, verbs=VERBS
    ),
    ResourceInfo(
        gvr=CRDS,
        kind="CustomResourceDefinition",
        namespaced=False,
        status_subresource=True,
        verbs=VERBS,
    ),
    ResourceInfo(
        gvr=SYNCER_CONFIGS,
        kind="SyncerConfig",
        namespaced=False,
        status_subresource=True,
        verbs=VERBS,
    ),
)
INFO = {info.gvr: info for info in DISCOVERY}
PREFERRED = {
    "": "v1",
    "apps": "v1",
    "apiextensions.k8s.io": "v1",
    "edge.kubestellar.io": "v2alpha1",
}
RECORDED_AT = "2026-01-01T00:00:00Z"


def side_info() -> SideInfo:
    return SideInfo(server_version="v1.20.2", discovery=DISCOVERY, preferred_versions=PREFERRED)


def header(
    *,
    upstream: tuple[GroupVersionResource, ...] = (NS, CM, DEPLOY),
    downstream: tuple[GroupVersionResource, ...] = (NS, CM, DEPLOY),
    configs: tuple[dict[str, Any], ...] = (),
    upstream_extra: tuple[ResourceInfo, ...] = (),
) -> Header:
    """A header: both sides serve ``DISCOVERY`` (upstream also ``upstream_extra``)."""
    resources = [RecordedResource(side=Side.UPSTREAM, info=INFO[g]) for g in upstream]
    resources += [RecordedResource(side=Side.DOWNSTREAM, info=INFO[g]) for g in downstream]
    up = SideInfo(
        server_version="v1.20.2",
        discovery=(*DISCOVERY, *upstream_extra),
        preferred_versions=PREFERRED,
    )
    return Header(
        recorded_at=RECORDED_AT,
        sides={Side.UPSTREAM: up, Side.DOWNSTREAM: side_info()},
        resources=resources,
        syncer_configs=configs,
    )


def listed(
    side: Side, gvr: GroupVersionResource, *objs: dict[str, Any], rv: str = "100", t: float = 0.0
) -> list[Record]:
    """The initial list of one collection: its LIST records and the SYNCED mark."""
    out = [Record(t=t, side=side, type=RecordType.LIST, gvr=gvr, object=o) for o in objs]
    out.append(Record(t=t, side=side, type=RecordType.SYNCED, gvr=gvr, resource_version=rv))
    return out


def event(
    t: float, side: Side, kind: str, gvr: GroupVersionResource, obj: dict[str, Any], **kw: Any
) -> Record:
    return Record(t=t, side=side, type=RecordType(kind), gvr=gvr, object=obj, **kw)


def syncer_config(
    name: str, namespaces: list[str], resources: list[tuple[str, str, str]]
) -> dict[str, Any]:
    return {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "SyncerConfig",
        "metadata": {"name": name},
        "spec": {
            "namespaceScope": {
                "namespaces": namespaces,
                "resources": [
                    {"group": g, "apiVersion": v, "resource": r} for g, v, r in resources
                ],
            }
        },
    }


CONFIG = syncer_config("cfg", ["shop"], [("", "v1", "configmaps"), ("apps", "v1", "deployments")])

_rv = [100]


def served(obj: dict[str, Any], *, uid: str = "", rv: str = "") -> dict[str, Any]:
    """``obj`` as a server serves it: uid, resourceVersion, creationTimestamp."""
    _rv[0] += 1
    meta = {
        **obj["metadata"],
        "uid": uid or f"uid-{obj['metadata']['name']}",
        "resourceVersion": rv or str(_rv[0]),
        "creationTimestamp": "2025-12-31T00:00:00Z",
    }
    return {**obj, "metadata": meta}


def namespace(name: str, **meta: Any) -> dict[str, Any]:
    return served({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, **meta}})


def configmap(ns: str, name: str, data: dict[str, str], **meta: Any) -> dict[str, Any]:
    return served(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns, **meta},
            "data": data,
        }
    )


def deployment(
    ns: str, name: str, image: str = "nginx:1", status: dict[str, Any] | None = None
) -> dict[str, Any]:
    labels = {"app": name}
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "generation": 1},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": image}]},
            },
        },
    }
    if status is not None:
        obj["status"] = status
    return served(obj)


def crd(
    group: str, plural: str, kind: str, *, status: bool = True, as_served: bool = True
) -> dict[str, Any]:
    version: dict[str, Any] = {"name": "v1", "served": True, "storage": True}
    if status:
        version["subresources"] = {"status": {}}
    body = {
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
            "scope": "Namespaced",
            "versions": [version],
        },
    }
    return served(body) if as_served else body


def custom(group: str, kind: str, ns: str, name: str, **fields: Any) -> dict[str, Any]:
    return served(
        {
            "apiVersion": f"{group}/v1",
            "kind": kind,
            "metadata": {"name": name, "namespace": ns},
            **fields,
        }
    )
