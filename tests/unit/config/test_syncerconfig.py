"""Parsing SyncerConfig objects: accepted shapes, kept semantics, every problem with its path."""

from __future__ import annotations

import copy
from importlib.resources import files

import pytest
import yaml

from syncpipe import errors
from syncpipe.config.syncerconfig import (
    ClusterScopeObjects,
    DownsyncResource,
    NamespaceAndNames,
    NamespacedObjects,
    NamespaceScope,
    SyncerConfig,
    UpsyncSet,
    parse_config,
    parse_syncer_config,
)

CONFIGMAPS = {"group": "", "resource": "configmaps", "apiVersion": "v1"}


def syncer_config(spec: dict | None = None, name: str = "syncer-config") -> dict:
    doc = {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "SyncerConfig",
        "metadata": {"name": name},
    }
    if spec is not None:
        doc["spec"] = spec
    return doc


def problems_of(doc: object) -> list[tuple[str, str]]:
    with pytest.raises(errors.ConfigError) as caught:
        parse_config(doc)
    return list(caught.value.problems)


def test_the_original_e2e_syncer_config_parses_unchanged():
    doc = yaml.safe_load(files("syncpipe").joinpath("examples/syncerconfig.yaml").read_text())
    config = parse_syncer_config(doc)
    assert config == SyncerConfig(
        name="syncer-config",
        namespace_scope=NamespaceScope(
            namespaces=["test"],
            resources=[DownsyncResource(group="", version="v1", resource="configmaps")],
        ),
        cluster_scope=[
            ClusterScopeObjects(
                resource=DownsyncResource(
                    group="apiextensions.k8s.io", version="v1", resource="customresourcedefinitions"
                ),
                objects=["sampleupsyncs.my.domain", "sampledownsyncs.my.domain"],
            ),
            ClusterScopeObjects(
                resource=DownsyncResource(
                    group="my.domain", version="v1alpha1", resource="sampledownsyncs"
                ),
                objects=["sample-downsync"],
            ),
        ],
        upsync=[
            UpsyncSet(api_group="my.domain", resources=["sampleupsyncs"], names=["sample-upsync"])
        ],
    )
    assert config.ref == "SyncerConfig/syncer-config"


def test_an_object_read_back_from_the_server_parses():
    doc = syncer_config({"namespaceScope": {"namespaces": ["a"], "resources": [CONFIGMAPS]}})
    doc["metadata"].update(
        uid="0d4c", resourceVersion="12", generation=1, creationTimestamp="2024-01-01T00:00:00Z"
    )
    doc["status"] = {"lastSyncerHeartbeatTime": "2024-01-01T00:00:00Z", "conditions": []}
    assert parse_syncer_config(doc).namespace_scope.namespaces == ("a",)


def test_a_missing_spec_selects_nothing():
    assert parse_syncer_config(syncer_config()) == SyncerConfig(name="syncer-config")


def test_absent_objects_means_all_and_an_empty_list_means_none():
    doc = syncer_config(
        {
            "clusterScope": [
                {
                    "group": "apiextensions.k8s.io",
                    "resource": "customresourcedefinitions",
                    "apiVersion": "v1",
                },
                {
                    "group": "rbac.authorization.k8s.io",
                    "resource": "clusterroles",
                    "apiVersion": "v1",
                    "objects": [],
                },
            ]
        }
    )
    first, second = parse_syncer_config(doc).cluster_scope
    assert first.objects is None
    assert second.objects == ()


def test_an_explicit_null_objects_is_refused_because_it_is_ambiguous():
    doc = syncer_config(
        {
            "clusterScope": [
                {"group": "", "resource": "namespaces", "apiVersion": "v1", "objects": None}
            ]
        }
    )
    [(path, message)] = problems_of(doc)
    assert path == "$.spec.clusterScope[0].objects"
    assert '["*"]' in message
    assert "[]" in message


def test_namespaced_objects_keep_rows_with_empty_names():
    doc = syncer_config(
        {
            "namespacedObjects": [
                {
                    **CONFIGMAPS,
                    "objectsByNamespace": [
                        {"namespace": "test2", "names": ["cm1"]},
                        {"namespace": "test3", "names": []},
                        {"namespace": "test4"},
                    ],
                }
            ]
        }
    )
    [entry] = parse_syncer_config(doc).namespaced_objects
    assert entry == NamespacedObjects(
        resource=DownsyncResource(group="", version="v1", resource="configmaps"),
        objects_by_namespace=[
            NamespaceAndNames("test2", ["cm1"]),
            NamespaceAndNames("test3", []),
            NamespaceAndNames("test4", []),
        ],
    )


