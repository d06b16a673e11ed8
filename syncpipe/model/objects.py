"""Raw objects: JSON dicts as the API server sends them, with read and copy-on-write helpers.

Objects are never mutated once they entered the pipeline. Helpers that "change" an object
return a new dict that shares every untouched subtree with the input, so a change costs
what it touches, not the object's size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

RawObject: TypeAlias = dict[str, Any]


def meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    m = obj.get("metadata")
    if type(m) is dict:  # the usual case, without the (much slower) ABC check
        return m
    return m if isinstance(m, Mapping) else {}


def name_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("name", ""))


def namespace_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("namespace") or "")


def labels_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return meta(obj).get("labels") or {}


def annotations_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return meta(obj).get("annotations") or {}


def resource_version_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("resourceVersion") or "")


def deletion_timestamp_of(obj: Mapping[str, Any]) -> str:
    """When deletion was asked for (``""``: not being deleted)."""
    return str(meta(obj).get("deletionTimestamp") or "")


def uid_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("uid") or "")


def with_metadata(obj: RawObject, **changes: Any) -> RawObject:
    """A copy of ``obj`` whose metadata has ``changes`` applied (``None`` removes a field)."""
    new_meta = dict(meta(obj))
    for field, value in changes.items():
        if value is None:
            new_meta.pop(field, None)
        else:
            new_meta[field] = value
    return {**obj, "metadata": new_meta}


def with_annotations(obj: RawObject, updates: Mapping[str, str | None]) -> RawObject:
    """A copy with annotations set (or removed where the value is ``None``)."""
    annotations = dict(annotations_of(obj))
    for key, value in updates.items():
        if value is None:
            annotations.pop(key, None)
        else:
            annotations[key] = value
    return with_metadata(obj, annotations=annotations or None)


def with_labels(obj: RawObject, updates: Mapping[str, str | None]) -> RawObject:
    """A copy with labels set (or removed where the value is ``None``)."""
    labels = dict(labels_of(obj))
    for key, value in updates.items():
        if value is None:
            labels.pop(key, None)
        else:
            labels[key] = value
    return with_metadata(obj, labels=labels or None)


def without_fields(obj: RawObject, *top_level: str) -> RawObject:
    """A copy without the given top-level fields (e.g. ``status``)."""
    if not any(f in obj for f in top_level):
        return obj
    return {k: v for k, v in obj.items() if k not in top_level}
