"""What a merged Selection selects: the original's expectations, adapted to syncpipe's fixes."""

from __future__ import annotations

from importlib.resources import files

import pytest
import yaml

from syncpipe.config.edgesyncconfig import Conversion, EdgeSyncConfig, EdgeSyncResource
from syncpipe.config.mergedselection import Selection, summary
from syncpipe.config.rules import ResourcePattern
from syncpipe.config.syncerconfig import SyncerConfig, parse_config
from syncpipe.model.events import Direction
from syncpipe.model.resources import NAMESPACE_GVR, GroupVersionResource, ResourceInfo

CHEESE = "cheese.testing.k8s.io"
VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")


def info(group: str, version: str, resource: str, kind: str, *, namespaced: bool, verbs=VERBS):
    return ResourceInfo(
        gvr=GroupVersionResource(group, version, resource),
        kind=kind,
        namespaced=namespaced,
        verbs=frozenset(verbs),
    )


# The discovery of the original's unit test (reference §2.2).
DISCOVERY = (
    info("", "v1", "configmaps", "ConfigMap", namespaced=True),
    info("", "v1", "secrets", "Secret", namespaced=True),
    info("", "v1", "namespaces", "Namespace", namespaced=False),
    info("", "v1", "bindings", "Binding", namespaced=True, verbs=("create",)),
    info("apps", "v1", "deployments", "Deployment", namespaced=True),
    info("apps", "v1", "deployments/scale", "Scale", namespaced=True, verbs=("get", "update")),
    info("apps", "v1", "deployments/status", "Deployment", namespaced=True, verbs=("get",)),
    info(CHEESE, "v1", "cheddars", "Cheddar", namespaced=True),
    info(CHEESE, "v1", "goudas", "Gouda", namespaced=False),
    info(CHEESE, "v27alpha15", "cheddars", "Cheddar", namespaced=True),
    info(CHEESE, "v27alpha15", "goudas", "Gouda", namespaced=False),
)

CONFIGMAPS = GroupVersionResource("", "v1", "configmaps")
SECRETS = GroupVersionResource("", "v1", "secrets")
CHEDDARS = GroupVersionResource(CHEESE, "v1", "cheddars")


def config(name: str, spec: dict) -> SyncerConfig:
    parsed = parse_config(
        {
            "apiVersion": "edge.kubestellar.io/v2alpha1",
            "kind": "SyncerConfig",
            "metadata": {"name": name},
            "spec": spec,
        }
    )
    assert isinstance(parsed, SyncerConfig)
    return parsed


def gvrs(infos) -> list[str]:
    return [str(i.gvr) for i in infos]


# -- reference §2.2: the cheese.testing.k8s.io example ---------------------------------------

CHEESE_UPSYNC = [{"apiGroup": CHEESE, "resources": ["*"], "namespaces": ["*"], "names": ["*"]}]
CHEESE_CLUSTER_SCOPE = [{"group": CHEESE, "resource": "cheddars", "apiVersion": "v1"}]


@pytest.fixture(
    params=[
        {
            "namespaceScope": {
                "namespaces": ["default"],
                "resources": [{"group": "", "resource": "configmaps", "apiVersion": "v1"}],
            }
        },
        {
            "namespacedObjects": [
                {
                    "group": "",
                    "resource": "configmaps",
                    "apiVersion": "v1",
                    "objectsByNamespace": [{"namespace": "default", "names": ["*"]}],
                }
            ]
        },
    ],
    ids=["namespaceScope", "namespacedObjects"],
)
def cheese(request) -> Selection:
    spec = {**request.param, "clusterScope": CHEESE_CLUSTER_SCOPE, "upsync": CHEESE_UPSYNC}
    return Selection.from_configs([config("cheese", spec)])


