"""Remove what the source server populated, so the target server can populate its own.

Stripped everywhere: identity and bookkeeping the server owns (uid, resourceVersion,
generation, creationTimestamp, managedFields, selfLink, deletion fields), ownerReferences (their
UIDs name objects on the *other* side: the target's garbage collector would delete the copy)
and ``status`` (it flows the other way, through status return). Per kind, fields the server
allocates: a Service's cluster IPs (unless headless) and node ports, a ServiceAccount's token
secret list, a Pod's node, a Job's generated selector, the rules of an aggregated ClusterRole.
"""

from __future__ import annotations

from typing import Any

from syncpipe.hooks import hookimpl
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.transforms import Phase, Transform
from syncpipe.model.objects import RawObject

SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
)
# kcp adds this to every object of a workspace; it means nothing on another server.
FOREIGN_ANNOTATIONS = ("kcp.io/cluster",)
JOB_GENERATED_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid")


def _strip_metadata(obj: RawObject) -> RawObject:
    meta = obj.get("metadata") or {}
    new_meta = {k: v for k, v in meta.items() if k not in SERVER_METADATA}
    annotations = meta.get("annotations")
    if annotations and any(a in annotations for a in FOREIGN_ANNOTATIONS):
        kept = {k: v for k, v in annotations.items() if k not in FOREIGN_ANNOTATIONS}
        if kept:
            new_meta["annotations"] = kept
        else:
            new_meta.pop("annotations", None)
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": new_meta}


def _strip_kind_specific(obj: RawObject) -> RawObject:
    kind = obj.get("kind")
    api_version = obj.get("apiVersion")
    spec = obj.get("spec")
    if kind == "Service" and api_version == "v1" and isinstance(spec, dict):
        return {**obj, "spec": _strip_service_allocations(spec)}
    if kind == "ClusterRole" and "aggregationRule" in obj and "rules" in obj:
        # The aggregation controller of each cluster computes ``rules`` from the labels of the
        # ClusterRoles there; copying the upstream result would fight the downstream one.
        return {k: v for k, v in obj.items() if k != "rules"}
    elif kind == "ServiceAccount" and api_version == "v1" and "secrets" in obj:
        return {k: v for k, v in obj.items() if k != "secrets"}
    elif kind == "Pod" and api_version == "v1" and isinstance(spec, dict) and "nodeName" in spec:
        return {**obj, "spec": {k: v for k, v in spec.items() if k != "nodeName"}}
    elif (
        kind == "Job"
        and isinstance(api_version, str)
        and api_version.startswith("batch/")
        and isinstance(spec, dict)
        and not spec.get("manualSelector")
    ):
        return _strip_job_selector(obj, spec)
    return obj


def _strip_service_allocations(spec: dict[str, Any]) -> dict[str, Any]:
    """A Service spec without what the source server allocated: cluster IPs (unless headless)
    and node ports (the target cluster allocates its own; copied ones may collide there)."""
    drop = {"healthCheckNodePort"}
    if spec.get("clusterIP") not in (None, "None"):
        drop |= {"clusterIP", "clusterIPs"}
    new_spec = {k: v for k, v in spec.items() if k not in drop}
    ports = spec.get("ports")
    if isinstance(ports, list) and any(isinstance(p, dict) and "nodePort" in p for p in ports):
        new_spec["ports"] = [
            {k: v for k, v in p.items() if k != "nodePort"} if isinstance(p, dict) else p
            for p in ports
        ]
    return new_spec


def _strip_job_selector(obj: RawObject, spec: dict[str, object]) -> RawObject:
    new_spec = {k: v for k, v in spec.items() if k != "selector"}
    template = spec.get("template")
    if isinstance(template, dict):
        tmeta = template.get("metadata") or {}
        labels = tmeta.get("labels") or {}
        kept = {k: v for k, v in labels.items() if k not in JOB_GENERATED_LABELS}
        new_spec["template"] = {**template, "metadata": {**tmeta, "labels": kept}}
    return {**obj, "spec": new_spec}


def strip_for_target(obj: RawObject, _ctx: SyncContext) -> RawObject:
    """The source object without what the source server populated."""
    return _strip_kind_specific(_strip_metadata(obj))


@hookimpl
def syncpipe_register_transforms() -> list[Transform]:
    return [
        Transform(
            name="strip-server-fields",
            forward=strip_for_target,
            reverse=strip_for_target,
            phase=Phase.STRIP,
            plugin="builtin.strip",
        )
    ]
