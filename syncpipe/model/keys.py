"""Object keys: which object, independent of its content."""

from __future__ import annotations

from typing import Any, NamedTuple

from syncpipe.model.resources import GroupVersionResource


class ObjectKey(NamedTuple):
    """One object: its resource, namespace (``""`` when cluster-scoped) and name.

    A named tuple: keys are hashed and compared many times per event (caches, queues,
    bookkeeping), and a tuple does both in C. Ordered field by field.
    """

    gvr: GroupVersionResource
    namespace: str
    name: str

    @classmethod
    def from_object(cls, gvr: GroupVersionResource, obj: dict[str, Any]) -> ObjectKey:
        meta = obj.get("metadata") or {}
        return cls(gvr, meta.get("namespace") or "", meta["name"])

    @property
    def cache_key(self) -> str:
        """client-go's ``namespace/name`` (just ``name`` when cluster-scoped)."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def __str__(self) -> str:
        return f"{self.gvr.group_resource}:{self.cache_key}"