def test_cheese_downsyncs_the_configmaps_of_default_and_the_namespace(cheese):
    assert cheese.downsync_reasons(CONFIGMAPS, "default", "any") == {"SyncerConfig/cheese"}
    assert cheese.downsync_reasons(CONFIGMAPS, "other", "any") == set()
    assert cheese.downsync_reasons(NAMESPACE_GVR, "", "default") == {"SyncerConfig/cheese"}
    assert cheese.downsync_reasons(NAMESPACE_GVR, "", "other") == set()
    assert dict(cheese.required_namespaces()) == {"default": {"SyncerConfig/cheese"}}


def test_cheese_namespaced_cheddars_under_cluster_scope_select_nothing_and_say_why(cheese):
    # The original listed cheddars across all namespaces and then failed to create them.
    assert cheese.downsync_reasons(CHEDDARS, "default", "c1") == set()
    assert gvrs(cheese.resolve_downsync(DISCOVERY)) == ["v1/configmaps", "v1/namespaces"]
    [problem] = cheese.downsync_scope_problems(DISCOVERY)
    assert problem.config == "SyncerConfig/cheese"
    assert problem.path == "$.spec.clusterScope[0]"
    assert "cheddars.cheese.testing.k8s.io is namespaced" in problem.message
    assert "namespaceScope or namespacedObjects" in problem.message


def test_cheese_upsyncs_every_cheese_resource_once_in_the_preferred_version(cheese):
    # The original made one entry per served version (v1 and v27alpha15); one watch suffices.
    assert gvrs(cheese.resolve_upsync(DISCOVERY)) == [
        "cheese.testing.k8s.io/v1/cheddars",
        "cheese.testing.k8s.io/v1/goudas",
    ]
    preferred = cheese.resolve_upsync(DISCOVERY, preferred_versions={CHEESE: "v27alpha15"})
    assert gvrs(preferred) == [
        "cheese.testing.k8s.io/v27alpha15/cheddars",
        "cheese.testing.k8s.io/v27alpha15/goudas",
    ]
    assert cheese.upsync_reasons(CHEESE, "cheddars", "ns", "c", True) == {"SyncerConfig/cheese"}
    assert cheese.upsync_reasons(CHEESE, "goudas", "", "g", False) == {"SyncerConfig/cheese"}


def test_cheese_overlap_of_misused_cheddars_vanishes_given_discovery(cheese):
    # Without discovery, clusterScope cheddars and upsync of every cheese object overlap on
    # paper; discovery shows cheddars are namespaced, so the downsync entry selects nothing.
    [problem] = cheese.overlaps()
    assert "every object of cheddars.cheese.testing.k8s.io" in problem.message
    assert cheese.overlaps(DISCOVERY) == ()


def test_cheese_upsync_does_not_upsync_namespaces(cheese):
    # The original added an upsync entry Namespace/* (adopting e.g. `default` upstream).
    assert cheese.upsync_reasons("", "namespaces", "", "default", False) == set()
    assert cheese.upsync_resource_patterns() == (ResourcePattern(group=CHEESE, resource="*"),)


def test_emptying_the_config_empties_the_selection_and_is_a_change(cheese):
    emptied = Selection.from_configs([config("cheese", {})])
    assert emptied != cheese
    assert emptied.is_empty
    assert emptied.downsync_reasons(CONFIGMAPS, "default", "any") == set()
    assert emptied.resolve_downsync(DISCOVERY) == ()
    assert emptied.resolve_upsync(DISCOVERY) == ()


# -- reference §4.6: which namespaced objects are and are not selected ------------------------

NAMESPACED_OBJECTS_SPEC = {
    "namespaceScope": {
        "namespaces": ["test1"],
        "resources": [
            {"group": "", "resource": "configmaps", "apiVersion": "v1"},
            {"group": "", "resource": "secrets", "apiVersion": "v1"},
        ],
    },
    "namespacedObjects": [
        {
            "group": "",
            "resource": "configmaps",
            "apiVersion": "v1",
            "objectsByNamespace": [
                {"namespace": "test2", "names": ["cm1"]},
                {"namespace": "test3", "names": []},
                {"namespace": "should-not-synced", "names": []},
            ],
        },
        {
            "group": "",
            "resource": "secrets",
            "apiVersion": "v1",
            "objectsByNamespace": [
                {"namespace": "test2", "names": []},
                {"namespace": "test3", "names": ["s1"]},
                {"namespace": "should-not-synced", "names": []},
            ],
        },
    ],
}


