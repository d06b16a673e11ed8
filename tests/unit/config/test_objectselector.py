"""objectSelector: parsing with $.paths, the API server's matching semantics, the query form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncpipe import errors
from syncpipe.config.objectselector import LabelSelector, Requirement
from syncpipe.config.reader import Reader
from syncpipe.config.syncerconfig import SyncerConfig, parse_config
from syncpipe.replay import selectors


def read(value: object) -> tuple[LabelSelector | None, list[tuple[str, str]]]:
    from syncpipe.config.objectselector import read_object_selector

    reader = Reader()
    selector = read_object_selector(reader, {"objectSelector": value}, "$.spec.x")
    return selector, reader.problems


def test_match_labels_and_expressions_must_all_hold():
    selector, problems = read(
        {
            "matchLabels": {"app.kubernetes.io/part-of": "shop"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["web", "api"]},
                {"key": "canary", "operator": "DoesNotExist"},
            ],
        }
    )
    assert problems == []
    assert selector is not None
    assert selector.matches({"app.kubernetes.io/part-of": "shop", "tier": "web"})
    assert not selector.matches({"app.kubernetes.io/part-of": "shop", "tier": "db"})
    assert not selector.matches({"app.kubernetes.io/part-of": "shop", "tier": "web", "canary": ""})
    assert not selector.matches({"tier": "web"})
    assert not selector.matches(None)


def test_not_in_matches_objects_without_the_label_and_exists_needs_it():
    assert LabelSelector([Requirement("tier", "NotIn", ("db",))]).matches({})
    assert not LabelSelector([Requirement("tier", "NotIn", ("db",))]).matches({"tier": "db"})
    assert LabelSelector([Requirement("tier", "Exists")]).matches({"tier": ""})
    assert not LabelSelector([Requirement("tier", "Exists")]).matches({})


def test_an_empty_selector_matches_every_object():
    selector, problems = read({})
    assert problems == []
    assert selector == LabelSelector()
    assert selector.matches(None)
    assert selector.query == ""


@pytest.mark.parametrize(
    ("value", "path", "message"),
    [
        ("app=shop", "$.spec.x.objectSelector", "must be an object"),
        ({"matchLabel": {}}, "$.spec.x.objectSelector.matchLabel", "unknown field"),
        ({"matchLabels": {"a b": "x"}}, "$.spec.x.objectSelector.matchLabels['a b']", "label key"),
        ({"matchLabels": {"app": "a b"}}, "$.spec.x.objectSelector.matchLabels.app", "label value"),
        ({"matchLabels": {"app": 3}}, "$.spec.x.objectSelector.matchLabels.app", "string"),
        (
            {"matchExpressions": [{"key": "app", "operator": "Equals", "values": ["a"]}]},
            "$.spec.x.objectSelector.matchExpressions[0].operator",
            "'Equals' is not one of In, NotIn, Exists, DoesNotExist",
        ),
        (
            {"matchExpressions": [{"key": "app", "operator": "In"}]},
            "$.spec.x.objectSelector.matchExpressions[0].values",
            "In needs at least one value",
        ),
        (
            {"matchExpressions": [{"key": "app", "operator": "Exists", "values": ["a"]}]},
            "$.spec.x.objectSelector.matchExpressions[0].values",
            "Exists takes no values",
        ),
        (
            {"matchExpressions": [{"operator": "Exists"}]},
            "$.spec.x.objectSelector.matchExpressions[0].key",
            "required field is missing",
        ),
        (
            {"matchLabels": {"-bad.example.com/app": "x"}},
            "$.spec.x.objectSelector.matchLabels['-bad.example.com/app']",
            "must be a DNS subdomain",
        ),
    ],
)
def test_malformed_selectors_are_refused_with_their_path(value, path, message):
    selector, problems = read(value)
    assert selector is None
    assert any(p == path and message in m for p, m in problems), problems


def test_equal_selectors_written_in_another_order_compare_equal():
    a, _ = read(
        {
            "matchLabels": {"x": "1"},
            "matchExpressions": [{"key": "y", "operator": "In", "values": ["b", "a"]}],
        }
    )
    b, _ = read(
        {
            "matchExpressions": [
                {"key": "y", "operator": "In", "values": ["a", "b"]},
                {"key": "x", "operator": "In", "values": ["1"]},
            ]
        }
    )
    assert a == b
    assert a is not None
    assert a.query == "x=1,y in (a,b)"


_label = st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,8}[a-z0-9])?", fullmatch=True)
_requirement = st.one_of(
    st.builds(
        Requirement,
        _label,
        st.sampled_from(["In", "NotIn"]),
        st.lists(_label, min_size=1, max_size=3).map(tuple),
    ),
    st.builds(Requirement, _label, st.sampled_from(["Exists", "DoesNotExist"])),
)


@given(
    requirements=st.lists(_requirement, max_size=4),
    labels=st.dictionaries(_label, _label, max_size=4),
)
def test_the_query_string_selects_what_the_selector_selects(requirements, labels):
    """What the API server filters by (the query form) agrees with matching per object."""
    selector = LabelSelector(requirements)
    assert selectors.parse(selector.query)(labels) == selector.matches(labels)


def test_every_entry_of_a_syncer_config_takes_an_object_selector_and_round_trips():
    shop = {"matchLabels": {"app.kubernetes.io/part-of": "shop"}}
    doc = {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "SyncerConfig",
        "metadata": {"name": "shop"},
        "spec": {
            "namespaceScope": {
                "namespaces": ["shop"],
                "resources": [
                    {
                        "group": "",
                        "resource": "configmaps",
                        "apiVersion": "v1",
                        "objectSelector": shop,
                    }
                ],
            },
            "namespacedObjects": [
                {
                    "group": "apps",
                    "resource": "deployments",
                    "apiVersion": "v1",
                    "objectSelector": shop,
                    "objectsByNamespace": [{"namespace": "shop", "names": ["*"]}],
                }
            ],
            "clusterScope": [
                {
                    "group": "rbac.authorization.k8s.io",
                    "resource": "clusterroles",
                    "apiVersion": "v1",
                    "objectSelector": shop,
                }
            ],
            "upsync": [
                {
                    "apiGroup": "",
                    "resources": ["secrets"],
                    "namespaces": ["shop"],
                    "names": ["*"],
                    "objectSelector": shop,
                }
            ],
        },
    }
    config = parse_config(doc)
    assert isinstance(config, SyncerConfig)
    selector = config.namespace_scope.resources[0].object_selector
    assert selector is not None
    assert selector.query == "app.kubernetes.io/part-of=shop"
    assert config.namespaced_objects[0].resource.object_selector == selector
    assert config.cluster_scope[0].resource.object_selector == selector
    assert config.upsync[0].object_selector == selector
    assert parse_config(config.to_dict()) == config


def test_a_bad_selector_in_a_config_names_its_path():
    doc = {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "SyncerConfig",
        "metadata": {"name": "bad"},
        "spec": {
            "clusterScope": [
                {
                    "group": "",
                    "resource": "namespaces",
                    "apiVersion": "v1",
                    "objectSelector": {"matchExpressions": [{"key": "a", "operator": "in"}]},
                }
            ]
        },
    }
    with pytest.raises(errors.ConfigError) as caught:
        parse_config(doc)
    assert ("$.spec.clusterScope[0].objectSelector.matchExpressions[0].operator") in str(
        caught.value
    )
