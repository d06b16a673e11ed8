"""The example plugin, tested as installed: found through its entry point."""

from importlib.metadata import entry_points

import pytest
import syncpipe_team_label

from syncpipe.hooks import manager
from syncpipe.plugin import Direction, PluginOptionError, SyncContext


def test_the_plugin_is_installed_under_the_syncpipe_entry_point_group():
    names = {ep.name for ep in entry_points(group="syncpipe.plugins")}
    assert "team-label" in names


def test_forward_adds_the_configured_team_and_reverse_removes_it():
    ctx = SyncContext(syncer_name="s", plugin_settings={"team-label": {"team": "blue"}})
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"x": "1"}}}
    down = syncpipe_team_label.add_team_label(obj, ctx)
    assert down["metadata"]["labels"] == {"x": "1", "example.com/team": "blue"}
    assert obj["metadata"]["labels"] == {"x": "1"}  # input untouched
    up = syncpipe_team_label.drop_team_label(
        down, SyncContext(syncer_name="s", direction=Direction.UP)
    )
    assert up["metadata"]["labels"] == {"x": "1"}


def test_the_plugin_manager_loads_it_and_can_block_it_by_name():
    ctx = SyncContext(syncer_name="s")
    pm = manager.build()
    names = [t.name for t in manager.Hooks(pm=pm, ctx=ctx).transforms()]
    assert "team-label" in names
    blocked = manager.build(disabled=["team-label"])
    assert "team-label" not in [t.name for t in manager.Hooks(pm=blocked, ctx=ctx).transforms()]


def test_the_team_defaults_to_edge_and_an_unknown_option_is_refused():
    hooks = manager.Hooks(pm=manager.build(), ctx=SyncContext(syncer_name="s"))
    hooks.configure()
    assert hooks.ctx.plugin_config("team-label") == {"team": "edge"}
    misspelt = SyncContext(syncer_name="s", plugin_settings={"team-label": {"taem": "blue"}})
    with pytest.raises(PluginOptionError, match="did you mean 'team'"):
        manager.Hooks(pm=manager.build(), ctx=misspelt).configure()