@pytest.mark.parametrize(
    ("gvr", "namespace", "name", "selected"),
    [
        (NAMESPACE_GVR, "", "test1", True),
        (NAMESPACE_GVR, "", "test2", True),
        (NAMESPACE_GVR, "", "test3", True),
        (NAMESPACE_GVR, "", "should-not-synced", False),
        (CONFIGMAPS, "test1", "cm1", True),
        (CONFIGMAPS, "test1", "cm2", True),
        (CONFIGMAPS, "test2", "cm1", True),
        (CONFIGMAPS, "test2", "cm2", False),
        (CONFIGMAPS, "test3", "cm1", False),
        (SECRETS, "test1", "s1", True),
        (SECRETS, "test3", "s1", True),
        (SECRETS, "test2", "s1", False),
    ],
)
def test_namespaced_objects_select_as_the_original_e2e_test_expects(gvr, namespace, name, selected):
    selection = Selection.from_configs([config("syncer-config", NAMESPACED_OBJECTS_SPEC)])
    expected = {"SyncerConfig/syncer-config"} if selected else set()
    assert selection.downsync_reasons(gvr, namespace, name) == expected


def test_only_namespaces_with_names_are_required():
    selection = Selection.from_configs([config("syncer-config", NAMESPACED_OBJECTS_SPEC)])
    assert list(selection.required_namespaces()) == ["test1", "test2", "test3"]


# -- reference §4.2/4.3: the e2e SyncerConfig shipped as the example -------------------------


def example() -> SyncerConfig:
    text = files("syncpipe").joinpath("examples/syncerconfig.yaml").read_text()
    parsed = parse_config(yaml.safe_load(text))
    assert isinstance(parsed, SyncerConfig)
    return parsed


def test_the_example_selects_the_e2e_objects():
    selection = Selection.from_configs([example()])
    ref = {"SyncerConfig/syncer-config"}
    crds = GroupVersionResource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    downsyncs = GroupVersionResource("my.domain", "v1alpha1", "sampledownsyncs")
    assert selection.downsync_reasons(crds, "", "sampleupsyncs.my.domain") == ref
    assert selection.downsync_reasons(crds, "", "samples.my.domain") == set()
    assert selection.downsync_reasons(downsyncs, "", "sample-downsync") == ref
    assert selection.downsync_reasons(downsyncs, "", "other") == set()
    assert selection.downsync_reasons(CONFIGMAPS, "test", "anything") == ref
    assert selection.downsync_reasons(NAMESPACE_GVR, "", "test") == ref
    # upsync of a cluster-scoped resource needs no namespaces
    assert selection.upsync_reasons("my.domain", "sampleupsyncs", "", "sample-upsync", False) == ref
    assert selection.upsync_reasons("my.domain", "sampleupsyncs", "", "other", False) == set()
    assert selection.overlaps() == ()


def test_matching_ignores_the_version_but_watching_uses_the_configured_one():
    selection = Selection.from_configs(
        [
            config(
                "c",
                {
                    "clusterScope": [
                        {"group": CHEESE, "resource": "goudas", "apiVersion": "v27alpha15"}
                    ]
                },
            )
        ]
    )
    v1 = GroupVersionResource(CHEESE, "v1", "goudas")
    assert selection.downsync_reasons(v1, "", "g") == {"SyncerConfig/c"}
    assert gvrs(selection.resolve_downsync(DISCOVERY)) == [
        "cheese.testing.k8s.io/v27alpha15/goudas"
    ]


