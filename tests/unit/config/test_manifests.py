"""From rendered manifests to the config selecting exactly their objects (pure)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from syncpipe import errors
from syncpipe.config import documents, manifests
from syncpipe.config.edgesyncconfig import EdgeSyncConfig
from syncpipe.config.mergedselection import Selection
from syncpipe.config.syncerconfig import AnyConfig, SyncerConfig, parse_config
from syncpipe.model.resources import GroupVersionResource, ResourceInfo

from .strategies import no_deadline

CHART = """\
# Source: shop/templates/namespace.yaml
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
---
# Source: shop/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
  labels: {app.kubernetes.io/instance: shop}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: web-config, namespace: shop}
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: shop, labels: {app.kubernetes.io/instance: shop}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "shop:reader", namespace: ignored}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget}
  versions: [{name: v1, served: true, storage: true}]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: shop}
"""


def convert(
    text: str, *, legacy: bool = False, name: str = "shop", **resolve_options: Any
) -> AnyConfig:
    objects = manifests.read_manifest_objects(text, file="chart.yaml")
    selected = manifests.resolve(objects, **resolve_options)
    if legacy:
        return manifests.edge_sync_config_selecting(selected, name=name)
    return manifests.syncer_config_selecting(selected, name=name)


def _entry(group: str, resource: str, version: str = "v1", **more: Any) -> dict[str, Any]:
    return {"group": group, "resource": resource, "apiVersion": version, **more}


def test_a_rendered_chart_becomes_a_syncer_config_naming_each_object_and_namespace():
    config = convert(CHART, default_namespace="shop")
    in_shop = [{"namespace": "shop", "names": ["web"]}]
    assert config.to_dict()["spec"] == {
        "namespacedObjects": [
            _entry(
                "",
                "configmaps",
                objectsByNamespace=[{"namespace": "shop", "names": ["web-config"]}],
            ),
            _entry("", "serviceaccounts", objectsByNamespace=in_shop),
            _entry("", "services", objectsByNamespace=in_shop),
            _entry("apps", "deployments", objectsByNamespace=in_shop),
            _entry(
                "example.com",
                "widgets",
                objectsByNamespace=[{"namespace": "shop", "names": ["w1"]}],
            ),
        ],
        "clusterScope": [
            _entry("", "namespaces", objects=["shop"]),
            _entry(
                "apiextensions.k8s.io", "customresourcedefinitions", objects=["widgets.example.com"]
            ),
            _entry("rbac.authorization.k8s.io", "clusterroles", objects=["shop:reader"]),
        ],
    }


def test_legacy_lists_namespaces_first_then_every_object_in_manifest_order():
    config = convert(CHART, legacy=True, default_namespace="shop")
    assert isinstance(config, EdgeSyncConfig)
    assert config.to_dict()["spec"]["downSyncedResources"] == [
        {"kind": "Namespace", "version": "v1", "name": "shop"},
        {"kind": "ServiceAccount", "version": "v1", "name": "web", "namespace": "shop"},
        {"kind": "ConfigMap", "version": "v1", "name": "web-config", "namespace": "shop"},
        {"kind": "Service", "version": "v1", "name": "web", "namespace": "shop"},
        {
            "kind": "Deployment",
            "group": "apps",
            "version": "v1",
            "name": "web",
            "namespace": "shop",
        },
        {
            "kind": "ClusterRole",
            "group": "rbac.authorization.k8s.io",
            "version": "v1",
            "name": "shop:reader",
        },
        {
            "kind": "CustomResourceDefinition",
            "group": "apiextensions.k8s.io",
            "version": "v1",
            "name": "widgets.example.com",
        },
        {
            "kind": "Widget",
            "group": "example.com",
            "version": "v1",
            "name": "w1",
            "namespace": "shop",
        },
    ]


@pytest.mark.parametrize("legacy", [False, True])
def test_the_output_parses_back_as_the_same_config(legacy):
    config = convert(CHART, legacy=legacy)
    text = manifests.render(config, files=["chart.yaml"], count=8)
    assert text.startswith("# ")
    assert parse_config(yaml.safe_load(text)) == config


def test_namespaced_objects_without_a_namespace_go_to_the_default_namespace():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
    assert convert(text).to_dict()["spec"]["namespacedObjects"][0]["objectsByNamespace"] == [
        {"namespace": "default", "names": ["a"]}
    ]
    assert convert(text, default_namespace="apps").to_dict()["spec"]["clusterScope"] == [
        _entry("", "namespaces", objects=["apps"])
    ]


def test_custom_resources_of_a_cluster_scoped_crd_are_selected_by_name_cluster_wide():
    text = CHART.replace("scope: Namespaced", "scope: Cluster")
    cluster = convert(text).to_dict()["spec"]["clusterScope"]
    assert _entry("example.com", "widgets", objects=["w1"]) in cluster


def test_kinds_of_other_crds_come_from_the_clusters_discovery_when_given():
    text = "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\n"
    served = [
        ResourceInfo(
            gvr=GroupVersionResource("kyverno.io", "v1", "clusterpolicies"),
            kind="ClusterPolicy",
            namespaced=False,
        )
    ]
    config = convert(text, served=served)
    assert config.to_dict()["spec"]["clusterScope"] == [
        _entry("kyverno.io", "clusterpolicies", objects=["p"])
    ]


@pytest.mark.parametrize(
    ("served", "advice"),
    [(None, "give a cluster to look it up in (--kubeconfig)"), ([], "the cluster does not serve")],
)
def test_an_unknown_kind_is_an_error_naming_it_and_its_document(served, advice):
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\n---\n"
        "apiVersion: kyverno.io/v1\nkind: Policy\nmetadata: {name: q}\n"
    )
    with pytest.raises(errors.ConfigError) as caught:
        convert(text, served=served)
    message = str(caught.value)
    assert message.startswith(
        "chart.yaml: doc 2 (ClusterPolicy/p): kind ClusterPolicy.kyverno.io is not built into "
        "Kubernetes and no CRD in the manifests defines it"
    )
    assert advice in message
    assert "(also unknown: Policy.kyverno.io) @ $.kind" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "kind: ConfigMap\nmetadata: {name: a}\n",
            "chart.yaml: doc 1 (ConfigMap/a): required field is missing @ $.apiVersion",
        ),
        (
            "apiVersion: v1\nmetadata: {name: a}\n",
            "chart.yaml: doc 1 (?/a): required field is missing @ $.kind",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {}}\n",
            "chart.yaml: doc 1 (ConfigMap/?): required field is missing: an object is selected "
            "by name @ $.metadata.name",
        ),
        (
            "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: migrate-}\n",
            "chart.yaml: doc 1 (Job/?): required field is missing: generateName objects get "
            "their name when created and cannot be selected @ $.metadata.name",
        ),
        (
            "---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret}\n",
            "chart.yaml: doc 1 (Secret/?): required field is missing: an object is selected "
            "by name @ $.items[0].metadata",
        ),
        (
            'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "*"}\n',
            "chart.yaml: doc 1 (ConfigMap/*): '*' would select everything in a config; "
            "name the object @ $.metadata.name",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: Shop}\n",
            "chart.yaml: doc 1 (ConfigMap/a): 'Shop' is not a namespace name (a DNS-1123 "
            "label) or * @ $.metadata.namespace",
        ),
        (
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
            "metadata: {name: x.example.com}\nspec: {group: example.com}\n",
            "chart.yaml: doc 1 (CustomResourceDefinition/x.example.com): a "
            "CustomResourceDefinition needs spec.group, spec.names.kind, spec.names.plural and "
            "spec.scope (Namespaced or Cluster) @ $.spec",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n- just\n- a list\n",
            "chart.yaml: doc 2 (?/?): must be a Kubernetes object, not array @ $",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# c\n---\ndata: [x\n",
            "chart.yaml: doc 3: not valid YAML: while parsing a flow sequence: expected ',' or "
            "']', but got '<stream end>' @ line 8, column 1",
        ),
    ],
)
def test_unusable_input_is_one_error_naming_file_document_and_path(text, expected):
    with pytest.raises(errors.ConfigError) as caught:
        manifests.read_manifest_objects(text, file="chart.yaml")
    assert str(caught.value) == expected


def test_empty_documents_count_as_documents_but_yield_no_object():
    # A comment before the first "---" opens no document of its own (YAML, as kubectl reads it).
    text = "# header\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
    [(place, _)] = list(documents.located_objects(text, file="f"))
    assert place.source == "f: doc 2 (ConfigMap/a)"


@pytest.mark.parametrize(
    ("labels", "files", "expected"),
    [
        ([{"app.kubernetes.io/instance": "shop"}, {}], ["x.yaml"], "shop"),
        (
            [{"app.kubernetes.io/instance": "a"}, {"app.kubernetes.io/instance": "b"}],
            ["My App.yaml"],
            "my-app",
        ),
        ([{}], ["-"], "manifests"),
        ([{}], ["___.yaml"], "manifests"),
    ],
)
def test_the_default_name_is_the_helm_release_else_the_file_name(labels, files, expected):
    docs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}", "labels": lab}}
        for i, lab in enumerate(labels)
    ]
    objects = manifests.read_manifest_objects(yaml.safe_dump_all(docs), file="f")
    assert manifests.default_config_name(objects, files) == expected


# -- the property: exactly the manifests' objects are selected ------------------------------

_NAMESPACES = ("a", "b")
_NAMES = ("x", "y", "kyverno:view")
# (apiVersion, kind, resource, namespaced); Widget is defined by the CRD the manifests hold.
_KINDS = (
    ("v1", "ConfigMap", "configmaps", True),
    ("apps/v1", "Deployment", "deployments", True),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", False),
    ("example.com/v1", "Widget", "widgets", True),
)
_WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"kind": "Widget", "plural": "widgets"},
        "versions": [{"name": "v1", "served": True, "storage": True}],
    },
}

manifest_objects = st.tuples(
    st.sampled_from(_KINDS), st.sampled_from((*_NAMESPACES, None)), st.sampled_from(_NAMES)
)


def _document(kind: tuple[str, str, str, bool], namespace: str | None, name: str) -> dict:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    return {"apiVersion": kind[0], "kind": kind[1], "metadata": meta}


def _stream(docs: list[dict], wrap: list[bool]) -> str:
    """Documents as a YAML stream, some of them wrapped in Lists, with empty documents."""
    parts = []
    for doc, in_list in zip(docs, wrap, strict=False):
        parts.append({"apiVersion": "v1", "kind": "List", "items": [doc]} if in_list else doc)
    return "# rendered\n---\n" + yaml.safe_dump_all(parts) + "---\n"


def _universe(default_namespace: str):
    """Every object the property asks about: (apiVersion, kind, resource, namespace, name)."""
    for api_version, kind, resource, namespaced in _KINDS:
        for namespace in (*_NAMESPACES, default_namespace) if namespaced else ("",):
            for name in _NAMES:
                yield api_version, kind, resource, namespace, name
    for namespace in (*_NAMESPACES, default_namespace, "other"):
        yield "v1", "Namespace", "namespaces", "", namespace
    yield (
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        "",
        ("widgets.example.com"),
    )


@no_deadline
@given(
    chosen=st.lists(manifest_objects, min_size=1, max_size=8),
    declared_namespaces=st.lists(st.sampled_from((*_NAMESPACES, "other")), max_size=2),
    wrap=st.lists(st.booleans(), min_size=12, max_size=12),
    legacy=st.booleans(),
)
def test_the_config_selects_exactly_the_manifests_objects_and_their_namespaces(
    chosen, declared_namespaces, wrap, legacy
):
    default_namespace = "c"
    docs = [_document(*c) for c in chosen]
    docs += [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
        for n in declared_namespaces
    ]
    uses_widgets = any(c[0][1] == "Widget" for c in chosen)
    if uses_widgets:
        docs.append(_WIDGET_CRD)
    config = convert(_stream(docs, wrap), legacy=legacy, default_namespace=default_namespace)
    assert parse_config(config.to_dict()) == config
    expected = set()
    for kind, namespace, name in chosen:
        in_namespace = (namespace or default_namespace) if kind[3] else ""
        expected.add((kind[1], in_namespace, name))
        if in_namespace:
            expected.add(("Namespace", "", in_namespace))
    expected.update(("Namespace", "", n) for n in declared_namespaces)
    if uses_widgets:
        expected.add(("CustomResourceDefinition", "", "widgets.example.com"))
    selection = Selection.from_configs([config])
    for api_version, kind, resource, namespace, name in _universe(default_namespace):
        group, _, version = api_version.rpartition("/")
        gvr = GroupVersionResource(group, version, resource)
        selected = bool(selection.downsync_reasons(gvr, namespace, name, kind=kind))
        assert selected == ((kind, namespace, name) in expected), (kind, namespace, name)
    if not legacy:
        assert isinstance(config, SyncerConfig)
        assert not config.namespace_scope.namespaces  # never wider than the names