def test_upsync_api_group_may_be_omitted_for_the_core_group():
    doc = syncer_config(
        {"upsync": [{"resources": ["configmaps"], "namespaces": ["*"], "names": ["*"]}]}
    )
    assert parse_syncer_config(doc).upsync == (
        UpsyncSet(api_group="", resources=["configmaps"], namespaces=["*"], names=["*"]),
    )


def test_wildcards_are_accepted_in_every_list():
    doc = syncer_config(
        {
            "namespaceScope": {"namespaces": ["*"], "resources": [{**CONFIGMAPS, "resource": "*"}]},
            "namespacedObjects": [
                {**CONFIGMAPS, "objectsByNamespace": [{"namespace": "*", "names": ["*"]}]}
            ],
            "clusterScope": [{"group": "", "resource": "*", "apiVersion": "v1", "objects": ["*"]}],
            "upsync": [{"apiGroup": "", "resources": ["*"], "namespaces": ["*"], "names": ["*"]}],
        }
    )
    parse_syncer_config(doc)


def test_rbac_names_with_colons_are_valid_object_names():
    doc = syncer_config(
        {
            "clusterScope": [
                {
                    "group": "rbac.authorization.k8s.io",
                    "resource": "clusterroles",
                    "apiVersion": "v1",
                    "objects": ["kyverno:admin-policies", "kyverno"],
                }
            ]
        }
    )
    assert parse_syncer_config(doc).cluster_scope[0].objects == (
        "kyverno:admin-policies",
        "kyverno",
    )


@pytest.mark.parametrize(
    ("spec", "path", "message"),
    [
        pytest.param(
            {"clusterScope": [CONFIGMAPS, {"group": "", "apiVersion": "v1"}]},
            "$.spec.clusterScope[1].resource",
            "required field is missing",
            id="missing-resource",
        ),
        pytest.param(
            {"clusterScope": [{"resource": "namespaces", "apiVersion": "v1"}]},
            "$.spec.clusterScope[0].group",
            "required field is missing",
            id="missing-group",
        ),
        pytest.param(
            {"namespaceScope": {"resources": [{**CONFIGMAPS, "apiVersion": "apps/v1"}]}},
            "$.spec.namespaceScope.resources[0].apiVersion",
            "apiVersion holds the version only, e.g. v1",
            id="group-in-apiVersion",
        ),
        pytest.param(
            {"namespaceScope": {"resources": [{**CONFIGMAPS, "resource": "ConfigMap"}]}},
            "$.spec.namespaceScope.resources[0].resource",
            "looks like a kind",
            id="kind-for-resource",
        ),
        pytest.param(
            {"namespaceScope": {"resources": [{**CONFIGMAPS, "resource": "deployments/status"}]}},
            "$.spec.namespaceScope.resources[0].resource",
            "subresource",
            id="subresource",
        ),
        pytest.param(
            {"namespaceScope": {"namespaces": ["ok", "Not_OK"]}},
            "$.spec.namespaceScope.namespaces[1]",
            "is not a namespace name",
            id="bad-namespace",
        ),
        pytest.param(
            {"namespaceScope": {"namespace": ["x"]}},
            "$.spec.namespaceScope.namespace",
            "unknown field 'namespace'",
            id="misspelt-field",
        ),
        pytest.param(
            {"clusterScope": [{**CONFIGMAPS, "group": "*"}]},
            "$.spec.clusterScope[0].group",
            '"*" (every group) is not supported',
            id="wildcard-group",
        ),
        pytest.param(
            {"upsync": [{"apiGroup": "*", "resources": ["x"]}]},
            "$.spec.upsync[0].apiGroup",
            '"*" (every group) is not supported',
            id="wildcard-apiGroup",
        ),
        pytest.param(
            {"upsync": [{"apiGroup": "apps", "names": ["x"]}]},
            "$.spec.upsync[0].resources",
            "required field is missing",
            id="upsync-without-resources",
        ),
        pytest.param(
            {"upsync": [{"resources": ["x"], "names": [True]}]},
            "$.spec.upsync[0].names[0]",
            "must be a string, not boolean",
            id="yaml-yes-is-a-boolean",
        ),
        pytest.param(
            {"namespacedObjects": [{**CONFIGMAPS, "objectsByNamespace": [{"names": ["a"]}]}]},
            "$.spec.namespacedObjects[0].objectsByNamespace[0].namespace",
            "required field is missing",
            id="missing-namespace",
        ),
        pytest.param(
            {"namespacedObjects": [{**CONFIGMAPS, "objectsByNamespace": {"namespace": "a"}}]},
            "$.spec.namespacedObjects[0].objectsByNamespace",
            "must be an array, not object",
            id="object-for-array",
        ),
        pytest.param(
            {"clusterScope": [{**CONFIGMAPS, "objects": ["a/b"]}]},
            "$.spec.clusterScope[0].objects[0]",
            "may not contain '/'",
            id="slash-in-name",
        ),
        pytest.param(
            {"clusterScope": {"group": ""}},
            "$.spec.clusterScope",
            "must be an array, not object",
            id="object-for-list",
        ),
        pytest.param(
            {"extra": 1},
            "$.spec.extra",
            "unknown field 'extra'",
            id="unknown-spec-field",
        ),
        pytest.param(
            {"clusterScope": [{**CONFIGMAPS, "weird key": 1}]},
            "$.spec.clusterScope[0]['weird key']",
            "unknown field 'weird key'",
            id="bracket-quoted-path",
        ),
    ],
)
def test_each_problem_is_reported_at_its_path(spec, path, message):
    found = problems_of(syncer_config(spec))
    assert [p for p, m in found if p == path and message in m], found


