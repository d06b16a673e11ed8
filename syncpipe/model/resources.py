"""Resource identities: which API collection an object lives in.

Kubernetes terms keep their meaning here: a *resource* is the lowercase plural used in URLs
(``deployments``), a *kind* is the type name in objects (``Deployment``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import attrs


def _frozen_strings(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


class GroupVersionResource(NamedTuple):
    """An API collection, e.g. ``apps/v1 deployments``; ``group`` is ``""`` for the core group.

    A named tuple rather than an attrs class: it is hashed and compared on every event (as
    part of ``ObjectKey``), and a tuple does both in C.
    """

    group: str
    version: str
    resource: str

    @property
    def api_version(self) -> str:
        """The ``apiVersion`` objects of this resource carry (``v1`` or ``apps/v1``)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``deployments.apps`` / ``configmaps``: the version-free name kubectl and RBAC use."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def __str__(self) -> str:
        return f"{self.api_version}/{self.resource}"

    @classmethod
    def parse(cls, text: str) -> GroupVersionResource:
        """Parse ``v1/configmaps`` or ``apps/v1/deployments`` (the form ``str()`` writes)."""
        parts = text.split("/")
        if len(parts) == 2:
            return cls("", parts[0], parts[1])
        if len(parts) == 3:
            return cls(parts[0], parts[1], parts[2])
        raise ValueError(f"not a group/version/resource: {text!r}")


@attrs.frozen(kw_only=True, cache_hash=True)
class ResourceInfo:
    """What discovery says about one resource: its kind, scope, subresources, verbs and the
    short names kubectl accepts for it (``deploy``)."""

    gvr: GroupVersionResource
    kind: str
    namespaced: bool
    status_subresource: bool = False
    verbs: frozenset[str] = attrs.field(default=frozenset(), converter=_frozen_strings)
    short_names: frozenset[str] = attrs.field(default=frozenset(), converter=_frozen_strings)

    @property
    def watchable(self) -> bool:
        return "watch" in self.verbs

    @property
    def listable(self) -> bool:
        return "list" in self.verbs


CRD_GVR = GroupVersionResource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
APISERVICE_GVR = GroupVersionResource("apiregistration.k8s.io", "v1", "apiservices")
NAMESPACE_GVR = GroupVersionResource("", "v1", "namespaces")
