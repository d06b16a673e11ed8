"""A copy already being deleted is never sent a second DELETE, however often it is reconciled.

A copy with a finalizer stays (with ``deletionTimestamp`` set) after the syncer's DELETE until
whoever owns the finalizer lets it go; meanwhile its events and resyncs reconcile it again.
"""

from __future__ import annotations

from typing import Any

import pytest

from syncpipe.model.events import Direction
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime.syncer import SYNCER_CONFIGS
from syncpipe.testing import wait_for
from syncpipe.testing.manifests import configmap

pytestmark = [pytest.mark.apiserver, pytest.mark.usefixtures("syncer_crds")]

NS = GroupVersionResource("", "v1", "namespaces")
CM = GroupVersionResource("", "v1", "configmaps")
FINALIZER = "example.com/hold"


def config_naming(name: str, ns: str, names: list[str]) -> dict[str, Any]:
    """A SyncerConfig selecting the ConfigMaps ``names`` of namespace ``ns``."""
    entry = {
        "apiVersion": "v1",
        "group": "",
        "resource": "configmaps",
        "objectsByNamespace": [{"namespace": ns, "names": names}],
    }
    return {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "SyncerConfig",
        "metadata": {"name": name},
        "spec": {"namespacedObjects": [entry]},
    }


def test_a_deselected_copy_held_by_a_finalizer_gets_one_delete(
    make_syncer, unique_name, up_rest, down_rest
):
    ns = unique_name
    up_rest.create(NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for name in ("held", "kept"):
        up_rest.create(CM, ns, configmap(ns, name, {"v": "1"}))
    up_rest.create(SYNCER_CONFIGS, "", config_naming(unique_name, ns, ["held", "kept"]))
    syncer = make_syncer(unique_name)
    syncer.start()
    try:
        wait_for(lambda: down_rest.get_or_none(CM, ns, "held"), timeout=30, ignore=(Exception,))
        down_rest.json_patch(
            CM, ns, "held", [{"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]}]
        )
        deletes_before = syncer.downstream.requests_by_verb.get("delete", 0)

        names = "/spec/namespacedObjects/0/objectsByNamespace/0/names"
        up_rest.json_patch(
            SYNCER_CONFIGS, "", unique_name, [{"op": "replace", "path": names, "value": ["kept"]}]
        )
        wait_for(
            lambda: down_rest.get(CM, ns, "held")["metadata"].get("deletionTimestamp"),
            timeout=30,
            message="the de-selected copy was never deleted",
        )
        # Reconciled again and again: by its own events (a label added downstream) and directly.
        down_rest.json_patch(
            CM, ns, "held", [{"op": "add", "path": "/metadata/labels/touched", "value": "yes"}]
        )
        flow = syncer.flows[Direction.DOWN]
        key = ObjectKey(CM, ns, "held")
        info = flow.resolver.target_info_by_gvr(Direction.DOWN, CM)
        assert info is not None
        copies = flow.resolver.target_informer(Direction.DOWN, info).store
        wait_for(
            lambda: (copies.get(key) or {}).get("metadata", {}).get("labels", {}).get("touched"),
            timeout=30,
            message="the syncer never saw the copy change",
        )
        for _ in range(3):
            flow.reconcile(key)
        assert syncer.downstream.requests_by_verb.get("delete", 0) - deletes_before == 1
        assert down_rest.get_or_none(CM, ns, "kept") is not None
    finally:
        syncer.stop(timeout=10)
        down_rest.json_patch(CM, ns, "held", [{"op": "remove", "path": "/metadata/finalizers"}])