def test_two_configs_asking_for_different_versions_get_one_watch_in_the_preferred_version():
    one = config(
        "one",
        {"clusterScope": [{"group": CHEESE, "resource": "goudas", "apiVersion": "v27alpha15"}]},
    )
    two = config(
        "two", {"clusterScope": [{"group": CHEESE, "resource": "goudas", "apiVersion": "v1"}]}
    )
    selection = Selection.from_configs([one, two])
    assert gvrs(selection.resolve_downsync(DISCOVERY)) == ["cheese.testing.k8s.io/v1/goudas"]
    both = selection.downsync_reasons(GroupVersionResource(CHEESE, "v1", "goudas"), "", "g")
    assert both == {"SyncerConfig/one", "SyncerConfig/two"}


def test_a_wildcard_resource_expands_to_listable_watchable_resources_never_subresources():
    selection = Selection.from_configs(
        [
            config(
                "all",
                {
                    "namespaceScope": {
                        "namespaces": ["ns"],
                        "resources": [
                            {"group": "", "resource": "*", "apiVersion": "v1"},
                            {"group": "apps", "resource": "*", "apiVersion": "v1"},
                        ],
                    }
                },
            )
        ]
    )
    # bindings cannot be listed; namespaces are cluster-scoped (but implied by the namespace)
    assert gvrs(selection.resolve_downsync(DISCOVERY)) == [
        "v1/configmaps",
        "v1/namespaces",
        "v1/secrets",
        "apps/v1/deployments",
    ]
    assert selection.downsync_reasons(CONFIGMAPS, "ns", "x") == {"SyncerConfig/all"}
    assert selection.downsync_scope_problems(DISCOVERY) == ()


def test_namespace_wildcard_selects_every_namespace_and_its_contents():
    selection = Selection.from_configs(
        [
            config(
                "all",
                {
                    "namespaceScope": {
                        "namespaces": ["*"],
                        "resources": [{"group": "", "resource": "configmaps", "apiVersion": "v1"}],
                    }
                },
            )
        ]
    )
    assert selection.downsync_reasons(CONFIGMAPS, "anywhere", "x") == {"SyncerConfig/all"}
    assert selection.downsync_reasons(NAMESPACE_GVR, "", "anywhere") == {"SyncerConfig/all"}
    assert list(selection.required_namespaces()) == ["*"]


def test_a_cluster_scoped_resource_under_namespace_scope_selects_nothing_and_says_why():
    selection = Selection.from_configs(
        [
            config(
                "c",
                {
                    "namespaceScope": {
                        "namespaces": ["a"],
                        "resources": [{"group": CHEESE, "resource": "goudas", "apiVersion": "v1"}],
                    }
                },
            )
        ]
    )
    goudas = GroupVersionResource(CHEESE, "v1", "goudas")
    assert selection.downsync_reasons(goudas, "", "g") == set()
    assert gvrs(selection.resolve_downsync(DISCOVERY)) == ["v1/namespaces"]
    [problem] = selection.downsync_scope_problems(DISCOVERY)
    assert problem.path == "$.spec.namespaceScope.resources[0].resource"
    assert "is cluster-scoped" in problem.message
    assert "clusterScope" in problem.message


def test_a_resource_that_cannot_be_watched_is_reported():
    selection = Selection.from_configs(
        [
            config(
                "c",
                {
                    "namespaceScope": {
                        "namespaces": ["a"],
                        "resources": [{"group": "", "resource": "bindings", "apiVersion": "v1"}],
                    }
                },
            )
        ]
    )
    [problem] = selection.downsync_scope_problems(DISCOVERY)
    assert "cannot be listed and watched" in problem.message


def test_resources_not_served_yet_are_no_problem_and_are_not_watched():
    selection = Selection.from_configs(
        [
            config(
                "c",
                {
                    "clusterScope": [
                        {"group": "my.domain", "resource": "samples", "apiVersion": "v1alpha1"}
                    ]
                },
            )
        ]
    )
    assert selection.downsync_scope_problems(DISCOVERY) == ()
    assert selection.resolve_downsync(DISCOVERY) == ()
    assert selection.downsync_resource_patterns() == (
        ResourcePattern(group="my.domain", version="v1alpha1", resource="samples"),
    )


