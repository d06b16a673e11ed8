"""Near misses say why an entry does not select an object, and agree with the selection."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from syncpipe.config import syncerconfig
from syncpipe.config.mergedselection import Selection
from syncpipe.config.nearmiss import misses_of, near_misses
from syncpipe.model.events import Direction
from syncpipe.model.resources import GroupVersionResource, ResourceInfo

VERBS = frozenset({"get", "list", "watch"})
CM = ResourceInfo(
    gvr=GroupVersionResource("", "v1", "configmaps"), kind="ConfigMap", namespaced=True, verbs=VERBS
)
DEPLOY = ResourceInfo(
    gvr=GroupVersionResource("apps", "v1", "deployments"),
    kind="Deployment",
    namespaced=True,
    verbs=VERBS,
)
NAMESPACES = ResourceInfo(
    gvr=GroupVersionResource("", "v1", "namespaces"),
    kind="Namespace",
    namespaced=False,
    verbs=VERBS,
)
RESOURCES = {"configmaps": ("", "v1"), "deployments": ("apps", "v1")}


def selection(spec: dict[str, Any], name: str = "cfg") -> Selection:
    doc = {"apiVersion": "edge.kubestellar.io/v2alpha1", "kind": "SyncerConfig"}
    config = syncerconfig.parse_config({**doc, "metadata": {"name": name}, "spec": spec})
    return Selection.from_configs([config])


def resource(name: str, **extra: Any) -> dict[str, Any]:
    group, version = RESOURCES[name]
    return {"group": group, "apiVersion": version, "resource": name, **extra}


def test_a_wrong_namespace_and_name_are_both_named():
    chosen = selection(
        {
            "namespacedObjects": [
                {
                    "objectsByNamespace": [{"namespace": "shop", "names": ["web"]}],
                    **resource("configmaps"),
                }
            ]
        }
    )
    (miss,) = near_misses(chosen, Direction.DOWN, info=CM, namespace="other", name="api", labels={})
    assert miss.config == "SyncerConfig/cfg"
    assert miss.paths == ("$.spec.namespacedObjects[0].objectsByNamespace[0]",)
    assert miss.misses == (
        "selects namespace 'shop', not 'other'",
        "selects the name 'web', not 'api'",
    )


def test_a_label_selector_that_does_not_match_shows_the_objects_labels():
    chosen = selection(
        {
            "namespaceScope": {
                "namespaces": ["shop"],
                "resources": [resource("configmaps", objectSelector={"matchLabels": {"a": "1"}})],
            }
        }
    )
    misses = near_misses(
        chosen, Direction.DOWN, info=CM, namespace="shop", name="x", labels={"a": "2"}
    )
    assert [m.misses for m in misses] == [("objectSelector 'a=1' does not match its labels (a=2)",)]


def test_a_namespaced_resource_under_cluster_scope_is_explained():
    chosen = selection({"clusterScope": [resource("configmaps", objects=["x"])]})
    (miss,) = near_misses(chosen, Direction.DOWN, info=CM, namespace="shop", name="x", labels={})
    assert "ConfigMap is namespaced" in miss.misses[0]


def test_entries_about_other_resources_show_only_when_none_is_about_the_objects():
    spec = {"namespaceScope": {"namespaces": ["shop"], "resources": [resource("deployments")]}}
    chosen = selection(spec)
    misses = near_misses(chosen, Direction.DOWN, info=CM, namespace="shop", name="x", labels={})
    assert {m.misses for m in misses} == {
        ("selects deployments.apps, not configmaps",),
        ("selects namespaces, not configmaps",),
    }
    spec["namespaceScope"]["resources"].append(resource("configmaps"))
    chosen = selection(spec)
    misses = near_misses(chosen, Direction.DOWN, info=CM, namespace="other", name="x", labels={})
    assert [m.misses for m in misses] == [("selects namespace 'shop', not 'other'",)]


NAMES = st.sampled_from(["a", "b", "*"])
LABELS = st.dictionaries(st.sampled_from(["k", "l"]), st.sampled_from(["1", "2"]), max_size=2)


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    chosen = draw(st.sampled_from(sorted(RESOURCES)))
    selector = draw(st.none() | LABELS.map(lambda labels: {"matchLabels": labels}))
    extra = {} if selector is None else {"objectSelector": selector}
    shape = draw(st.sampled_from(["namespaceScope", "namespacedObjects", "clusterScope"]))
    namespaces = draw(st.lists(NAMES, min_size=1, max_size=2))
    names = draw(st.lists(NAMES, min_size=1, max_size=2))
    if shape == "namespaceScope":
        return {
            "namespaceScope": {"namespaces": namespaces, "resources": [resource(chosen, **extra)]}
        }
    if shape == "clusterScope":
        return {"clusterScope": [resource(chosen, objects=names, **extra)]}
    by_namespace = [{"namespace": ns, "names": names} for ns in namespaces]
    return {
        "namespacedObjects": [{"objectsByNamespace": by_namespace, **resource(chosen, **extra)}]
    }


@given(
    spec=specs(),
    info=st.sampled_from([CM, DEPLOY, NAMESPACES]),
    namespace=st.sampled_from(["a", "b"]),
    name=st.sampled_from(["a", "b"]),
    labels=LABELS,
)
def test_an_entry_without_misses_is_exactly_one_that_selects_the_object(
    spec, info, namespace, name, labels
):
    chosen = selection(spec)
    namespace = namespace if info.namespaced else ""
    reasons = chosen.downsync_reasons(info.gvr, namespace, name, kind=info.kind, labels=labels)
    clean = [
        rule
        for rule in chosen.rules_for(Direction.DOWN)
        if not misses_of(rule, info=info, namespace=namespace, name=name, labels=labels)
    ]
    assert bool(clean) == bool(reasons)
    misses = near_misses(
        chosen, Direction.DOWN, info=info, namespace=namespace, name=name, labels=labels
    )
    assert all(m.misses for m in misses)
