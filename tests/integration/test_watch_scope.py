"""Watch scope follows the selection: named namespaces are watched one by one, so the cache
holds what is selected, not everything the mailbox holds; so are the upstream Namespaces
(by name), those of the Namespace copies the syncer still owns included."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

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


def cached_upstream_namespaces(syncer: Syncer) -> set[str]:
    informer = syncer.pipeline.upstream_namespaces
    return set() if informer is None else {key.name for key in informer.store}


@contextlib.contextmanager
def running(
    make_syncer, up_rest, name: str, namespaces: list[str], **settings: Any
) -> Iterator[Syncer]:
    """A ready syncer whose config selects ConfigMaps in ``namespaces``; stopped after."""
    up_rest.create(SYNCER_CONFIGS, "", manifests.namespace_scope_config(name, namespaces))
    syncer = make_syncer(name, **settings)
    syncer.start()
    try:
        wait_for(syncer.ready.is_set, timeout=60, message="syncer not ready")
        yield syncer
    finally:
        syncer.stop(timeout=10)


def set_namespaces(up_rest, name: str, namespaces: list[str]) -> None:
    changed = up_rest.get(SYNCER_CONFIGS, "", name)
    changed["spec"] = manifests.namespace_scope_config(name, namespaces)["spec"]
    up_rest.replace(SYNCER_CONFIGS, "", name, changed)


def test_upstream_namespaces_are_watched_by_name_as_long_as_the_syncer_needs_them(
    make_syncer, namespaces, unique_name, up_rest, down_rest
):
    selected, other = namespaces
    with running(make_syncer, up_rest, unique_name, [selected]) as syncer:
        # Only the selected Namespace: not the other one, nor any other test's.
        assert syncer.pipeline.upstream_namespace_scope == {selected}
        wait_for(lambda: cached_upstream_namespaces(syncer) == {selected}, timeout=30)
        # A config change adds the other namespace: its Namespace is watched and copied.
        set_namespaces(up_rest, unique_name, [selected, other])
        wait_for(lambda: down_rest.get_or_none(CM, other, "cm11"), timeout=30)
        wait_for(lambda: cached_upstream_namespaces(syncer) == {selected, other}, timeout=30)
        # Deselected: its objects' copies go, its Namespace copy stays while upstream has it,
        # so that Namespace is still watched.
        set_namespaces(up_rest, unique_name, [selected])
        wait_for(lambda: down_rest.get_or_none(CM, other, "cm11") is None, timeout=30)
        assert down_rest.get_or_none(NAMESPACE_GVR, "", other) is not None
        assert cached_upstream_namespaces(syncer) == {selected, other}
        # Deleted upstream: the copy goes too, and the watch of it with it.
        up_rest.delete(NAMESPACE_GVR, "", other)
        wait_for(
            lambda: down_namespace_going(down_rest, other),
            timeout=60,
            message="the copy of a deselected namespace outlived its upstream Namespace",
        )
        wait_for(
            lambda: syncer.pipeline.upstream_namespace_scope == {selected},
            timeout=60,
            message="the watch of a Namespace nobody needs any more was kept",
        )
        # The re-scoped watch lists its one Namespace anew.
        wait_for(lambda: cached_upstream_namespaces(syncer) == {selected}, timeout=30)


def down_namespace_going(down_rest, name: str) -> bool:
    found = down_rest.get_or_none(NAMESPACE_GVR, "", name)
    return found is None or bool(found["metadata"].get("deletionTimestamp"))


def test_a_namespace_wildcard_watches_upstream_namespaces_cluster_wide(
    make_syncer, namespaces, unique_name, up_rest
):
    selected, other = namespaces
    with running(make_syncer, up_rest, unique_name, ["*"]) as syncer:
        assert syncer.pipeline.upstream_namespace_scope is None
        assert {selected, other, "default", "kube-system"} <= cached_upstream_namespaces(syncer)


def test_a_selection_naming_namespaces_caches_only_their_objects_and_follows_changes(
    make_syncer, namespaces, unique_name, up_rest, down_rest
):
    selected, other = namespaces
    with running(make_syncer, up_rest, unique_name, [selected]) as syncer:
        assert cached_namespaces(syncer) == {selected}
        assert down_rest.get_or_none(CM, selected, "cm2") is not None
        # The config names the other namespace too: it is watched, its objects copied.
        set_namespaces(up_rest, unique_name, [selected, other])
        wait_for(lambda: down_rest.get_or_none(CM, other, "cm11"), timeout=30)
        assert cached_namespaces(syncer) == {selected, other}
        # And back: the other namespace's copies go, its objects leave the cache.
        set_namespaces(up_rest, unique_name, [selected])
        wait_for(lambda: down_rest.get_or_none(CM, other, "cm11") is None, timeout=30)
        assert cached_namespaces(syncer) == {selected}


def test_above_the_limit_the_resource_is_watched_cluster_wide(
    make_syncer, namespaces, unique_name, up_rest
):
    selected, other = namespaces
    with running(make_syncer, up_rest, unique_name, [selected], max_namespaced_watches=0) as syncer:
        assert {selected, other} <= cached_namespaces(syncer)
