"""A selected namespace and an object in it, on the real control planes: one write to the
namespace whichever reconcile comes first.

The test forces the order that used to cost two writes: the ConfigMap's reconcile finds the
namespace missing before the Namespace's own reconcile has run (the Namespace key is held out
of the downsync queue until the ConfigMap copy exists). The namespace must then be created
whole by the ConfigMap's prerequisite (source locator, the transforms' labels, and under a
mapping the upstream-namespace locator) and never patched afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from syncpipe.builtin import ownership
from syncpipe.builtin.namespaces import UPSTREAM_NAMESPACE_ANNOTATION
from syncpipe.hooks import hookimpl
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.transforms import Transform
from syncpipe.model.actions import Action, Create
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject, with_labels
from syncpipe.model.resources import NAMESPACE_GVR, GroupVersionResource, ResourceInfo
from syncpipe.runtime.syncer import SYNCER_CONFIGS
from syncpipe.runtime.workqueue import WorkQueue
from syncpipe.testing import wait_for
from syncpipe.testing.manifests import configmap, namespace_scope_config

pytestmark = [pytest.mark.apiserver, pytest.mark.usefixtures("syncer_crds")]

CM = GroupVersionResource("", "v1", "configmaps")
TEAM_LABEL = {"example.com/team": "a"}


def _is_namespace(info: ResourceInfo) -> bool:
    return info.gvr.group_resource == NAMESPACE_GVR.group_resource


def _labelled(obj: RawObject, _ctx: SyncContext) -> RawObject:
    return with_labels(obj, TEAM_LABEL)


class NamespaceLast:
    """Holds the Namespace key of namespace ``name`` out of the downsync queue until a ConfigMap
    of it has been created downstream (the Namespace source "held back"), and records every
    write to that namespace."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.writes: list[Action] = []
        self.held: list[ObjectKey] = []
        self._queue_add: Callable[[ObjectKey], None] = lambda _key: None
        self._dependent_created = False
        self._lock = threading.Lock()

    def hold_back_in(self, queue: WorkQueue[ObjectKey]) -> None:
        """Wrap ``queue.add``: Namespace keys wait there until the ConfigMap copy exists."""
        self._queue_add = queue.add
        queue.add = self._add  # type: ignore[method-assign]

    def _is_namespace(self, key: ObjectKey, gvr: GroupVersionResource) -> bool:
        return key.gvr == gvr and self.name in (key.name, key.namespace)

    def _add(self, key: ObjectKey) -> None:
        with self._lock:
            hold = not self._dependent_created and key.gvr == NAMESPACE_GVR
            if hold:
                self.held.append(key)
        if not hold:
            self._queue_add(key)

    @hookimpl
    def syncpipe_register_transforms(self) -> list[Transform]:
        return [Transform(name="team-label", forward=_labelled, applies_to=_is_namespace)]

    @hookimpl
    def syncpipe_action_done(self, action: Action) -> None:
        if self._is_namespace(action.key, NAMESPACE_GVR):
            with self._lock:
                self.writes.append(action)
        elif self._is_namespace(action.key, CM) and isinstance(action, Create):
            with self._lock:
                self._dependent_created = True
                held, self.held = self.held, []
            for key in held:
                self._queue_add(key)


@pytest.mark.parametrize("mapping", ["identity", "prefix:m-"])
def test_a_selected_namespace_found_missing_by_an_object_in_it_is_created_whole_once(
    make_syncer, up_rest, down_rest, unique_name, mapping
):
    ns = unique_name[-50:].strip("-")  # the random tail keeps the parameters apart
    target_ns = ns if mapping == "identity" else f"m-{ns}"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
    up_rest.create(NAMESPACE_GVR, "", namespace)
    up_rest.create(CM, ns, configmap(ns, "cm1", {"a": "1"}))
    up_rest.create(SYNCER_CONFIGS, "", namespace_scope_config(unique_name, [ns]))
    tap = NamespaceLast(target_ns)
    syncer = make_syncer(unique_name, plugins=[tap], namespace_mapping=mapping)
    tap.hold_back_in(syncer.down_queue)
    syncer.start()
    try:
        wait_for(syncer.ready.is_set, timeout=60, message="syncer not ready")
        assert down_rest.get_or_none(CM, target_ns, "cm1") is not None
    finally:
        syncer.stop(timeout=10)
    # Exactly one write to the namespace (the ConfigMap's prerequisite's): a create...
    assert [action.verb for action in tap.writes] == ["create"]
    (create,) = tap.writes
    assert isinstance(create, Create)
    # ... with the Namespace's full desired body, as its own reconcile would have created it.
    created = down_rest.get(NAMESPACE_GVR, "", target_ns)
    annotations = created["metadata"]["annotations"]
    assert created["metadata"]["labels"].items() >= TEAM_LABEL.items()
    assert (
        annotations[ownership.SOURCE_ANNOTATION]
        == create.body["metadata"]["annotations"][ownership.SOURCE_ANNOTATION]
    )
    if mapping != "identity":
        assert annotations[UPSTREAM_NAMESPACE_ANNOTATION] == ns
    assert ownership.is_owned(created, syncer_name=unique_name)
