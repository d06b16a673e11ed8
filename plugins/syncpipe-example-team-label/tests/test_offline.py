"""The example plugin in the real pipeline, offline: the writes it leads to, and none at rest."""

import copy

import pytest
import syncpipe_team_label

from syncpipe.plugin import PluginOptionError
from syncpipe.testing import manifests

WORKLOAD = manifests.deployment("shop", "web")


@pytest.fixture
def harness(pipeline_harness):
    harness = pipeline_harness(
        plugins={"team-label": syncpipe_team_label},
        plugin_options={"team-label": {"team": "blue"}},
    )
    harness.upstream.apply(WORKLOAD)
    return harness


def test_every_copy_downstream_carries_the_configured_team(harness):
    result = harness.sync()
    web = result.created("apps/v1", "Deployment", "shop/web")
    assert web["metadata"]["labels"]["example.com/team"] == "blue"
    namespace = result.created("v1", "Namespace", "shop")
    assert namespace["metadata"]["labels"]["example.com/team"] == "blue"


def test_the_label_costs_no_write_at_rest(harness):
    harness.sync()
    harness.assert_at_rest()


def test_a_change_upstream_patches_only_what_changed_and_keeps_the_label(harness):
    harness.sync()
    changed = copy.deepcopy(WORKLOAD)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:2"
    harness.upstream.apply(changed)
    result = harness.sync()
    assert result.patched("apps/v1", "Deployment", "shop/web") == [
        {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "busybox:2"}
    ]
    web = harness.downstream.get("apps/v1", "Deployment", "shop/web")
    assert web["metadata"]["labels"]["example.com/team"] == "blue"


def test_without_the_option_the_team_is_edge(pipeline_harness):
    harness = pipeline_harness(plugins={"team-label": syncpipe_team_label})
    harness.upstream.apply(WORKLOAD)
    web = harness.sync().created("apps/v1", "Deployment", "shop/web")
    assert web["metadata"]["labels"]["example.com/team"] == "edge"


def test_a_misspelt_option_stops_the_pipeline_before_any_write(pipeline_harness):
    harness = pipeline_harness(
        plugins={"team-label": syncpipe_team_label},
        plugin_options={"team-label": {"taem": "blue"}},
    )
    harness.upstream.apply(WORKLOAD)
    with pytest.raises(PluginOptionError, match="did you mean 'team'"):
        harness.sync()


def test_the_installed_plugin_is_the_one_tested_when_both_are_asked_for(pipeline_harness):
    harness = pipeline_harness(
        plugins={"team-label": syncpipe_team_label},
        installed_plugins=True,
        plugin_options={"team-label": {"team": "green"}},
    )
    harness.upstream.apply(WORKLOAD)
    web = harness.sync().created("apps/v1", "Deployment", "shop/web")
    assert web["metadata"]["labels"]["example.com/team"] == "green"
