"""What one side serves, in memory: discovery at the recording's start, kept current by CRDs.

The live syncer asks discovery which resources exist on each side (is ``widgets.example.com``
served downstream yet? with a ``/status`` subresource?). A replay answers from the snapshot
header's discovery, updated as CustomResourceDefinition objects come and go in the memory
store — the same information discovery derives from them on a real server. A CRD is served
as soon as it exists here; a real server takes a moment to establish it, which the syncer
covers by retrying, so only timing differs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from syncpipe.config import names
from syncpipe.model.objects import RawObject, meta
from syncpipe.model.resources import GroupVersionResource, ResourceInfo

# The verbs a real server lists for every custom resource.
CRD_VERBS = frozenset(
    {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
)


def infos_of_crd(crd: RawObject) -> tuple[ResourceInfo, ...]:
    """The resources a CRD object serves (one per served version); ``()`` if malformed."""
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return ()
    crd_names = spec.get("names") or {}
    group, plural, kind = spec.get("group"), crd_names.get("plural"), crd_names.get("kind")
    if not (isinstance(group, str) and isinstance(plural, str) and isinstance(kind, str)):
        return ()
    namespaced = spec.get("scope") == "Namespaced"
    short_names = [s for s in crd_names.get("shortNames") or () if isinstance(s, str)]
    # v1 puts subresources per version; v1beta1 also allowed them once for the whole CRD.
    shared_status = "status" in (spec.get("subresources") or {})
    versions: list[dict[str, Any]] = [v for v in spec.get("versions") or () if isinstance(v, dict)]
    if not versions and isinstance(spec.get("version"), str):
        versions = [{"name": spec["version"], "served": True}]
    infos = []
    for version in versions:
        if not version.get("served", True) or not isinstance(version.get("name"), str):
            continue
        status = shared_status or "status" in (version.get("subresources") or {})
        infos.append(
            ResourceInfo(
                gvr=GroupVersionResource(group, version["name"], plural),
                kind=kind,
                namespaced=namespaced,
                status_subresource=status,
                verbs=CRD_VERBS,
                short_names=frozenset(short_names),
            )
        )
    return tuple(infos)


class ServedResources:
    """The resources of one side: built-in discovery plus what CRD objects serve now."""

    def __init__(
        self,
        discovery: Iterable[ResourceInfo] = (),
        preferred_versions: Mapping[str, str] | None = None,
    ) -> None:
        self._discovered = {info.gvr: info for info in discovery}
        self._preferred = dict(preferred_versions or {})
        self._by_crd: dict[str, tuple[ResourceInfo, ...]] = {}
        # (group, resource) whose CRD was deleted: discovery's entry no longer holds.
        self._gone: set[tuple[str, str]] = set()
        self._table: dict[GroupVersionResource, ResourceInfo] | None = None
        self._kinds: dict[tuple[str, str, str], ResourceInfo] = {}
        self._resources: dict[tuple[str, str], list[ResourceInfo]] = {}
        self._preferred_now: dict[str, str] = {}
        self._custom: set[tuple[str, str]] = set()
        self.generation = 0  # bumped on every change, so callers can tell when to re-resolve

    def crd_changed(self, crd: RawObject, *, deleted: bool) -> None:
        """Follow a CRD object that was created, changed or deleted."""
        name = str(meta(crd).get("name", ""))
        before = self._by_crd.get(name, ())
        after = () if deleted else infos_of_crd(crd)
        if before == after:
            return
        for info in before:
            self._gone.add((info.gvr.group, info.gvr.resource))
        if after:
            self._by_crd[name] = after
        else:
            self._by_crd.pop(name, None)
        for info in after:
            self._gone.discard((info.gvr.group, info.gvr.resource))
        self._table = None
        self.generation += 1

    def _current(self) -> dict[GroupVersionResource, ResourceInfo]:
        """The table of what is served now, with its lookup indexes (rebuilt after a change)."""
        if self._table is None:
            table = {
                gvr: info
                for gvr, info in self._discovered.items()
                if (gvr.group, gvr.resource) not in self._gone
            }
            for infos in self._by_crd.values():
                table.update({info.gvr: info for info in infos})
            self._table = dict(sorted(table.items()))
            versions: dict[str, set[str]] = {}
            self._kinds = {}
            self._resources = {}
            self._custom = {
                (i.gvr.group, i.gvr.resource) for infos in self._by_crd.values() for i in infos
            }
            for gvr, info in self._table.items():
                versions.setdefault(gvr.group, set()).add(gvr.version)
                self._kinds.setdefault((gvr.group, info.kind, gvr.version), info)
                self._resources.setdefault((gvr.group, gvr.resource), []).append(info)
            self._preferred_now = {}
            for group, served in versions.items():
                preferred = self._preferred.get(group)
                if preferred not in served:
                    preferred = min(served, key=names.version_priority)
                self._preferred_now[group] = preferred
        return self._table

    @property
    def resources(self) -> tuple[ResourceInfo, ...]:
        """Everything served, in a stable order."""
        return tuple(self._current().values())

    def by_gvr(self, gvr: GroupVersionResource) -> ResourceInfo | None:
        return self._current().get(gvr)

    def is_custom(self, gvr: GroupVersionResource) -> bool:
        """Whether ``gvr`` is served by a CRD object known here."""
        self._current()
        return (gvr.group, gvr.resource) in self._custom

    def by_group_resource(self, group: str, resource: str) -> ResourceInfo | None:
        """The served version of ``resource`` in ``group`` (the preferred one when several)."""
        self._current()
        found = self._resources.get((group, resource))
        if not found:
            return None
        preferred = self._preferred_now.get(group)
        return next((i for i in found if i.gvr.version == preferred), found[0])

    @property
    def preferred_versions(self) -> dict[str, str]:
        """Each group's preferred version: discovery's, else kubectl's order of the served ones."""
        self._current()
        return dict(sorted(self._preferred_now.items()))

    def preferred_version(self, group: str) -> str:
        self._current()
        return self._preferred_now.get(group) or self._preferred.get(group, "")

    def find_kind(self, group: str, kind: str, version: str = "") -> ResourceInfo | None:
        """The resource serving ``kind`` in ``group`` at ``version`` (default: preferred)."""
        self._current()
        return self._kinds.get((group, kind, version or self._preferred_now.get(group, "")))
