"""Discovery follows CRD and APIService events; at rest the syncer asks nothing but heartbeats."""

from __future__ import annotations

from typing import Any

import pytest

from syncpipe.model.events import Direction, Side
from syncpipe.model.resources import CRD_GVR as CRDS
from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime.syncer import SYNCER_CONFIGS
from syncpipe.testing import manifests, wait_established, wait_for
from syncpipe.testing.manifests import cr, crd

pytestmark = [pytest.mark.apiserver, pytest.mark.usefixtures("syncer_crds")]

NS = GroupVersionResource("", "v1", "namespaces")
CONFIGMAPS = GroupVersionResource("", "v1", "configmaps")
# Longer than any test: a sweep can never be what makes these tests pass.
NO_SWEEP = 3600.0


def config(name: str, namespace: str, group: str) -> dict[str, Any]:
    """ConfigMaps and the ``gizmos`` of ``group`` in ``namespace``, and the gizmos' CRD."""
    selected = manifests.namespace_scope_config(
        name, [namespace], (("", "v1", "configmaps"), (group, "v1alpha1", "gizmos"))
    )
    selected["spec"]["clusterScope"] = [
        {
            "group": "apiextensions.k8s.io",
            "resource": "customresourcedefinitions",
            "apiVersion": "v1",
            "objects": [f"gizmos.{group}"],
        }
    ]
    return selected


@pytest.fixture
def scenario(unique_name, up_rest, down_rest):
    """A namespace upstream and the names of a group and config for it; the CRD (if the
    test made one) is deleted on both sides afterwards."""
    group = f"{unique_name}.example.com"
    up_rest.create(
        NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": unique_name}}
    )
    yield unique_name, group
    for rest in (up_rest, down_rest):
        if rest.get_or_none(CRDS, "", f"gizmos.{group}") is not None:
            rest.delete(CRDS, "", f"gizmos.{group}")


def test_objects_of_a_crd_created_while_running_are_synced_without_a_discovery_sweep(
    make_syncer, scenario, up_rest, down_rest
):
    namespace, group = scenario
    up_rest.create(SYNCER_CONFIGS, "", config(namespace, namespace, group))
    syncer = make_syncer(namespace, discovery_interval=NO_SWEEP)
    syncer.start()
    try:
        wait_for(syncer.ready.is_set, timeout=60, message="syncer not ready")
        up_rest.create(CRDS, "", crd(group, "gizmos", "Gizmo", namespaced=True, status=False))
        wait_established(up_rest, f"gizmos.{group}")
        gizmos = GroupVersionResource(group, "v1alpha1", "gizmos")
        up_rest.create(gizmos, namespace, cr(group, "Gizmo", "g1", namespace))
        copy = wait_for(
            lambda: down_rest.get_or_none(gizmos, namespace, "g1"),
            timeout=30,
            ignore=(Exception,),
            message=lambda: f"no copy; syncer syncs {syncer.describe()}",
        )
        assert copy["metadata"]["labels"]["syncpipe.io/owner"]
        # The selected CRDs are read from the watch that follows them: one watch, not two.
        crd_source = syncer.flows[Direction.DOWN].sources[CRDS].informer
        api_watch = syncer._api_watches[Side.UPSTREAM].informers[(CRDS.group, CRDS.resource)]
        assert crd_source is not None
        assert crd_source.store is api_watch.store
    finally:
        syncer.stop(timeout=10)


def test_discovery_covers_only_the_groups_the_selection_and_the_syncer_use(
    make_syncer, scenario, up_rest
):
    namespace, group = scenario
    up_rest.create(SYNCER_CONFIGS, "", config(namespace, namespace, group))
    syncer = make_syncer(namespace, discovery_interval=NO_SWEEP)
    syncer.start()
    try:
        wait_for(syncer.ready.is_set, timeout=60, message="syncer not ready")
        scope = wait_for(lambda: syncer.discovery_scope, timeout=30)
        assert {"", group, "apiextensions.k8s.io", "edge.kubestellar.io"} <= scope
        assert "rbac.authorization.k8s.io" not in scope
        assert "batch" not in scope
        assert syncer.served(group="rbac.authorization.k8s.io") == ()
        assert syncer.served(group="") != ()
    finally:
        syncer.stop(timeout=10)


def test_a_converged_syncer_makes_no_request_but_its_heartbeat(
    make_syncer, scenario, up_rest, down_rest
):
    namespace, group = scenario
    up_rest.create(
        CONFIGMAPS,
        namespace,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": namespace},
        },
    )
    up_rest.create(SYNCER_CONFIGS, "", config(namespace, namespace, group))
    syncer = make_syncer(namespace, discovery_interval=NO_SWEEP)
    syncer.start()
    try:
        wait_for(syncer.ready.is_set, timeout=60, message="syncer not ready")
        wait_for(lambda: down_rest.get_or_none(CONFIGMAPS, namespace, "c"), timeout=30)

        def patches() -> int:
            return syncer.upstream.requests_by_verb.get("patch", 0)

        # The first heartbeats after readiness also look for empty namespaces once.
        first = patches()
        wait_for(lambda: patches() >= first + 2, timeout=30)
        up_before = dict(syncer.upstream.requests_by_verb)
        down_before = dict(syncer.downstream.requests_by_verb)
        wait_for(lambda: patches() >= up_before.get("patch", 0) + 3, timeout=30)
        up_after = dict(syncer.upstream.requests_by_verb)
        made = {v: n - up_before.get(v, 0) for v, n in up_after.items() if n != up_before.get(v)}
        assert set(made) == {"patch"}
        assert dict(syncer.downstream.requests_by_verb) == down_before
    finally:
        syncer.stop(timeout=10)


def test_the_safety_sweep_asks_discovery_again_at_its_interval(make_syncer, scenario, up_rest):
    namespace, group = scenario
    up_rest.create(SYNCER_CONFIGS, "", config(namespace, namespace, group))
    syncer = make_syncer(namespace, discovery_interval=0.5)
    syncer.start()
    try:
        wait_for(syncer.ready.is_set, timeout=60, message="syncer not ready")

        def discoveries() -> int:
            return syncer.upstream.requests_by_verb.get("discovery", 0)

        before = discoveries()
        # Nothing changes what is served: only the sweep asks (/api and /apis, each time).
        wait_for(lambda: discoveries() >= before + 6, timeout=30)
    finally:
        syncer.stop(timeout=10)