def test_upsync_with_empty_lists_selects_nothing():
    selection = Selection.from_configs(
        [
            config(
                "c",
                {
                    "upsync": [
                        {
                            "apiGroup": "",
                            "resources": ["configmaps"],
                            "namespaces": ["a"],
                            "names": [],
                        },
                        {
                            "apiGroup": "",
                            "resources": ["secrets"],
                            "namespaces": [],
                            "names": ["s"],
                        },
                        {"apiGroup": "", "resources": [], "namespaces": ["a"], "names": ["s"]},
                    ]
                },
            )
        ]
    )
    assert selection.upsync_reasons("", "configmaps", "a", "x", True) == set()
    assert selection.upsync_reasons("", "secrets", "a", "s", True) == set()
    assert selection.resolve_upsync(DISCOVERY) == ()


# -- EdgeSyncConfig (reference §4.1) ---------------------------------------------------------

EDGE = EdgeSyncConfig(
    name="test",
    down_synced=[
        EdgeSyncResource(kind="Namespace", name="test", version="v1"),
        EdgeSyncResource(kind="ConfigMap", name="test", namespace="test", version="v1"),
        EdgeSyncResource(kind="Cheddar", name="*", namespace="*", group=CHEESE),
        EdgeSyncResource(kind="Secret", name="kyverno-test", version="v1"),  # no namespace
    ],
    up_synced=[EdgeSyncResource(kind="Gouda", name="g", group=CHEESE)],
    conversions=[
        Conversion(
            EdgeSyncResource(kind="Gouda", name="a.denatured", group=CHEESE),
            EdgeSyncResource(kind="Gouda", name="a", group=CHEESE),
        )
    ],
)


def test_edge_sync_config_entries_match_by_kind():
    selection = Selection.from_configs([EDGE])
    ref = {"EdgeSyncConfig/test"}
    assert selection.downsync_reasons(NAMESPACE_GVR, "", "test", kind="Namespace") == ref
    assert selection.downsync_reasons(CONFIGMAPS, "test", "test", kind="ConfigMap") == ref
    assert selection.downsync_reasons(CONFIGMAPS, "test", "other", kind="ConfigMap") == set()
    assert selection.downsync_reasons(CHEDDARS, "any", "c", kind="Cheddar") == ref
    assert selection.upsync_reasons(CHEESE, "goudas", "", "g", False, kind="Gouda") == ref
    # Without the kind, kind-based entries cannot match: callers pass ResourceInfo.kind.
    assert selection.downsync_reasons(CONFIGMAPS, "test", "test") == set()


def test_edge_sync_config_kinds_resolve_against_discovery():
    selection = Selection.from_configs([EDGE])
    # Secret without a namespace selects nothing, so secrets are not watched.
    assert gvrs(selection.resolve_downsync(DISCOVERY)) == [
        "v1/configmaps",
        "v1/namespaces",
        "cheese.testing.k8s.io/v1/cheddars",
    ]
    assert gvrs(selection.resolve_upsync(DISCOVERY)) == ["cheese.testing.k8s.io/v1/goudas"]
    [problem] = selection.downsync_scope_problems(DISCOVERY)
    assert problem == problem.__class__(
        config="EdgeSyncConfig/test",
        path="$.spec.downSyncedResources[3]",
        message="kind Secret is namespaced but this entry selects cluster-scoped objects, "
        'so it selects nothing; set namespace (a name or "*")',
    )


def test_edge_sync_config_conversions_are_kept_in_order_with_their_config():
    selection = Selection.from_configs([EDGE])
    [rule] = selection.conversions
    assert (rule.reason, rule.index) == ("EdgeSyncConfig/test", 0)
    assert rule.conversion.upstream.name == "a.denatured"


def test_a_syncer_config_and_an_edge_sync_config_may_share_a_name():
    same_name = config("test", {"namespaceScope": {"namespaces": ["test"]}})
    selection = Selection.from_configs([same_name, EDGE])
    assert selection.downsync_reasons(NAMESPACE_GVR, "", "test", kind="Namespace") == {
        "SyncerConfig/test",
        "EdgeSyncConfig/test",
    }


