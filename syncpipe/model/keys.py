"""Object keys: which object, independent of its content."""

from __future__ import annotations

from typing import Any

import attrs

from syncpipe.model.resources import GroupVersionResource


@attrs.frozen(order=True, cache_hash=True)
class ObjectKey:
    """One object: its resource, namespace (``""`` when cluster-scoped) and name."""

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
