"""A plugin's selection veto cannot empty an edge cluster: its deletions go through the breaker.

A plugin release that suddenly vetoes most selected objects (a bug) would delete every copy it
now excludes. Those deletions count against the deletion circuit breaker like deletions
inferred from a relist: the allowance goes through, the rest is held and reported
(``DeletionsHeld``), and a restart with ``--confirm-held-deletions`` lets them through.
"""

from __future__ import annotations

from typing import Any

import pytest

from syncpipe.hooks import hookimpl
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime.syncer import SYNCER_CONFIGS
from syncpipe.testing import wait_for
from syncpipe.testing.manifests import configmap, namespace_scope_config

pytestmark = [pytest.mark.apiserver, pytest.mark.usefixtures("syncer_crds")]

NS = GroupVersionResource("", "v1", "namespaces")
CM = GroupVersionResource("", "v1", "configmaps")
COUNT, VETOED = 20, 15
# The breaker's allowance per window for 20 owned copies: at least 5 (the default minimum).
ALLOWANCE = 5


class KeepOnlyFirstFive:
    """A buggy plugin release: vetoes every ConfigMap but ``cm-00`` .. ``cm-04``."""

    @hookimpl
    def syncpipe_select(self, key: ObjectKey, obj: Any) -> bool | None:
        if key.gvr.resource != "configmaps":
            return None
        return False if int(key.name.removeprefix("cm-")) >= COUNT - VETOED else None


def copies(down_rest, ns: str) -> set[str]:
    names = {o["metadata"]["name"] for o in down_rest.list(CM, ns)[0]}
    return names - {"kube-root-ca.crt"}


def deletions_held(up_rest, name: str) -> dict[str, Any] | None:
    conditions = (up_rest.get(SYNCER_CONFIGS, "", name).get("status") or {}).get("conditions")
    return next((c for c in conditions or () if c["type"] == "DeletionsHeld"), None)


def test_a_vetoing_plugin_gets_its_allowance_the_rest_is_held_until_confirmed(
    make_syncer, unique_name, up_rest, down_rest
):
    ns = unique_name
    names = {f"cm-{i:02d}" for i in range(COUNT)}
    up_rest.create(NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for name in names:
        up_rest.create(CM, ns, configmap(ns, name, {"v": "1"}))
    up_rest.create(SYNCER_CONFIGS, "", namespace_scope_config(unique_name, [ns]))

    first = make_syncer(unique_name)
    first.start()
    try:
        wait_for(lambda: copies(down_rest, ns) == names, timeout=60, message="copies not made")
    finally:
        first.stop(timeout=10)

    vetoing = make_syncer(unique_name, plugins=[KeepOnlyFirstFive()])
    vetoing.start()
    try:
        expected = f"{VETOED - ALLOWANCE} deletions"

        def all_held() -> dict[str, Any] | None:
            held = deletions_held(up_rest, unique_name)
            return held if held and held["message"].startswith(expected) else None

        held = wait_for(all_held, timeout=60, message=f"{expected} never held")
        assert held["status"] == "True"
        assert held["reason"] == "CircuitBreakerTripped"
        assert "--confirm-held-deletions" in held["message"]
        wait_for(
            lambda: len(copies(down_rest, ns)) == COUNT - ALLOWANCE,
            timeout=30,
            message="the allowance was not deleted",
        )
        assert vetoing.guard.vetoes_held()[0][1] == VETOED - ALLOWANCE
    finally:
        vetoing.stop(timeout=10)

    confirmed = make_syncer(unique_name, plugins=[KeepOnlyFirstFive()], confirm_held_deletions=True)
    confirmed.start()
    try:
        kept = {f"cm-{i:02d}" for i in range(COUNT - VETOED)}
        wait_for(lambda: copies(down_rest, ns) == kept, timeout=60, message="held not released")
        wait_for(
            lambda: deletions_held(up_rest, unique_name) is None,
            timeout=30,
            message="DeletionsHeld still reported after the confirmed restart",
        )
    finally:
        confirmed.stop(timeout=10)
