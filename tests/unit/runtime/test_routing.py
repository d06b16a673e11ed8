"""Which events queue a reconcile or a status check (``syncpipe.runtime.routing``)."""

from __future__ import annotations

from typing import Any

import pytest

from syncpipe.model.events import Direction, Event, EventType, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import CRD_GVR, GroupVersionResource, ResourceInfo
from syncpipe.runtime import routing
from syncpipe.source.store import Store

DEPLOYMENTS = GroupVersionResource("apps", "v1", "deployments")
KEY = ObjectKey(DEPLOYMENTS, "team", "web")


def deployment(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "team",
            "resourceVersion": "10",
            "labels": {"app": "web"},
            "managedFields": [{"manager": "kubectl"}],
        },
        "spec": {"replicas": 2},
        "status": {"readyReplicas": 1},
    }
    for path, value in changes.items():
        node = obj
        *parents, leaf = path.split("__")
        for part in parents:
            node = node[part]
        if value is None:
            del node[leaf]
        else:
            node[leaf] = value
    return obj


def modified(old: dict[str, Any], new: dict[str, Any]) -> Event:
    """The MODIFIED event a real cache emits when ``new`` replaces ``old``."""
    events: list[Event] = []
    store = Store(gvr=DEPLOYMENTS, side=Side.DOWNSTREAM, listener=events.append)
    store.update(old)
    store.update(new)
    assert events[-1].type is EventType.MODIFIED
    return events[-1]


def unannounced(event_type: EventType, obj: dict[str, Any]) -> Event:
    """An event that does not say what changed (as from a relist, a resync or a delete)."""
    return Event(
        side=Side.DOWNSTREAM,
        type=event_type,
        key=KEY,
        obj=obj,
        resource_version=obj["metadata"]["resourceVersion"],
        observed_at=0.0,
    )


def test_only_server_bookkeeping_changed_needs_no_reconcile_either_way() -> None:
    old = deployment()
    new = deployment(metadata__resourceVersion="11", metadata__managedFields=[])
    event = modified(old, new)
    assert not routing.needs_reconcile(Direction.DOWN, event)
    assert not routing.needs_reconcile(Direction.UP, event)
    assert not routing.target_needs_status_return(event)


def test_a_status_change_matters_to_upsync_and_status_return_only() -> None:
    event = modified(deployment(), deployment(status={"readyReplicas": 2}))
    assert not routing.needs_reconcile(Direction.DOWN, event)
    assert routing.needs_reconcile(Direction.UP, event)
    assert routing.target_needs_status_return(event)


@pytest.mark.parametrize(
    "changes",
    [
        {"spec": {"replicas": 3}},
        {"metadata__labels": {"app": "web", "tier": "front"}},
        {"metadata__annotations": {"edge.kubestellar.io/downsync-overwrite": "false"}},
        {"metadata__labels": None},  # a field removed counts too
        {"spec": None},
        {"data": {"extra": "1"}},  # a new top-level field
    ],
)
def test_a_content_change_always_needs_a_reconcile(changes: dict[str, Any]) -> None:
    event = modified(deployment(), deployment(**changes))
    for direction in Direction:
        assert routing.needs_reconcile(direction, event)
    assert not routing.target_needs_status_return(event)


def test_a_removed_status_is_a_status_change() -> None:
    assert routing.target_needs_status_return(modified(deployment(), deployment(status=None)))


def test_an_unknown_change_is_looked_at() -> None:
    """A MODIFIED event that does not say what changed (not from a cache) is never skipped."""
    event = unannounced(EventType.MODIFIED, deployment())
    for direction in Direction:
        assert routing.needs_reconcile(direction, event)
    assert routing.target_needs_status_return(event)


@pytest.mark.parametrize("event_type", [EventType.ADDED, EventType.REPLACED, EventType.RESYNC])
def test_events_without_a_previous_version_are_always_looked_at(event_type: EventType) -> None:
    event = unannounced(event_type, deployment())
    for direction in Direction:
        assert routing.needs_reconcile(direction, event)
    assert routing.target_needs_status_return(event)


def test_a_copy_without_status_has_none_to_return() -> None:
    event = unannounced(EventType.ADDED, deployment(status=None))
    assert not routing.target_needs_status_return(event)


def test_deletes_need_a_reconcile_but_no_status() -> None:
    event = unannounced(EventType.DELETED, deployment())
    assert routing.needs_reconcile(Direction.DOWN, event)
    assert not routing.target_needs_status_return(event)


@pytest.mark.parametrize(
    ("gvr", "kind", "direction", "enabled", "expected"),
    [
        (DEPLOYMENTS, "Deployment", Direction.DOWN, True, True),
        (DEPLOYMENTS, "Deployment", Direction.DOWN, False, False),  # --no-status-return
        (DEPLOYMENTS, "Deployment", Direction.UP, True, False),  # upsync carries its status
        # A CRD's status is its own server's record of serving it, at either API version.
        (CRD_GVR, "CustomResourceDefinition", Direction.DOWN, True, False),
        (
            GroupVersionResource("apiextensions.k8s.io", "v1beta1", "customresourcedefinitions"),
            "CustomResourceDefinition",
            Direction.DOWN,
            True,
            False,
        ),
        (
            GroupVersionResource("apiregistration.k8s.io", "v1", "apiservices"),
            "APIService",
            Direction.DOWN,
            True,
            False,
        ),
    ],
)
def test_which_copies_return_status(gvr, kind, direction, enabled, expected) -> None:
    info = ResourceInfo(gvr=gvr, kind=kind, namespaced=False, status_subresource=True)
    assert routing.copies_return_status(direction, info, enabled=enabled) is expected


