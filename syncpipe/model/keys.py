"""Object keys: which object, independent of its content."""

from __future__ import annotations

from typing import Any, NamedTuple

from syncpipe.model.resources import NAMESPACE_GVR, GroupVersionResource


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
    def watch_namespace(self) -> str:
        """The namespace whose watch sees this object when a resource is watched namespace by
        namespace: its own, and for a Namespace, itself (watched by name)."""
        if not self.namespace and self.gvr.group_resource == NAMESPACE_GVR.group_resource:
            return self.name
        return self.namespace

    @property
    def cache_key(self) -> str:
        """client-go's ``namespace/name`` (just ``name`` when cluster-scoped)."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def __str__(self) -> str:
        return f"{self.gvr.group_resource}:{self.cache_key}"