# -- provenance and overlaps ---------------------------------------------------------------


def test_reasons_name_every_config_that_selects_the_object():
    one = config(
        "one",
        {
            "namespaceScope": {
                "namespaces": ["a"],
                "resources": [{"group": "", "resource": "configmaps", "apiVersion": "v1"}],
            }
        },
    )
    two = config(
        "two",
        {
            "namespacedObjects": [
                {
                    "group": "",
                    "resource": "*",
                    "apiVersion": "v1",
                    "objectsByNamespace": [{"namespace": "a", "names": ["cm"]}],
                }
            ]
        },
    )
    selection = Selection.from_configs([one, two])
    assert selection.downsync_reasons(CONFIGMAPS, "a", "cm") == {
        "SyncerConfig/one",
        "SyncerConfig/two",
    }
    assert selection.downsync_reasons(CONFIGMAPS, "a", "other") == {"SyncerConfig/one"}
    assert selection.required_namespaces()["a"] == {"SyncerConfig/one", "SyncerConfig/two"}


def test_an_object_selected_both_ways_is_reported_against_the_upsync_entry():
    down = config(
        "down",
        {
            "namespaceScope": {
                "namespaces": ["a"],
                "resources": [{"group": "", "resource": "configmaps", "apiVersion": "v1"}],
            }
        },
    )
    up = config(
        "up",
        {
            "upsync": [
                {
                    "apiGroup": "",
                    "resources": ["configmaps", "secrets"],
                    "namespaces": ["*"],
                    "names": ["cm"],
                }
            ]
        },
    )
    [problem] = Selection.from_configs([down, up]).overlaps()
    assert problem.config == "SyncerConfig/up"
    assert problem.path == "$.spec.upsync[0]"
    assert problem.message == (
        "upsyncs object 'cm' of configmaps in namespace 'a', which SyncerConfig/down downsyncs "
        "(at $.spec.namespaceScope.resources[0].resource); an object must not be synced both ways"
    )


def test_disjoint_downsync_and_upsync_are_no_overlap():
    down = config(
        "down",
        {
            "namespaceScope": {
                "namespaces": ["a"],
                "resources": [{"group": "", "resource": "configmaps", "apiVersion": "v1"}],
            }
        },
    )
    up = config(
        "up",
        {
            "upsync": [
                {"apiGroup": "", "resources": ["configmaps"], "namespaces": ["b"], "names": ["*"]}
            ]
        },
    )
    assert Selection.from_configs([down, up]).overlaps() == ()


def test_kind_and_resource_entries_are_compared_given_discovery():
    down = config(
        "down", {"clusterScope": [{"group": CHEESE, "resource": "goudas", "apiVersion": "v1"}]}
    )
    selection = Selection.from_configs([down, EDGE])
    assert selection.overlaps() == ()
    [problem] = selection.overlaps(DISCOVERY)
    assert problem.config == "EdgeSyncConfig/test"
    assert "object 'g' of goudas.cheese.testing.k8s.io" in problem.message


def test_equal_selections_hash_equal_whatever_the_paths():
    a = config("c", {"namespaceScope": {"namespaces": ["x", "y"]}})
    b = config("c", {"namespaceScope": {"namespaces": ["y", "x", "x"]}})
    assert Selection.from_configs([a]) == Selection.from_configs([b])
    assert len({Selection.from_configs([a]), Selection.from_configs([b])}) == 1


def test_summary_lists_what_is_selected():
    assert summary(Selection.from_configs([example()])) == {
        "configs": ["SyncerConfig/syncer-config"],
        "downsync": [
            "v1/configmaps",
            "v1/namespaces",
            "apiextensions.k8s.io/v1/customresourcedefinitions",
            "my.domain/v1alpha1/sampledownsyncs",
        ],
        "upsync": ["my.domain/*/sampleupsyncs"],
        "namespaces": ["test"],
        "label_selectors": [],
        "conversions": 0,
    }


