"""Who excluded an object: a plugin's veto (counted by the circuit breaker) or the configs."""

from __future__ import annotations

from typing import Any

from syncpipe import builtin
from syncpipe.config import syncerconfig
from syncpipe.config.mergedselection import Selection
from syncpipe.hooks import chain, hookimpl, manager
from syncpipe.hooks.context import SyncContext
from syncpipe.model.events import Direction
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import GroupVersionResource
from syncpipe.testing.manifests import namespace_scope_config

CONFIGMAPS = GroupVersionResource("", "v1", "configmaps")
SELECTED = ObjectKey(CONFIGMAPS, "ns", "selected")
UNSELECTED = ObjectKey(CONFIGMAPS, "other", "unselected")


class Veto:
    """Vetoes every object whose name is in ``names``; no opinion on the others."""

    def __init__(self, *names: str) -> None:
        self.names = names

    @hookimpl
    def syncpipe_select(self, key: ObjectKey, obj: Any) -> bool | None:
        return False if key.name in self.names else None


def hooks_with(*plugins: tuple[str, object]) -> manager.Hooks:
    pm = manager.build(builtins=builtin.MODULES, load_entry_points=False)
    for name, plugin in plugins:
        pm.register(plugin, name=name)
    config = syncerconfig.parse_syncer_config(namespace_scope_config("c", ["ns"]))
    ctx = SyncContext(syncer_name="s1", selection=Selection.from_configs([config]))
    return manager.Hooks(pm=pm, ctx=ctx)


def configmap(key: ObjectKey) -> dict[str, Any]:
    meta = {"name": key.name, "namespace": key.namespace}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def vetoed(hooks: manager.Hooks, key: ObjectKey) -> str:
    return chain.vetoed_by(configmap(key), key=key, hooks=hooks, direction=Direction.DOWN)


def test_a_plugin_vetoing_what_the_configs_select_is_named():
    hooks = hooks_with(("acme", Veto("selected")), ("quiet", Veto()))
    assert vetoed(hooks, SELECTED) == "acme"


def test_every_vetoing_plugin_is_named():
    hooks = hooks_with(("zeta", Veto("selected")), ("acme", Veto("selected")))
    assert vetoed(hooks, SELECTED) == "acme, zeta"


def test_what_no_config_selects_is_not_a_veto():
    hooks = hooks_with(("acme", Veto("unselected")))
    assert vetoed(hooks, UNSELECTED) == ""


def test_without_third_party_plugins_nothing_is_a_veto():
    assert vetoed(hooks_with(), SELECTED) == ""