def test_every_problem_is_reported_at_once():
    doc = syncer_config(
        {
            "namespaceScope": {
                "namespaces": ["A"],
                "resources": [{"group": "", "resource": "configmaps"}],
            },
            "clusterScope": [{"group": "apps", "resource": "Deployments", "apiVersion": "apps/v1"}],
            "upsync": [{"apiGroup": "x", "resources": ["y"], "names": ["a/b"], "extra": True}],
        }
    )
    assert sorted(p for p, _ in problems_of(doc)) == [
        "$.spec.clusterScope[0].apiVersion",
        "$.spec.clusterScope[0].resource",
        "$.spec.namespaceScope.namespaces[0]",
        "$.spec.namespaceScope.resources[0].apiVersion",
        "$.spec.upsync[0].extra",
        "$.spec.upsync[0].names[0]",
    ]


def test_the_error_names_its_source_and_lists_problems():
    doc = syncer_config({"clusterScope": [{"group": "", "resource": "namespaces"}]}, name="edge-1")
    with pytest.raises(errors.ConfigError) as caught:
        parse_syncer_config(doc)
    assert caught.value.source == "SyncerConfig/edge-1"
    assert str(caught.value) == (
        "SyncerConfig/edge-1: required field is missing @ $.spec.clusterScope[0].apiVersion"
    )


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (
            lambda d: d.update(apiVersion="edge.kubestellar.io/v1alpha1"),
            "$.apiVersion",
            "must be edge.kubestellar.io/v2alpha1",
        ),
        (lambda d: d.pop("metadata"), "$.metadata", "required field is missing"),
        (lambda d: d["metadata"].pop("name"), "$.metadata.name", "required field is missing"),
        (
            lambda d: d["metadata"].update(name="Bad_Name"),
            "$.metadata.name",
            "not a valid object name",
        ),
        (lambda d: d.update(spec=[]), "$.spec", "must be an object, not array"),
        (lambda d: d.update(status="up"), "$.status", "must be an object, not string"),
        (lambda d: d.update(extra={}), "$.extra", "unknown field"),
    ],
)
def test_header_problems_are_reported_at_their_path(change, path, message):
    doc = copy.deepcopy(syncer_config({}))
    change(doc)
    found = problems_of(doc)
    assert [p for p, m in found if p == path and message in m], found


def test_a_document_of_another_kind_is_refused_at_kind():
    assert problems_of({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}) == [
        ("$.kind", "must be SyncerConfig or EdgeSyncConfig, not 'Namespace'")
    ]


def test_a_document_that_is_not_an_object_is_refused_at_the_root():
    assert problems_of(["a"]) == [("$", "must be an object, not array")]


def test_parsed_values_are_frozen_all_the_way_down():
    config = parse_syncer_config(
        syncer_config({"namespaceScope": {"namespaces": ["a"], "resources": [CONFIGMAPS]}})
    )
    assert isinstance(config.namespace_scope.namespaces, tuple)
    with pytest.raises(AttributeError):
        config.name = "other"  # type: ignore[misc]
    assert hash(config) == hash(parse_syncer_config(config.to_dict()))