# -- objectSelector ---------------------------------------------------------------------------

SHOP = {"matchLabels": {"app.kubernetes.io/part-of": "shop"}}
SHOP_LABELS = {"app.kubernetes.io/part-of": "shop"}


def test_an_object_selector_narrows_an_entry_to_the_objects_whose_labels_match():
    selection = Selection.from_configs(
        [
            config(
                "shop",
                {
                    "namespaceScope": {
                        "namespaces": ["shop"],
                        "resources": [
                            {
                                "group": "",
                                "resource": "configmaps",
                                "apiVersion": "v1",
                                "objectSelector": SHOP,
                            }
                        ],
                    }
                },
            )
        ]
    )
    assert selection.downsync_reasons(CONFIGMAPS, "shop", "a", labels=SHOP_LABELS) == {
        "SyncerConfig/shop"
    }
    assert not selection.downsync_reasons(CONFIGMAPS, "shop", "a", labels={"other": "x"})
    assert not selection.downsync_reasons(CONFIGMAPS, "shop", "a")
    # The namespace is still needed downstream, whatever labels its contents carry.
    assert "shop" in selection.required_namespaces()


def test_names_and_a_selector_in_one_entry_select_their_intersection():
    selection = Selection.from_configs(
        [
            config(
                "both",
                {
                    "namespacedObjects": [
                        {
                            "group": "",
                            "resource": "configmaps",
                            "apiVersion": "v1",
                            "objectSelector": SHOP,
                            "objectsByNamespace": [{"namespace": "shop", "names": ["a"]}],
                        }
                    ]
                },
            )
        ]
    )
    assert selection.downsync_reasons(CONFIGMAPS, "shop", "a", labels=SHOP_LABELS)
    assert not selection.downsync_reasons(CONFIGMAPS, "shop", "b", labels=SHOP_LABELS)
    assert not selection.downsync_reasons(CONFIGMAPS, "shop", "a", labels={})


def test_another_config_without_a_selector_still_selects_unlabelled_objects():
    labelled = config(
        "labelled",
        {
            "clusterScope": [
                {"group": CHEESE, "resource": "goudas", "apiVersion": "v1", "objectSelector": SHOP}
            ]
        },
    )
    named = config(
        "named",
        {
            "clusterScope": [
                {"group": CHEESE, "resource": "goudas", "apiVersion": "v1", "objects": ["old"]}
            ]
        },
    )
    goudas = GroupVersionResource(CHEESE, "v1", "goudas")
    selection = Selection.from_configs([labelled, named])
    assert selection.downsync_reasons(goudas, "", "old") == {"SyncerConfig/named"}
    assert selection.downsync_reasons(goudas, "", "old", labels=SHOP_LABELS) == {
        "SyncerConfig/labelled",
        "SyncerConfig/named",
    }
    assert selection.downsync_reasons(goudas, "", "new", labels=SHOP_LABELS) == {
        "SyncerConfig/labelled"
    }


def test_upsync_sets_take_a_selector_too():

    selection = Selection.from_configs(
        [
            config(
                "up",
                {
                    "upsync": [
                        {
                            "apiGroup": CHEESE,
                            "resources": ["cheddars"],
                            "namespaces": ["*"],
                            "names": ["*"],
                            "objectSelector": SHOP,
                        }
                    ]
                },
            )
        ]
    )
    assert selection.upsync_reasons(CHEESE, "cheddars", "ns", "x", True, labels=SHOP_LABELS)
    assert not selection.upsync_reasons(CHEESE, "cheddars", "ns", "x", True, labels={})
    cheddars = info(CHEESE, "v1", "cheddars", "Cheddar", namespaced=True)
    assert selection.source_label_selector(Direction.UP, cheddars) == (
        "app.kubernetes.io/part-of=shop"
    )


