"""A plugin's status transform shapes the status returned upstream, and writes nothing at rest."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from syncpipe.hooks import hookimpl
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.transforms import Transform
from syncpipe.model.actions import Action
from syncpipe.model.events import Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject
from syncpipe.runtime.syncer import SYNCER_CONFIGS
from syncpipe.testing import wait_for

pytestmark = [pytest.mark.apiserver, pytest.mark.usefixtures("syncer_crds")]


class EdgeStamp:
    """A test plugin: its status transform adds ``returnedFrom`` to every returned status, and
    it records the syncer's upstream writes of gadgets (not its heartbeats and conditions)."""

    def __init__(self, *, broken: bool = False) -> None:
        self.broken = broken
        self.upstream_writes: list[Action] = []
        self._lock = threading.Lock()

    def stamp(self, status: dict[str, Any], ctx: SyncContext) -> dict[str, Any]:
        if self.broken:
            raise ValueError("no edge name configured")
        return {**status, "returnedFrom": ctx.syncer_name}

    @hookimpl
    def syncpipe_register_transforms(self) -> list[Transform]:
        return [Transform(name="edge-stamp", forward=_unchanged, status=self.stamp)]

    @hookimpl
    def syncpipe_action_done(self, action: Action, outcome: Any) -> None:
        if action.side is Side.UPSTREAM and action.key.gvr.resource == "gadgets":
            with self._lock:
                self.upstream_writes.append(action)

    def writes(self) -> int:
        with self._lock:
            return len(self.upstream_writes)


def _unchanged(obj: RawObject, _ctx: SyncContext) -> RawObject:
    return obj


def start_and_report_status(make_syncer, plugin, gadgets, name, down_rest):
    """A syncer with ``plugin``, started and ready; then the edge reports a status on ``g``."""
    syncer = make_syncer(name, plugins=[plugin], status_settle_seconds=0.1)
    syncer.start()
    copy = wait_for(
        lambda: down_rest.get_or_none(gadgets, "", "g"), timeout=30, ignore=(Exception,)
    )
    wait_for(syncer.ready.is_set, timeout=60, message="syncer not ready")
    down_rest.replace(gadgets, "", "g", {**copy, "status": {"seq": "1"}}, subresource="status")
    return syncer


def test_a_status_transform_shapes_the_returned_status_and_writes_nothing_at_rest(
    make_syncer, gadgets, unique_name, up_rest, down_rest
):
    plugin = EdgeStamp()
    syncer = start_and_report_status(make_syncer, plugin, gadgets, unique_name, down_rest)
    try:
        wait_for(
            lambda: (
                up_rest.get(gadgets, "", "g").get("status")
                == {"seq": "1", "returnedFrom": unique_name}
            ),
            timeout=30,
            message="the upstream status never carried the status transform's field",
        )
        wait_for(lambda: plugin.writes() == 1, timeout=10, message="no upstream write recorded")
        # At rest: reconciling the same status again plans nothing upstream.
        key = ObjectKey(gadgets, "", "g")
        wait_for(
            lambda: (
                syncer.status_return.flow.sources[gadgets].informer.store.get(key)["status"]
                == {"seq": "1", "returnedFrom": unique_name}
            ),
            timeout=10,
            message="the upstream cache never showed the returned status",
        )
        syncer.status_return.reconcile(key)
        assert plugin.writes() == 1
        assert [a.verb for a in plugin.upstream_writes] == ["patch"]
    finally:
        syncer.stop(timeout=10)


def test_a_failing_status_transform_rejects_the_object_naming_plugin_and_transform(
    make_syncer, gadgets, unique_name, up_rest, down_rest
):
    plugin = EdgeStamp(broken=True)
    syncer = start_and_report_status(make_syncer, plugin, gadgets, unique_name, down_rest)
    try:

        def ready_condition() -> dict[str, Any] | None:
            conditions = (up_rest.get(SYNCER_CONFIGS, "", unique_name).get("status") or {}).get(
                "conditions"
            ) or ()
            ready = next((c for c in conditions if c["type"] == "Ready"), None)
            return ready if ready and ready["reason"] == "ObjectsRejected" else None

        ready = wait_for(ready_condition, timeout=30, message="the object was never rejected")
        assert "'edge-stamp'" in ready["message"]
        assert "no edge name configured" in ready["message"]
        assert f"{gadgets.group_resource}:g" in ready["message"]
        assert plugin.writes() == 0
        assert "status" not in up_rest.get(gadgets, "", "g")
    finally:
        syncer.stop(timeout=10)
