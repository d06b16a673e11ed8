"""Config entries naming resources their source side does not serve are listed per config."""

from __future__ import annotations

from syncpipe.config.edgesyncconfig import parse_edge_sync_config
from syncpipe.config.mergedselection import Selection
from syncpipe.model.events import Direction
from tests.unit.config.test_mergedselection import CHEESE, DISCOVERY, config

WIDGETS = {"group": "my.domain", "resource": "widgets", "apiVersion": "v1alpha1"}
CONFIGMAPS = {"group": "", "resource": "configmaps", "apiVersion": "v1"}


def test_entries_naming_unserved_resources_are_listed_per_config_and_side():
    selection = Selection.from_configs(
        [
            config(
                "a",
                {
                    "namespaceScope": {"namespaces": ["ns"], "resources": [CONFIGMAPS, WIDGETS]},
                    "clusterScope": [
                        {"group": "other.domain", "resource": "*", "apiVersion": "v1"},
                        {"group": CHEESE, "resource": "goudas", "apiVersion": "v1"},
                    ],
                    "upsync": [{"apiGroup": "up.domain", "resources": ["reports"], "names": ["*"]}],
                },
            ),
            config("b", {"namespaceScope": {"namespaces": ["x"], "resources": [CONFIGMAPS]}}),
        ]
    )
    down = selection.unserved(Direction.DOWN, DISCOVERY)
    assert dict(down) == {
        "SyncerConfig/a": ("*.other.domain/v1", "widgets.my.domain/v1alpha1"),
    }
    up = selection.unserved(Direction.UP, DISCOVERY)
    assert dict(up) == {"SyncerConfig/a": ("reports.up.domain",)}


def test_an_entry_asking_for_a_version_not_served_is_unserved():
    selection = Selection.from_configs(
        [
            config(
                "a", {"clusterScope": [{"group": CHEESE, "resource": "goudas", "apiVersion": "v2"}]}
            )
        ]
    )
    assert dict(selection.unserved(Direction.DOWN, DISCOVERY)) == {
        "SyncerConfig/a": (f"goudas.{CHEESE}/v2",)
    }


def test_once_discovery_serves_the_resource_nothing_is_listed():
    selection = Selection.from_configs(
        [config("a", {"namespaceScope": {"namespaces": ["ns"], "resources": [CONFIGMAPS]}})]
    )
    assert dict(selection.unserved(Direction.DOWN, DISCOVERY)) == {}
    assert dict(selection.unserved(Direction.UP, DISCOVERY)) == {}


def test_edge_sync_config_entries_by_kind_are_checked_by_kind():
    edge = parse_edge_sync_config(
        {
            "apiVersion": "edge.kubestellar.io/v2alpha1",
            "kind": "EdgeSyncConfig",
            "metadata": {"name": "e"},
            "spec": {
                "downSyncedResources": [
                    {
                        "group": CHEESE,
                        "version": "v1",
                        "kind": "Cheddar",
                        "namespace": "ns",
                        "name": "c",
                    },
                    {
                        "group": CHEESE,
                        "version": "v1",
                        "kind": "Brie",
                        "namespace": "ns",
                        "name": "b",
                    },
                ]
            },
        }
    )
    selection = Selection.from_configs([edge])
    assert dict(selection.unserved(Direction.DOWN, DISCOVERY)) == {
        "EdgeSyncConfig/e": (f"kind Brie.{CHEESE}/v1",)
    }
