"""The two-way and three-way diffs: properties on arbitrary JSON, examples on real objects."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from syncpipe.sink import diff, lastapplied
from tests.unit.sink import samples
from tests.unit.sink.samples import json_objects, json_values, mutated, with_extras

# --- two-way: properties ---------------------------------------------------------------------


@st.composite
def value_pairs(draw: st.DrawFn) -> tuple[Any, Any]:
    """Two JSON values, usually related (the interesting case), sometimes not."""
    a = draw(json_values)
    b = draw(json_values) if draw(st.booleans()) and draw(st.booleans()) else draw(mutated(a))
    return a, b


@given(value_pairs())
@example(({"a": 1}, {"a": True}))
@example(({"a": [0, False]}, {"a": [False, 0]}))
@example(({"a/b": {"~1": 1}}, {"a/b": {"~1": 2}}))
def test_two_way_patch_turns_a_into_exactly_b(pair: tuple[Any, Any]) -> None:
    a, b = pair
    kept_a, kept_b = copy.deepcopy(a), copy.deepcopy(b)
    ops = diff.two_way(a, b)
    assert samples.canonical(samples.apply(a, ops)) == samples.canonical(b)
    assert samples.canonical(a) == samples.canonical(kept_a), "a was mutated"
    assert samples.canonical(b) == samples.canonical(kept_b), "b was mutated"


@given(json_values)
def test_two_way_of_equal_values_is_empty(value: Any) -> None:
    assert diff.two_way(value, copy.deepcopy(value)) == []


@given(json_objects, json_objects)
def test_two_way_prefix_diffs_a_subtree_in_place(a: dict[str, Any], b: dict[str, Any]) -> None:
    ops = diff.two_way(a, b, prefix="/status")
    result = samples.apply({"spec": {"x": 1}, "status": a}, ops)
    assert samples.canonical(result) == samples.canonical({"spec": {"x": 1}, "status": b})


# --- two-way: examples -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param(1, True, id="int-to-bool"),
        pytest.param(False, 0, id="bool-to-int"),
        pytest.param(1, 1.0, id="int-to-float"),
        pytest.param([0, 1], [0, True], id="inside-a-list"),
    ],
)
def test_two_way_tells_json_types_apart(a: Any, b: Any) -> None:
    assert a == b  # Python's view, which the diff must not share
    ops = diff.two_way({"x": a}, {"x": b})
    assert ops
    assert samples.canonical(samples.apply({"x": a}, ops)) == samples.canonical({"x": b})


def test_two_way_escapes_slash_and_tilde_in_keys() -> None:
    a = {"metadata": {"annotations": {"edge.kubestellar.io/downsynced": "x", "a~b": "1"}}}
    b = {"metadata": {"annotations": {"edge.kubestellar.io/downsynced": "y", "a~b": "2"}}}
    assert diff.two_way(a, b) == [
        {
            "op": "replace",
            "path": "/metadata/annotations/edge.kubestellar.io~1downsynced",
            "value": "y",
        },
        {"op": "replace", "path": "/metadata/annotations/a~0b", "value": "2"},
    ]


def test_two_way_replaces_a_list_whose_length_changed_in_one_op() -> None:
    ops = diff.two_way({"args": ["a", "b"]}, {"args": ["a", "b", "c"]})
    assert ops == [{"op": "replace", "path": "/args", "value": ["a", "b", "c"]}]


def test_two_way_recurses_into_same_length_lists() -> None:
    ops = diff.two_way({"c": [{"n": 1}, {"n": 2}]}, {"c": [{"n": 1}, {"n": 3}]})
    assert ops == [{"op": "replace", "path": "/c/1/n", "value": 3}]


# --- three-way: properties -------------------------------------------------------------------


@st.composite
def three_way_cases(draw: st.DrawFn) -> tuple[Any, Any, Any]:
    """(desired, live, owned): last time we applied ``previous``; since then the server and
    other writers added fields and changed some, and the desired object changed too."""
    previous = draw(json_objects)
    owned = draw(st.sampled_from(["previous", "none", "unrelated"]))
    desired = draw(mutated(previous, top=True))
    live = draw(mutated(draw(with_extras(previous)), top=True))
    if owned == "previous":
        return desired, live, lastapplied.field_set(previous)
    if owned == "unrelated":
        return desired, live, lastapplied.field_set(draw(json_objects))
    return desired, live, None


_ABSENT: Any = object()


def _assert_foreign_fields_kept(desired: Any, owned: Any, live: Any, result: Any) -> None:
    """Members of ``live`` that ``desired`` has no opinion on and ``owned`` does not list are
    unchanged; so are members ``desired`` sets to ``null`` (hands off).

    A ``null`` in ``live`` counts as absent, as it does for the diff.
    """
    for key, have in live.items():
        if have is None:
            continue
        want = desired.get(key, _ABSENT) if type(desired) is dict else _ABSENT
        mine = owned.get(key) if type(owned) is dict else None
        if want is None or (want is _ABSENT and mine is None):
            assert key in result, f"foreign field {key!r} removed"
            assert samples.canonical(result[key]) == samples.canonical(have)
        elif (
            type(have) is dict
            and (want is _ABSENT or type(want) is dict)
            and type(mine) in (dict, type(None))
        ):
            # Removed whole (``{}`` here) only if nothing foreign was inside.
            inside = result.get(key, {})
            assert type(inside) is dict
            _assert_foreign_fields_kept({} if want is _ABSENT else want, mine, have, inside)


def _assert_dropped_fields_gone(desired: Any, owned: Any, result: Any) -> None:
    """Fields in ``owned`` that ``desired`` no longer has are not in ``result``.

    A ``null`` counts as absent, as it does for the diff: it can be written as part of a
    desired subtree (``{"a": {"b": null}}`` added whole), which is not "keeping" ``b``.
    """
    for key, mine in owned.items():
        if result.get(key) is None:
            continue
        want = desired.get(key, _ABSENT) if type(desired) is dict else _ABSENT
        if want is _ABSENT:
            assert type(mine) is dict, f"dropped field {key!r} still there"
            assert type(result[key]) is dict
            _assert_dropped_fields_gone({}, mine, result[key])
        elif type(want) is dict and type(mine) is dict and type(result[key]) is dict:
            _assert_dropped_fields_gone(want, mine, result[key])


@given(three_way_cases())
@example(({"a": True}, {"a": 1}, None))
@example(({}, {"a": {"b": 1, "x": 2}}, {"a": {"b": 0}}))
@example(({"a": None}, {"a": {"b": 1}}, {"a": {"b": 0}}))
@example(({"a": {"c": 1}}, {"a": {"b": 1, "c": 1}}, {"a": {"b": 0}}))
@example(({"a": [{"b": 1}]}, {"a": [{"b": 1, "c": 2}]}, {"a": [{"b": 0, "c": 0}]}))
def test_three_way_makes_live_satisfy_desired_and_touches_nothing_else(
    case: tuple[Any, Any, Any],
) -> None:
    desired, live, owned = case
    kept = samples.canonical((desired, live, owned))
    ops = diff.three_way(desired, live, owned)
    assert samples.canonical((desired, live, owned)) == kept, "an input was mutated"
    result = samples.apply(live, ops)

    assert diff.satisfies(desired, result)
    _assert_foreign_fields_kept(desired, owned, live, result)
    if owned is not None:
        _assert_dropped_fields_gone(desired, owned, result)
    # Applied and recorded, the object is in the steady state: nothing more to do.
    assert diff.three_way(desired, result, lastapplied.field_set(desired)) == []


@given(st.data(), json_objects)
def test_three_way_leaves_server_defaults_alone(data: st.DataObject, desired: Any) -> None:
    live = data.draw(with_extras(desired))
    assert diff.satisfies(desired, live)
    assert diff.three_way(desired, live, lastapplied.field_set(desired)) == []


@given(json_objects, json_objects)
def test_satisfies_is_what_three_way_checks(desired: Any, live: Any) -> None:
    assert diff.satisfies(desired, live) == (diff.three_way(desired, live, None) == [])


# --- three-way: examples on real objects -----------------------------------------------------


@pytest.fixture
def desired() -> dict[str, Any]:
    return samples.load("deployment-desired")


@pytest.fixture
def live() -> dict[str, Any]:
    return samples.load("deployment-live")


def test_served_deployment_satisfies_the_stripped_upstream_copy(desired, live) -> None:
    assert diff.satisfies(desired, live)
    assert diff.three_way(desired, live, lastapplied.field_set(desired)) == []


def test_served_deployment_satisfies_the_manifest_despite_all_defaults(live) -> None:
    manifest = samples.load("deployment-manifest")
    assert diff.three_way(manifest, live, lastapplied.field_set(manifest)) == []


def test_one_changed_label_is_one_replace(desired, live) -> None:
    desired["metadata"]["labels"]["team"] = "checkout"
    ops = diff.three_way(desired, live, lastapplied.field_set(desired))
    assert ops == [{"op": "replace", "path": "/metadata/labels/team", "value": "checkout"}]


def test_one_changed_image_is_one_replace_inside_the_container(desired, live) -> None:
    desired["spec"]["template"]["spec"]["containers"][1]["image"] = "envoy:1.31.0"
    ops = diff.three_way(desired, live, lastapplied.field_set(desired))
    assert ops == [
        {"op": "replace", "path": "/spec/template/spec/containers/1/image", "value": "envoy:1.31.0"}
    ]


def test_dropping_a_label_we_owned_is_one_remove(desired, live) -> None:
    owned = lastapplied.field_set(desired)
    del desired["metadata"]["labels"]["team"]
    ops = diff.three_way(desired, live, owned)
    assert ops == [{"op": "remove", "path": "/metadata/labels/team"}]


def test_a_label_added_by_another_tool_is_left_alone(desired, live) -> None:
    live["metadata"]["labels"]["argocd.argoproj.io/instance"] = "shop"
    assert diff.three_way(desired, live, lastapplied.field_set(desired)) == []


def test_without_a_record_nothing_is_removed(desired, live) -> None:
    del desired["metadata"]["labels"]["team"]
    assert diff.three_way(desired, live, None) == []


def test_dropping_a_container_field_we_owned_removes_it_there_only(desired, live) -> None:
    owned = lastapplied.field_set(desired)
    del desired["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    ops = diff.three_way(desired, live, owned)
    assert ops == [{"op": "remove", "path": "/spec/template/spec/containers/0/livenessProbe"}]


def test_a_new_env_var_replaces_the_env_list(desired, live) -> None:
    env = desired["spec"]["template"]["spec"]["containers"][0]["env"]
    env.append({"name": "REGION", "value": "eu-west"})
    ops = diff.three_way(desired, live, lastapplied.field_set(desired))
    assert ops == [{"op": "replace", "path": "/spec/template/spec/containers/0/env", "value": env}]


def test_a_missing_parent_is_added_whole_in_one_op(desired, live) -> None:
    desired["spec"]["template"]["spec"]["nodeSelector"] = {"topology.kubernetes.io/zone": "a"}
    ops = diff.three_way(desired, live, lastapplied.field_set(desired))
    assert ops == [
        {
            "op": "add",
            "path": "/spec/template/spec/nodeSelector",
            "value": {"topology.kubernetes.io/zone": "a"},
        }
    ]
    samples.apply(live, ops)  # valid against the object as served


def test_null_in_desired_means_no_opinion(desired, live) -> None:
    desired["metadata"]["creationTimestamp"] = None
    live["metadata"]["creationTimestamp"] = "2024-05-02T09:14:31Z"
    desired["spec"]["replicas"] = None  # left to an autoscaler
    live["spec"]["replicas"] = 7
    assert diff.three_way(desired, live, lastapplied.field_set(desired)) == []


def test_a_field_we_owned_and_now_hand_over_with_null_is_left_in_place(desired, live) -> None:
    owned = lastapplied.field_set(desired)
    desired["spec"]["replicas"] = None  # an HPA takes over
    live["spec"]["replicas"] = 5
    assert diff.three_way(desired, live, owned) == []
    assert "replicas" not in lastapplied.field_set(desired)["spec"]


def test_a_field_we_owned_and_dropped_is_removed(desired, live) -> None:
    owned = lastapplied.field_set(desired)
    del desired["spec"]["replicas"]
    assert diff.three_way(desired, live, owned) == [{"op": "remove", "path": "/spec/replicas"}]


def test_a_dropped_map_with_foreign_members_loses_only_ours(desired, live) -> None:
    owned = lastapplied.field_set(desired)
    del desired["metadata"]["labels"]
    live["metadata"]["labels"]["argocd.argoproj.io/instance"] = "shop"
    ops = diff.three_way(desired, live, owned)
    assert {op["op"] for op in ops} == {"remove"}
    assert samples.apply(live, ops)["metadata"]["labels"] == {"argocd.argoproj.io/instance": "shop"}


def test_a_dropped_map_that_is_all_ours_goes_in_one_op(desired, live) -> None:
    owned = lastapplied.field_set(desired)
    del desired["metadata"]["labels"]
    ops = diff.three_way(desired, live, owned)
    assert ops == [{"op": "remove", "path": "/metadata/labels"}]


def test_a_bool_int_change_is_a_change() -> None:
    ops = diff.three_way({"spec": {"paused": True}}, {"spec": {"paused": 1}}, None)
    assert ops == [{"op": "replace", "path": "/spec/paused", "value": True}]


def test_three_way_does_not_mutate_its_inputs(desired, live) -> None:
    owned = lastapplied.field_set(desired)
    desired["metadata"]["labels"]["team"] = "checkout"
    del desired["spec"]["template"]["spec"]["volumes"]
    before = samples.canonical((desired, live, owned))
    assert diff.three_way(desired, live, owned)
    assert samples.canonical((desired, live, owned)) == before


def test_configmap_one_changed_key_is_one_replace() -> None:
    desired = samples.configmap()
    live = samples.configmap(served=True)
    desired["data"]["key-017"] = "changed"
    assert diff.three_way(desired, live, lastapplied.field_set(desired)) == [
        {"op": "replace", "path": "/data/key-017", "value": "changed"}
    ]
