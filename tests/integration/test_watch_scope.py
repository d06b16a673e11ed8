"""Watch scope follows the selection: named namespaces are watched one by one, so the cache
holds what is selected, not everything the mailbox holds."""

from __future__ import annotations

import pytest

from syncpipe.model.events import Direction
from syncpipe.model.resources import NAMESPACE_GVR, GroupVersionResource
from syncpipe.runtime.syncer import SYNCER_CONFIGS, Syncer
from syncpipe.testing import manifests, wait_for

pytestmark = [pytest.mark.apiserver, pytest.mark.usefixtures("syncer_crds")]

CM = GroupVersionResource("", "v1", "configmaps")


@pytest.fixture
def namespaces(unique_name, up_rest) -> tuple[str, str]:
    """A selected namespace with 3 ConfigMaps and another with 12."""
    selected, other = f"{unique_name}-s", f"{unique_name}-o"
    for ns, count in ((selected, 3), (other, 12)):
        up_rest.create(
            NAMESPACE_GVR, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        )
        for i in range(count):
            up_rest.create(CM, ns, manifests.configmap(ns, f"cm{i}", {"i": str(i)}))
    return selected, other


def cached_namespaces(syncer: Syncer) -> set[str]:
    informer = syncer.flows[Direction.DOWN].sources[CM].informer
    assert informer is not None
    return {key.namespace for key in informer.store}


def test_a_selection_naming_namespaces_caches_only_their_objects_and_follows_changes(
    make_syncer, namespaces, unique_name, up_rest, down_rest
):
    selected, other = namespaces
    up_rest.create(SYNCER_CONFIGS, "", manifests.namespace_scope_config(unique_name, [selected]))
    syncer = make_syncer(unique_name)
    syncer.start()
    try:
        wait_for(syncer.ready.is_set, timeout=60, message="syncer not ready")
        assert cached_namespaces(syncer) == {selected}
        assert down_rest.get_or_none(CM, selected, "cm2") is not None
        # ConfigMaps in the one namespace, the configs (two kinds), Namespaces (selected and
        # followed: one watch), CRDs, APIServices; never one collection twice.
        assert syncer.open_watches()["upstream"] == 6
        # The config names the other namespace too: it is watched, its objects copied.
        changed = up_rest.get(SYNCER_CONFIGS, "", unique_name)
        changed["spec"] = manifests.namespace_scope_config(unique_name, [selected, other])["spec"]
        up_rest.replace(SYNCER_CONFIGS, "", unique_name, changed)
        wait_for(lambda: down_rest.get_or_none(CM, other, "cm11"), timeout=30)
        assert cached_namespaces(syncer) == {selected, other}
        # And back: the other namespace's copies go, its objects leave the cache.
        changed = up_rest.get(SYNCER_CONFIGS, "", unique_name)
        changed["spec"] = manifests.namespace_scope_config(unique_name, [selected])["spec"]
        up_rest.replace(SYNCER_CONFIGS, "", unique_name, changed)
        wait_for(lambda: down_rest.get_or_none(CM, other, "cm11") is None, timeout=30)
        assert cached_namespaces(syncer) == {selected}
    finally:
        syncer.stop(timeout=10)


def test_above_the_limit_the_resource_is_watched_cluster_wide(
    make_syncer, namespaces, unique_name, up_rest
):
    selected, other = namespaces
    up_rest.create(SYNCER_CONFIGS, "", manifests.namespace_scope_config(unique_name, [selected]))
    syncer = make_syncer(unique_name, namespaced_watch_limit=0)
    syncer.start()
    try:
        wait_for(syncer.ready.is_set, timeout=60, message="syncer not ready")
        assert {selected, other} <= cached_namespaces(syncer)
    finally:
        syncer.stop(timeout=10)
