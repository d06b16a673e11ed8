"""Deleting the namespaces syncpipe created implicitly downstream once nothing is left in them.

Implicit namespaces (made so an object had somewhere to go, not copies of an upstream
Namespace) carry our owner label but no source locator. One is deleted only when no owned
copy is in it and a list of every namespaced resource finds nothing: deleting a namespace
deletes everything in it, ours or not. A replay does not emulate this (see
``replay.engine``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from syncpipe import errors
from syncpipe.builtin import ownership
from syncpipe.clients.rest import RestClient
from syncpipe.model.events import Direction
from syncpipe.model.objects import RawObject, annotations_of, name_of
from syncpipe.model.resources import NAMESPACE_GVR, ResourceInfo
from syncpipe.runtime.pipeline import Pipeline

log = logging.getLogger(__name__)


def namespace_boilerplate(obj: RawObject) -> bool:
    """What the server itself puts in every namespace: not a reason to keep it."""
    name = name_of(obj)
    kind = obj.get("kind")
    if kind == "ServiceAccount" and name == "default":
        return True
    if kind == "ConfigMap" and name == "kube-root-ca.crt":
        return True
    return kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token"


def implicit_namespaces(owned: Iterable[RawObject], *, syncer_name: str) -> list[str]:
    """The names of ``owned`` namespaces that syncpipe made itself and that are not going."""
    return [
        name_of(ns)
        for ns in owned
        if ownership.SOURCE_ANNOTATION not in annotations_of(ns)
        and not (ns.get("metadata") or {}).get("deletionTimestamp")
        and ownership.is_owned(ns, syncer_name=syncer_name)
    ]


def collect_empty_namespaces(
    *,
    downstream: RestClient,
    pipeline: Pipeline,
    namespaced: Iterable[ResourceInfo] | None,
) -> bool:
    """Delete the empty implicit namespaces; False when it could not look (try again later).

    ``namespaced``: every namespaced resource downstream (``None``: not discovered yet).
    """
    try:
        owned, _ = downstream.list(NAMESPACE_GVR, label_selector=pipeline.owner_selector)
    except errors.ApiError:
        return False
    implicit = implicit_namespaces(owned, syncer_name=pipeline.settings.syncer_name)
    if not implicit:
        return True
    occupied = {key.namespace for i in pipeline.targets_of(Direction.DOWN) for key in list(i.store)}
    implicit = [ns for ns in implicit if ns not in occupied]
    if namespaced is None or not implicit:
        return True
    listable = [i for i in namespaced if i.namespaced and i.listable and i.gvr.resource != "events"]
    for namespace in implicit:
        if _has_objects(downstream, namespace, listable):
            continue
        log.info("deleting namespace %s: created by syncpipe and now empty", namespace)
        try:
            uid = ""
            obj = downstream.get_or_none(NAMESPACE_GVR, "", namespace)
            if obj is not None:
                uid = str((obj.get("metadata") or {}).get("uid", ""))
            downstream.delete(NAMESPACE_GVR, "", namespace, uid=uid)
        except errors.ApiError as exc:
            log.info("could not delete namespace %s: %s", namespace, exc)
    return True


def _has_objects(downstream: RestClient, namespace: str, resources: list[ResourceInfo]) -> bool:
    for info in resources:
        items, _ = _safe_list(downstream, info, namespace)
        if any(not namespace_boilerplate(item) for item in items):
            return True
    return False


def _safe_list(downstream: RestClient, info: ResourceInfo, namespace: str) -> tuple[list[Any], str]:
    try:
        return downstream.list(info.gvr, namespace)
    except errors.ApiError:
        return [{}], ""  # unknown counts as not empty
