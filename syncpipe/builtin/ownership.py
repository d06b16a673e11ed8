"""Ownership marks: what this syncer created, and may therefore update and delete.

A copy carries the label ``syncpipe.io/owner: <syncer id>`` (so owned copies can be watched with
a label selector) and KubeStellar's annotation ``edge.kubestellar.io/downsynced`` (upsynced
copies: ``edge.kubestellar.io/upsynced``) whose value is ``<Kind>/<namespace>/<name>`` of the
copy itself. The value check matters: the Deployment controller copies a Deployment's
annotations onto its ReplicaSets, and a bare marker would make them look owned.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from syncpipe.hooks import hookimpl
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.transforms import Phase, Transform
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject, annotations_of, labels_of, meta, with_metadata

OWNER_LABEL = "syncpipe.io/owner"
DOWNSYNCED_ANNOTATION = "edge.kubestellar.io/downsynced"
UPSYNCED_ANNOTATION = "edge.kubestellar.io/upsynced"
OVERWRITE_ANNOTATION = "edge.kubestellar.io/downsync-overwrite"
# "false" on an upstream object (or a SyncerConfig): no status return for it (them).
RETURN_STATUS_ANNOTATION = "edge.kubestellar.io/return-status"
# Where a copy came from: ``<resource>.<group>/<namespace>/<name>`` of its source object.
SOURCE_ANNOTATION = "syncpipe.io/source"

_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


@functools.lru_cache(maxsize=64)
def owner_label_value(syncer_name: str) -> str:
    """The syncer's name as a valid label value (≤ 63 chars; long names keep a hash suffix).
    Cached: asked on every ownership check and every copy marked, always for the same name."""
    if _LABEL_VALUE.match(syncer_name):
        return syncer_name
    digest = hashlib.sha256(syncer_name.encode()).hexdigest()[:10]
    cleaned = re.sub(r"[^-A-Za-z0-9_.]", "-", syncer_name).strip("-_.")[:50].strip("-_.")
    return f"{cleaned}-{digest}" if cleaned else digest


def owned_value(obj: Mapping[str, Any]) -> str:
    m = meta(obj)
    return f"{obj.get('kind', '')}/{m.get('namespace') or ''}/{m.get('name', '')}"


def mark_key(direction_up: bool) -> str:
    return UPSYNCED_ANNOTATION if direction_up else DOWNSYNCED_ANNOTATION


def is_owned(obj: Mapping[str, Any], *, syncer_name: str, upsynced: bool = False) -> bool:
    """True when ``obj`` carries this syncer's marks with the exact expected value."""
    annotation = annotations_of(obj).get(mark_key(upsynced))
    return annotation == owned_value(obj) and labels_of(obj).get(OWNER_LABEL) == (
        owner_label_value(syncer_name)
    )


def overwrite_enabled(obj: Mapping[str, Any] | None) -> bool:
    """KubeStellar's per-object option: absent, ``""`` or ``"true"`` means upstream is the truth."""
    if obj is None:
        return True
    return annotations_of(obj).get(OVERWRITE_ANNOTATION, "true") in ("", "true")


def _mark(obj: RawObject, ctx: SyncContext, annotation: str) -> RawObject:
    m = meta(obj)
    labels = {**(m.get("labels") or {}), OWNER_LABEL: owner_label_value(ctx.syncer_name)}
    annotations = {**(m.get("annotations") or {}), annotation: owned_value(obj)}
    return with_metadata(obj, labels=labels, annotations=annotations)


def source_locator(key: ObjectKey) -> str:
    """The ``syncpipe.io/source`` value: ``<resource>.<group>/<namespace>/<name>``."""
    return f"{key.gvr.group_resource}/{key.namespace}/{key.name}"


def parse_source_locator(value: str) -> tuple[str, str, str, str] | None:
    """``(group, resource, namespace, name)`` from a locator, or None when malformed."""
    parts = value.split("/", 2)
    if len(parts) != 3 or not parts[0] or not parts[2]:
        return None
    group_resource, namespace, name = parts
    resource, _, group = group_resource.partition(".")
    return group, resource, namespace, name


def source_of(copy: RawObject) -> tuple[str, str, str, str] | None:
    """``(group, resource, namespace, name)`` of the source a copy's locator names (None:
    it names none, or not readably)."""
    locator = annotations_of(copy).get(SOURCE_ANNOTATION)
    return parse_source_locator(locator) if locator else None


def with_source_locator(obj: RawObject, locator: str) -> RawObject:
    annotations = {**(meta(obj).get("annotations") or {}), SOURCE_ANNOTATION: locator}
    return with_metadata(obj, annotations=annotations)


def mark_downsynced(obj: RawObject, ctx: SyncContext) -> RawObject:
    return _mark(obj, ctx, DOWNSYNCED_ANNOTATION)


def mark_upsynced(obj: RawObject, ctx: SyncContext) -> RawObject:
    return _mark(obj, ctx, UPSYNCED_ANNOTATION)


@hookimpl
def syncpipe_register_transforms() -> list[Transform]:
    return [
        Transform(
            name="ownership",
            forward=mark_downsynced,
            reverse=mark_upsynced,
            phase=Phase.OWNERSHIP,
            plugin="builtin.ownership",
        )
    ]