def test_the_source_watch_is_filtered_by_the_server_only_when_every_entry_agrees():

    configmaps = info("", "v1", "configmaps", "ConfigMap", namespaced=True)
    selected = {
        "namespaceScope": {
            "namespaces": ["shop", "other"],
            "resources": [
                {"group": "", "resource": "configmaps", "apiVersion": "v1", "objectSelector": SHOP}
            ],
        }
    }
    one = Selection.from_configs([config("a", selected)])
    assert one.source_label_selector(Direction.DOWN, configmaps) == "app.kubernetes.io/part-of=shop"
    # Namespaces are implied without a selector: their watch stays unfiltered.
    namespaces = info("", "v1", "namespaces", "Namespace", namespaced=False)
    assert one.source_label_selector(Direction.DOWN, namespaces) == ""
    unlabelled = {
        "namespacedObjects": [
            {
                "group": "",
                "resource": "configmaps",
                "apiVersion": "v1",
                "objectsByNamespace": [{"namespace": "x", "names": ["y"]}],
            }
        ]
    }
    mixed = Selection.from_configs([config("a", selected), config("b", unlabelled)])
    assert mixed.source_label_selector(Direction.DOWN, configmaps) == ""
    other = {"matchLabels": {"tier": "web"}}
    two_selectors = {
        "clusterScope": [],
        "namespaceScope": {
            "namespaces": ["x"],
            "resources": [
                {"group": "", "resource": "configmaps", "apiVersion": "v1", "objectSelector": other}
            ],
        },
    }
    differ = Selection.from_configs([config("a", selected), config("c", two_selectors)])
    assert differ.source_label_selector(Direction.DOWN, configmaps) == ""


def test_the_summary_names_each_label_selector():
    labelled = config(
        "a",
        {
            "clusterScope": [
                {"group": CHEESE, "resource": "goudas", "apiVersion": "v1", "objectSelector": SHOP}
            ]
        },
    )
    assert summary(Selection.from_configs([labelled]))["label_selectors"] == [
        f"down {CHEESE}/v1/goudas: app.kubernetes.io/part-of=shop"
    ]


def test_a_changed_selector_is_a_changed_selection():
    def with_selector(labels):
        return config(
            "a",
            {
                "clusterScope": [
                    {
                        "group": CHEESE,
                        "resource": "goudas",
                        "apiVersion": "v1",
                        "objectSelector": {"matchLabels": labels},
                    }
                ]
            },
        )

    assert Selection.from_configs([with_selector({"a": "1"})]) != Selection.from_configs(
        [with_selector({"a": "2"})]
    )
    assert Selection.from_configs([with_selector({"a": "1"})]) == Selection.from_configs(
        [with_selector({"a": "1"})]
    )


# -- which namespaces a source must watch -------------------------------------------------------


def test_source_namespaces_are_the_named_ones_or_none_for_every_namespace():

    configmaps = info("", "v1", "configmaps", "ConfigMap", namespaced=True)
    named = Selection.from_configs(
        [
            config(
                "a",
                {
                    "namespaceScope": {
                        "namespaces": ["b", "a"],
                        "resources": [{"group": "", "resource": "configmaps", "apiVersion": "v1"}],
                    }
                },
            ),
            config(
                "b",
                {
                    "namespacedObjects": [
                        {
                            "group": "",
                            "resource": "configmaps",
                            "apiVersion": "v1",
                            "objectsByNamespace": [{"namespace": "c", "names": ["x"]}],
                        }
                    ]
                },
            ),
        ]
    )
    assert named.source_namespaces(Direction.DOWN, configmaps) == ("a", "b", "c")
    everywhere = Selection.from_configs(
        [
            config(
                "w",
                {
                    "namespaceScope": {
                        "namespaces": ["*"],
                        "resources": [{"group": "", "resource": "configmaps", "apiVersion": "v1"}],
                    }
                },
            )
        ]
    )
    assert everywhere.source_namespaces(Direction.DOWN, configmaps) is None
    namespaces = info("", "v1", "namespaces", "Namespace", namespaced=False)
    assert named.source_namespaces(Direction.DOWN, namespaces) is None
