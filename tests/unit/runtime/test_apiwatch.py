"""What makes the syncer ask discovery again, and which groups discovery covers."""

from __future__ import annotations

from typing import Any

from syncpipe.clients.discovery import DiscoveryResult
from syncpipe.config.edgesyncconfig import Conversion, EdgeSyncConfig, EdgeSyncResource
from syncpipe.config.mergedselection import Selection
from syncpipe.config.rules import SelectionRule
from syncpipe.model.events import Direction, Event, EventType, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import CRD_GVR, GroupVersionResource, ResourceInfo
from syncpipe.runtime import apiwatch
from tests.unit.config.test_mergedselection import config


def crd_object(*, established: bool, versions: tuple[str, ...] = ("v1",)) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gizmos.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "gizmos", "kind": "Gizmo"},
            "versions": [
                {"name": v, "served": True, "storage": v == versions[0]} for v in versions
            ],
        },
        "status": {
            "conditions": [{"type": "Established", "status": "True" if established else "False"}]
        },
    }


def test_a_crd_serves_its_served_versions_only_once_established():
    assert apiwatch.crd_apis(crd_object(established=False)) == frozenset()
    assert apiwatch.crd_apis(crd_object(established=True, versions=("v1", "v2"))) == {
        GroupVersionResource("example.com", "v1", "gizmos"),
        GroupVersionResource("example.com", "v2", "gizmos"),
    }


def test_a_crd_version_not_served_is_not_an_api():
    obj = crd_object(established=True, versions=("v1", "v2"))
    obj["spec"]["versions"][1]["served"] = False
    assert apiwatch.crd_apis(obj) == {GroupVersionResource("example.com", "v1", "gizmos")}


def test_the_serving_signature_ignores_what_does_not_change_discovery():
    obj = crd_object(established=True)
    relabelled = {**obj, "metadata": {**obj["metadata"], "labels": {"a": "b"}}}
    assert apiwatch.serving_signature(obj) == apiwatch.serving_signature(relabelled)
    assert apiwatch.serving_signature(obj) != apiwatch.serving_signature(
        crd_object(established=False)
    )


def test_an_apiservice_signature_follows_its_availability():
    def apiservice(available: str) -> dict[str, Any]:
        return {
            "kind": "APIService",
            "spec": {"group": "metrics.k8s.io", "version": "v1beta1"},
            "status": {"conditions": [{"type": "Available", "status": available}]},
        }

    assert apiwatch.serving_signature(apiservice("True")) != apiwatch.serving_signature(
        apiservice("False")
    )


def test_discovery_covers_the_selected_groups_the_followed_ones_and_the_syncers_own():
    selection = Selection.from_configs(
        [
            config(
                "a",
                {
                    "namespaceScope": {
                        "namespaces": ["ns"],
                        "resources": [
                            {"group": "apps", "resource": "deployments", "apiVersion": "v1"}
                        ],
                    }
                },
            )
        ]
    )
    assert apiwatch.discovery_groups(selection, followed=["batch"]) == {
        "",
        "apps",
        "batch",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "edge.kubestellar.io",
    }


def test_a_wildcard_group_makes_discovery_cover_every_group():
    # Configs refuse a "*" group today; a rule naming one still widens discovery to all.
    rule = SelectionRule(
        direction=Direction.DOWN,
        reason="SyncerConfig/a",
        group="*",
        version="",
        resource="*",
        namespace="",
        name="x",
    )
    assert apiwatch.discovery_groups(Selection(rules=[rule])) is None


def test_conversion_groups_are_covered_on_both_sides():
    conversion = Conversion(
        upstream=EdgeSyncResource(kind="Gizmo", name="*", group="denatured.example.com"),
        downstream=EdgeSyncResource(kind="Gizmo", name="*", group="example.com"),
    )
    selection = Selection.from_configs([EdgeSyncConfig(name="e", conversions=(conversion,))])
    assert {"denatured.example.com", "example.com"} <= selection.api_groups()


class _Informer:
    def __init__(self) -> None:
        self.handlers: list[Any] = []
        self.started = False
        self.store = _Store()

    def add_handler(self, handler: Any) -> None:
        self.handlers.append(handler)

    def start(self) -> None:
        self.started = True


class _Store:
    def __init__(self) -> None:
        self.objects: list[dict[str, Any]] = []

    def list(self) -> list[dict[str, Any]]:
        return self.objects


def _watch() -> tuple[apiwatch.ApiWatch, list[int], _Informer]:
    requests: list[int] = []
    informer = _Informer()
    watch = apiwatch.ApiWatch(
        side=Side.UPSTREAM,
        request_rediscovery=lambda: requests.append(1),
        new_source=lambda _info: informer,  # type: ignore[arg-type,return-value]
    )
    crds = ResourceInfo(gvr=CRD_GVR, kind="CustomResourceDefinition", namespaced=False)
    watch.ensure(DiscoveryResult(resources=(crds,), preferred_versions={CRD_GVR.group: "v1"}))
    return watch, requests, informer


def _event(kind: EventType, obj: dict[str, Any]) -> Event:
    return Event(
        side=Side.UPSTREAM,
        type=kind,
        key=ObjectKey(CRD_GVR, "", obj["metadata"]["name"]),
        obj=obj,
        resource_version="1",
        observed_at=0.0,
    )


def test_rediscovery_is_asked_when_a_crd_becomes_established_not_on_other_changes():
    _, requests, informer = _watch()
    assert informer.started
    (handler,) = informer.handlers
    handler(_event(EventType.ADDED, crd_object(established=False)))
    handler(_event(EventType.MODIFIED, crd_object(established=True)))
    assert len(requests) == 2
    labelled = crd_object(established=True)
    labelled["metadata"]["labels"] = {"a": "b"}
    handler(_event(EventType.MODIFIED, labelled))
    handler(_event(EventType.RESYNC, labelled))
    assert len(requests) == 2
    handler(_event(EventType.DELETED, labelled))
    assert len(requests) == 3


def test_an_established_crd_missing_from_discovery_is_named():
    watch, _, informer = _watch()
    informer.store.objects = [crd_object(established=True)]
    nothing = DiscoveryResult(resources=(), preferred_versions={})
    gizmos = GroupVersionResource("example.com", "v1", "gizmos")
    assert watch.missing_apis(nothing, None) == {gizmos}
    assert watch.missing_apis(nothing, {"other.com"}) == frozenset()
    served = DiscoveryResult(
        resources=(ResourceInfo(gvr=gizmos, kind="Gizmo", namespaced=True),),
        preferred_versions={},
    )
    assert watch.missing_apis(served, None) == frozenset()