def test_only_downsync_sources_in_few_named_namespaces_are_watched_per_namespace():
    from syncpipe.config.mergedselection import Selection
    from syncpipe.config.syncerconfig import parse_config

    def info(resource: str) -> ResourceInfo:
        return ResourceInfo(
            gvr=GroupVersionResource("", "v1", resource),
            kind=resource.title(),
            namespaced=True,
            verbs=frozenset({"list", "watch"}),
        )

    config = parse_config(
        {
            "apiVersion": "edge.kubestellar.io/v2alpha1",
            "kind": "SyncerConfig",
            "metadata": {"name": "a"},
            "spec": {
                "namespaceScope": {
                    "namespaces": ["x", "y"],
                    "resources": [{"group": "", "resource": "configmaps", "apiVersion": "v1"}],
                },
                "upsync": [{"resources": ["secrets"], "namespaces": ["x"], "names": ["*"]}],
            },
        }
    )
    selection = Selection.from_configs([config])
    down, up = Direction.DOWN, Direction.UP
    cms = info("configmaps")
    assert routing.source_namespaces(selection, down, cms, max_namespaced_watches=2) == ("x", "y")
    assert routing.source_namespaces(selection, down, cms, max_namespaced_watches=1) == ()
    assert routing.source_namespaces(selection, down, cms, max_namespaced_watches=0) == ()
    # The edge's own cluster is watched cluster-wide for upsync.
    assert routing.source_namespaces(selection, up, info("secrets"), max_namespaced_watches=9) == ()


NAMESPACES = ResourceInfo(
    gvr=GroupVersionResource("", "v1", "namespaces"),
    kind="Namespace",
    namespaced=False,
    verbs=frozenset({"list", "watch"}),
)


def _selection(spec: dict[str, Any]) -> Any:
    from syncpipe.config.mergedselection import Selection
    from syncpipe.config.syncerconfig import parse_config

    config = {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "SyncerConfig",
        "metadata": {"name": "a"},
        "spec": spec,
    }
    return Selection.from_configs([parse_config(config)])


def _in_namespaces(*namespaces: str) -> dict[str, Any]:
    resources = [{"group": "", "resource": "configmaps", "apiVersion": "v1"}]
    return {"namespaceScope": {"namespaces": list(namespaces), "resources": resources}}


def _namespace_objects(*names: str) -> dict[str, Any]:
    entry = {"group": "", "resource": "namespaces", "apiVersion": "v1", "objects": list(names)}
    return {"clusterScope": [entry]}


@pytest.mark.parametrize(
    ("spec", "copied", "expected"),
    [
        # The selection's namespaces, and the Namespaces of the copies the syncer owns.
        (_in_namespaces("x", "y"), (), {"x", "y"}),
        (_in_namespaces("x"), ("gone-from-selection",), {"x", "gone-from-selection"}),
        # Namespaces selected by name in clusterScope.
        (_namespace_objects("n1", "n2"), (), {"n1", "n2"}),
        ({**_in_namespaces("x"), **_namespace_objects("n1")}, (), {"x", "n1"}),
        # Any namespace, or every Namespace: one cluster-wide watch.
        (_in_namespaces("*"), (), None),
        (_namespace_objects("*"), (), None),
        ({**_in_namespaces("x"), **_namespace_objects("*")}, ("x",), None),
        # More than the threshold (3 here): cluster-wide.
        (_in_namespaces("a", "b", "c"), ("d",), None),
        (_in_namespaces("a", "b"), ("c",), {"a", "b", "c"}),
        # Nothing selected, no copies: nothing to watch.
        ({}, (), set()),
    ],
)
def test_upstream_namespaces_are_watched_by_name_where_everything_needed_is_named(
    spec: dict[str, Any], copied: tuple[str, ...], expected: set[str] | None
) -> None:
    scope = routing.upstream_namespace_scope(
        _selection(spec), NAMESPACES, copied, max_namespaced_watches=3
    )
    assert scope == (None if expected is None else frozenset(expected))


def test_upstream_namespaces_are_watched_cluster_wide_when_per_namespace_watches_are_off() -> None:
    scope = routing.upstream_namespace_scope(
        _selection(_in_namespaces("x")), NAMESPACES, (), max_namespaced_watches=0
    )
    assert scope is None


def test_upsync_selections_do_not_widen_the_upstream_namespace_watch() -> None:
    spec = {
        **_in_namespaces("x"),
        "upsync": [{"resources": ["secrets"], "namespaces": ["*"], "names": ["*"]}],
    }
    scope = routing.upstream_namespace_scope(
        _selection(spec), NAMESPACES, (), max_namespaced_watches=5
    )
    assert scope == frozenset({"x"})
