"""The planner: which action, if any, for a desired and a live object."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given

from syncpipe.model import actions, objects
from syncpipe.sink import diff, lastapplied, planner
from tests.unit.sink import samples
from tests.unit.sink.samples import DEPLOYMENT_KEY, SIDE, json_objects

RECORD_PATH = "/metadata/annotations/syncpipe.io~1applied-fields"


def plan(desired: Any, live: Any) -> actions.Action | None:
    return planner.plan(side=SIDE, key=DEPLOYMENT_KEY, desired=desired, live=live)


def applied(desired: Any, live: Any) -> Any:
    """``live`` after the planned patch (or ``live`` itself when nothing was planned)."""
    action = plan(desired, live)
    if action is None:
        return live
    assert isinstance(action, actions.Patch)
    return samples.apply(live, action.ops)


@pytest.fixture
def desired() -> dict[str, Any]:
    return samples.load("deployment-desired")


@pytest.fixture
def live(desired) -> dict[str, Any]:
    """The served Deployment as syncpipe left it: satisfying ``desired``, record included."""
    return applied(desired, samples.load("deployment-live"))


def test_nothing_on_either_side_plans_nothing() -> None:
    assert plan(None, None) is None


def test_a_missing_target_is_created_with_its_record(desired) -> None:
    action = plan(desired, None)
    assert isinstance(action, actions.Create)
    assert action.side is SIDE
    assert action.key == DEPLOYMENT_KEY
    annotations = objects.annotations_of(action.body)
    assert annotations[lastapplied.ANNOTATION] == lastapplied.record_of(desired)
    assert objects.with_annotations(action.body, {lastapplied.ANNOTATION: None}) == desired


def test_a_target_no_longer_desired_is_deleted_with_its_uid(live) -> None:
    action = plan(None, live)
    assert action == actions.Delete(side=SIDE, key=DEPLOYMENT_KEY, uid=objects.uid_of(live))


def test_a_target_already_being_deleted_is_not_deleted_again(live) -> None:
    terminating = objects.with_metadata(live, deletionTimestamp="2026-12-02T03:00:00Z")
    assert plan(None, terminating) is None


def test_the_steady_state_plans_nothing(desired, live) -> None:
    assert plan(desired, live) is None


def test_an_object_without_a_record_gets_only_the_record(desired) -> None:
    served = samples.load("deployment-live")
    action = plan(desired, served)
    assert isinstance(action, actions.Patch)
    assert action.ops == (
        {"op": "add", "path": RECORD_PATH, "value": lastapplied.record_of(desired)},
    )


def test_an_object_without_annotations_gets_the_whole_map_in_one_op(desired) -> None:
    desired = objects.with_metadata(desired, annotations=None)
    served = samples.load("deployment-live")
    served = objects.with_metadata(served, annotations=None)
    action = plan(desired, served)
    assert isinstance(action, actions.Patch)
    assert action.ops == (
        {
            "op": "add",
            "path": "/metadata/annotations",
            "value": {lastapplied.ANNOTATION: lastapplied.record_of(desired)},
        },
    )
    assert plan(desired, samples.apply(served, action.ops)) is None


def test_one_changed_label_is_one_op(desired, live) -> None:
    desired["metadata"]["labels"]["team"] = "checkout"
    action = plan(desired, live)
    assert isinstance(action, actions.Patch)
    assert action.ops == ({"op": "replace", "path": "/metadata/labels/team", "value": "checkout"},)
    assert action.subresource == ""


def test_a_new_label_is_added_and_recorded(desired, live) -> None:
    desired["metadata"]["labels"]["tier"] = "web"
    action = plan(desired, live)
    assert isinstance(action, actions.Patch)
    assert action.ops == (
        {"op": "add", "path": "/metadata/labels/tier", "value": "web"},
        {"op": "replace", "path": RECORD_PATH, "value": lastapplied.record_of(desired)},
    )


def test_a_label_we_set_and_dropped_is_removed_and_unrecorded(desired, live) -> None:
    del desired["metadata"]["labels"]["team"]
    action = plan(desired, live)
    assert isinstance(action, actions.Patch)
    assert action.ops == (
        {"op": "remove", "path": "/metadata/labels/team"},
        {"op": "replace", "path": RECORD_PATH, "value": lastapplied.record_of(desired)},
    )
    assert plan(desired, samples.apply(live, action.ops)) is None


def test_a_label_added_by_another_tool_is_left_alone(desired, live) -> None:
    live["metadata"]["labels"]["argocd.argoproj.io/instance"] = "shop"
    assert plan(desired, live) is None


def test_server_side_changes_to_unowned_fields_are_left_alone(desired, live) -> None:
    live["metadata"]["resourceVersion"] = "99999"
    live["status"]["readyReplicas"] = 1
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Always"
    manifest = samples.load("deployment-manifest")
    live = applied(manifest, live)  # now we own only the manifest's fields
    assert plan(manifest, live) is None


def test_handing_a_field_over_with_null_only_updates_the_record(desired, live) -> None:
    desired["spec"]["replicas"] = None  # an HPA owns it from now on
    live["spec"]["replicas"] = 7
    action = plan(desired, live)
    assert isinstance(action, actions.Patch)
    assert action.ops == (
        {"op": "replace", "path": RECORD_PATH, "value": lastapplied.record_of(desired)},
    )
    assert plan(desired, samples.apply(live, action.ops)) is None


def test_with_record_is_the_body_plan_creates(desired) -> None:
    action = plan(desired, None)
    assert isinstance(action, actions.Create)
    assert action.body == planner.with_record(desired)


def test_a_record_carried_by_the_desired_object_is_overridden(desired, live) -> None:
    desired = objects.with_annotations(desired, {lastapplied.ANNOTATION: '{"x":0}'})
    assert plan(desired, live) is None


def test_drift_on_a_field_we_own_is_reverted(desired, live) -> None:
    live["spec"]["replicas"] = 10
    action = plan(desired, live)
    assert isinstance(action, actions.Patch)
    assert action.ops == ({"op": "replace", "path": "/spec/replicas", "value": 3},)


def test_a_garbled_record_costs_one_rewrite_and_no_removal(desired, live) -> None:
    live["metadata"]["annotations"][lastapplied.ANNOTATION] = "{garbled"
    del desired["metadata"]["labels"]["team"]
    action = plan(desired, live)
    assert isinstance(action, actions.Patch)
    assert action.ops == (
        {"op": "replace", "path": RECORD_PATH, "value": lastapplied.record_of(desired)},
    )


def test_kind_and_api_version_are_not_diffed(desired, live) -> None:
    del live["apiVersion"], live["kind"]  # as in the items of a list response
    assert plan(desired, live) is None


def test_configmap_key_removal_is_one_remove_plus_the_record() -> None:
    desired = samples.configmap()
    live = applied(desired, samples.configmap(served=True))
    del desired["data"]["key-042"]
    action = plan(desired, live)
    assert isinstance(action, actions.Patch)
    assert action.ops == (
        {"op": "replace", "path": RECORD_PATH, "value": lastapplied.record_of(desired)},
        {"op": "remove", "path": "/data/key-042"},
    )


def test_planning_does_not_mutate_its_inputs(desired, live) -> None:
    desired["metadata"]["labels"]["tier"] = "web"
    del desired["spec"]["template"]["spec"]["volumes"]
    kept = copy.deepcopy((desired, live))
    assert plan(desired, live) is not None
    assert plan(desired, None) is not None
    assert samples.canonical((desired, live)) == samples.canonical(kept)


@given(json_objects, json_objects, json_objects)
def test_plan_then_apply_reaches_the_steady_state(previous, desired, live) -> None:
    """Whatever was applied before and whatever the target holds now, one patch settles it."""
    meta = {"name": "x", "namespace": "y"}
    previous, desired = {**previous, "metadata": meta}, {**desired, "metadata": meta}
    live = applied(previous, {**live, "metadata": {**meta, "uid": "u"}})
    live = applied(desired, live)
    assert diff.satisfies(desired, live)
    assert plan(desired, live) is None


# --- status ----------------------------------------------------------------------------------


def plan_status(desired_status: Any, live: Any) -> actions.Patch | None:
    return planner.plan_status(
        side=SIDE, key=DEPLOYMENT_KEY, desired_status=desired_status, live=live
    )


def test_status_is_added_whole_when_the_target_has_none(live) -> None:
    del live["status"]
    status = {"replicas": 3, "readyReplicas": 2}
    action = plan_status(status, live)
    assert action is not None
    assert action.subresource == "status"
    assert action.ops == ({"op": "add", "path": "/status", "value": status},)


def test_status_changes_are_patched_exactly_under_status(live) -> None:
    status = copy.deepcopy(live["status"])
    status["readyReplicas"] = 2
    del status["availableReplicas"]
    action = plan_status(status, live)
    assert action is not None
    assert action.subresource == "status"
    assert action.ops == (
        {"op": "remove", "path": "/status/availableReplicas"},
        {"op": "replace", "path": "/status/readyReplicas", "value": 2},
    )
    assert samples.apply(live, action.ops)["status"] == status


def test_equal_status_plans_nothing(live) -> None:
    assert plan_status(copy.deepcopy(live["status"]), live) is None


def test_no_status_to_return_or_no_target_plans_nothing(live) -> None:
    assert plan_status(None, live) is None
    assert plan_status({"replicas": 1}, None) is None
