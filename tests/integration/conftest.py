"""Shared helpers for tests on the real upstream/downstream control planes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from kubernetes import client as k8s

from syncpipe import builtin
from syncpipe.clients.connect import ClusterAccess, load_configuration
from syncpipe.clients.rest import RestClient
from syncpipe.config import crds
from syncpipe.config.settings import Settings
from syncpipe.hooks import manager
from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime import wiring
from syncpipe.runtime.syncer import EDGE_SYNC_CONFIGS, SYNCER_CONFIGS, Syncer
from syncpipe.testing import create_established, wait_established, wait_for
from syncpipe.testing.manifests import cr, crd

CRD_GVR = GroupVersionResource("apiextensions.k8s.io", "v1", "customresourcedefinitions")


def rest_for(plane) -> RestClient:
    cfg = load_configuration(
        ClusterAccess(kubeconfig=str(plane.admin_kubeconfig), label=plane.name)
    )
    return RestClient(cfg, label=plane.name)


@pytest.fixture(scope="session")
def up_rest(upstream) -> Iterator[RestClient]:
    rest = rest_for(upstream)
    yield rest
    rest.close()


@pytest.fixture(scope="session")
def down_rest(downstream) -> Iterator[RestClient]:
    rest = rest_for(downstream)
    yield rest
    rest.close()


@pytest.fixture(scope="session")
def syncer_crds(up_rest: RestClient) -> None:
    """The SyncerConfig/EdgeSyncConfig CRDs, installed upstream and established."""
    for manifest in crds.all_crd_manifests():
        existing = up_rest.get_or_none(CRD_GVR, "", manifest["metadata"]["name"])
        if existing is None:
            up_rest.create(CRD_GVR, "", manifest)

    def established() -> bool:
        for manifest in crds.all_crd_manifests():
            obj = up_rest.get(CRD_GVR, "", manifest["metadata"]["name"])
            conds = (obj.get("status") or {}).get("conditions") or ()
            if not any(c["type"] == "Established" and c["status"] == "True" for c in conds):
                return False
        return True

    wait_for(established, timeout=30, message="syncer CRDs not established")


@pytest.fixture
def make_syncer(upstream, downstream, up_rest: RestClient) -> Iterator[Callable[..., Syncer]]:
    """Builds (does not start) in-process syncers between the test control planes: heartbeat
    every 1 s, ``settings`` on top; discovery keeps its default (a sweep every 10 minutes), so
    every test proves that new APIs are followed by events. Starting and stopping them is the
    test's; after it every SyncerConfig and EdgeSyncConfig upstream is removed, since all of
    them are merged and one left behind would select objects for the next test's syncer.
    ``plugins``: plugin objects registered in-process besides the built-ins."""

    def make(name: str, *, plugins: Sequence[object] = (), **settings: Any) -> Syncer:
        pm = (
            manager.build(builtins=builtin.MODULES, extra=plugins, load_entry_points=False)
            if plugins
            else None
        )
        return wiring.build_syncer(
            settings=Settings(
                syncer_name=name,
                **{"heartbeat_interval": 1.0, **settings},
            ),
            upstream_kubeconfig=str(upstream.admin_kubeconfig),
            downstream_kubeconfig=str(downstream.admin_kubeconfig),
            pm=pm,
        )

    yield make
    for gvr in (SYNCER_CONFIGS, EDGE_SYNC_CONFIGS):
        items, _ = up_rest.list(gvr)
        for item in items:
            up_rest.delete(gvr, "", item["metadata"]["name"])


@pytest.fixture
def namesake_reports(up_rest: RestClient, down_rest: RestClient, unique_name: str) -> str:
    """A cluster-scoped ``Report`` CRD on both sides (group returned), a Report ``taken`` on
    each side (upstream's own: a namesake the upsync must not overwrite) and ``free``
    downstream only."""
    group = f"{unique_name}.reports.example"
    reports = crd(group, "reports", "Report", namespaced=False, status=False)
    for rest in (down_rest, up_rest):
        create_established(rest, reports)
    gvr = GroupVersionResource(group, "v1alpha1", "reports")
    up_rest.create(gvr, "", cr(group, "Report", "taken", spec={"foo": "upstream's own"}))
    down_rest.create(gvr, "", cr(group, "Report", "taken", spec={"foo": "edge"}))
    down_rest.create(gvr, "", cr(group, "Report", "free", spec={"foo": "edge"}))
    return group


@pytest.fixture
def gadgets(unique_name, up_rest, down_rest):
    """A cluster-scoped CRD with a status subresource on both sides, and one object upstream
    (``g``) selected by a config."""
    group = f"{unique_name}.example.com"
    manifest = crd(group, "gadgets", "Gadget", namespaced=False, status=True)
    for rest in (up_rest, down_rest):
        rest.create(CRD_GVR, "", manifest)
        wait_established(rest, manifest["metadata"]["name"])
    gvr = GroupVersionResource(group, "v1alpha1", "gadgets")
    up_rest.create(gvr, "", cr(group, "Gadget", "g"))
    config: dict[str, Any] = {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "SyncerConfig",
        "metadata": {"name": unique_name},
        "spec": {
            "clusterScope": [
                {"group": group, "resource": "gadgets", "objects": ["g"], "apiVersion": "v1alpha1"}
            ]
        },
    }
    up_rest.create(SYNCER_CONFIGS, "", config)
    yield gvr
    for rest in (up_rest, down_rest):
        rest.delete(CRD_GVR, "", manifest["metadata"]["name"])


def core(api: k8s.ApiClient) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(api)
