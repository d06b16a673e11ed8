"""The janitor follows owned copies of unselected resources, each group/resource once."""

from __future__ import annotations

from typing import Any

from syncpipe import errors
from syncpipe.config import configapi
from syncpipe.model.events import Direction, Side
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import GroupVersionResource, ResourceInfo
from syncpipe.runtime.janitor import Janitor, preferred_first

VERBS = frozenset({"list", "watch", "get", "delete"})
CRDS_V1 = ResourceInfo(
    gvr=GroupVersionResource("apiextensions.k8s.io", "v1", "customresourcedefinitions"),
    kind="CustomResourceDefinition",
    namespaced=False,
    verbs=VERBS,
)
CRDS_V1BETA1 = ResourceInfo(
    gvr=GroupVersionResource("apiextensions.k8s.io", "v1beta1", "customresourcedefinitions"),
    kind="CustomResourceDefinition",
    namespaced=False,
    verbs=VERBS,
)
CONFIGMAPS = ResourceInfo(
    gvr=GroupVersionResource("", "v1", "configmaps"), kind="ConfigMap", namespaced=True, verbs=VERBS
)
SELECTOR = "syncpipe.io/owner=edge1"


class Served:
    """A served view that only knows each group's preferred version."""

    def __init__(self, preferred: dict[str, str]) -> None:
        self.preferred_versions = preferred
        self.resources: tuple[ResourceInfo, ...] = ()

    def by_gvr(self, gvr: GroupVersionResource) -> ResourceInfo | None:
        return None

    def find_kind(self, group: str, kind: str, version: str = "") -> ResourceInfo | None:
        return None


class Reader:
    """Owned copies exist of ``owned`` (by group/resource); ``failing`` ones raise."""

    def __init__(self, owned: set[str], failing: frozenset[str] = frozenset()) -> None:
        self.owned = owned
        self.failing = failing
        self.asked: list[tuple[GroupVersionResource, str]] = []

    def list(self, gvr: GroupVersionResource) -> tuple[list[RawObject], str]:
        return [], "1"

    def any_exists(self, gvr: GroupVersionResource, *, label_selector: str = "") -> bool:
        self.asked.append((gvr, label_selector))
        if gvr.group_resource in self.failing:
            raise errors.ApiForbidden("forbidden", status=403)
        return gvr.group_resource in self.owned


class Mapper:
    reverse_index: Any = None


def janitor(reader: Reader, followed: dict[Direction, dict[str, GroupVersionResource]]) -> Janitor:
    served = Served({"apiextensions.k8s.io": "v1", "": "v1"})

    def follow(direction: Direction, info: ResourceInfo) -> None:
        followed.setdefault(direction, {})[info.gvr.group_resource] = info.gvr

    return Janitor(
        readers={Side.UPSTREAM: reader, Side.DOWNSTREAM: reader},
        served=lambda _side: served,
        owner_selector=SELECTOR,
        namespace_mapper=Mapper(),
        followed=lambda direction: set(followed.get(direction, {})),
        follow=follow,
    )


def test_preferred_versions_come_first_and_the_rest_keeps_its_order():
    served = Served({"apiextensions.k8s.io": "v1", "": "v1"})
    ordered = preferred_first([CRDS_V1BETA1, CONFIGMAPS, CRDS_V1], served)
    assert ordered == [CONFIGMAPS, CRDS_V1, CRDS_V1BETA1]


def test_a_resource_served_at_two_versions_is_followed_once_at_the_preferred_one():
    followed: dict[Direction, dict[str, GroupVersionResource]] = {}
    crds = CRDS_V1.gvr.group_resource
    janitor(Reader(owned={crds}), followed).start(
        {Side.DOWNSTREAM: [CRDS_V1BETA1, CRDS_V1], Side.UPSTREAM: []}
    )
    assert followed == {Direction.DOWN: {crds: CRDS_V1.gvr}}


def test_a_resource_followed_already_at_another_version_is_not_followed_again():
    crds = CRDS_V1.gvr.group_resource
    followed = {Direction.DOWN: {crds: CRDS_V1.gvr}}
    reader = Reader(owned={crds})
    janitor(reader, followed).look({Side.DOWNSTREAM: [CRDS_V1BETA1]})
    assert followed == {Direction.DOWN: {crds: CRDS_V1.gvr}}
    assert reader.asked == []  # not even a list


def test_owned_copies_are_looked_for_by_the_owner_label_on_each_target_side():
    followed: dict[Direction, dict[str, GroupVersionResource]] = {}
    reader = Reader(owned={"configmaps"})
    janitor(reader, followed).look({Side.DOWNSTREAM: [CONFIGMAPS], Side.UPSTREAM: [CONFIGMAPS]})
    assert reader.asked == [(CONFIGMAPS.gvr, SELECTOR), (CONFIGMAPS.gvr, SELECTOR)]
    assert followed == {
        Direction.DOWN: {"configmaps": CONFIGMAPS.gvr},
        Direction.UP: {"configmaps": CONFIGMAPS.gvr},
    }


def test_configs_unwatchable_resources_unreadable_ones_and_those_without_copies_are_skipped():
    configs = ResourceInfo(
        gvr=configapi.SYNCER_CONFIGS, kind="SyncerConfig", namespaced=False, verbs=VERBS
    )
    unwatchable = ResourceInfo(
        gvr=GroupVersionResource("metrics.k8s.io", "v1beta1", "pods"),
        kind="PodMetrics",
        namespaced=True,
        verbs=frozenset({"get", "list"}),
    )
    crds = CRDS_V1.gvr.group_resource
    followed: dict[Direction, dict[str, GroupVersionResource]] = {}
    reader = Reader(
        owned={configs.gvr.group_resource, unwatchable.gvr.group_resource, crds},
        failing=frozenset({crds}),
    )
    janitor(reader, followed).look({Side.DOWNSTREAM: [configs, unwatchable, CRDS_V1, CONFIGMAPS]})
    assert followed == {}
    assert [gvr for gvr, _ in reader.asked] == [CRDS_V1.gvr, CONFIGMAPS.gvr]
