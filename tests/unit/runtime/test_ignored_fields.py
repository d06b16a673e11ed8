"""Ignored fields become ``null`` in the desired object: the sink neither sets nor removes them."""

from syncpipe.hooks.chain import hands_off as _hands_off
from syncpipe.model.events import Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import GroupVersionResource
from syncpipe.sink import planner

DEPLOY = GroupVersionResource("apps", "v1", "deployments")
KEY = ObjectKey(DEPLOY, "ns", "web")


def test_hands_off_copies_only_the_touched_path():
    desired = {"metadata": {"name": "web"}, "spec": {"replicas": 3, "template": {"x": 1}}}
    result = _hands_off(desired, ("/spec/replicas",))
    assert result["spec"] == {"replicas": None, "template": {"x": 1}}
    assert result["spec"]["template"] is desired["spec"]["template"]
    assert desired["spec"]["replicas"] == 3


def test_a_field_handed_to_another_controller_is_neither_set_nor_removed():
    before = {"metadata": {"name": "web"}, "spec": {"replicas": 3}}
    create = planner.plan(side=Side.DOWNSTREAM, key=KEY, desired=before, live=None)
    live = {**create.body, "spec": {"replicas": 7}}  # an HPA scaled it
    after = _hands_off(before, ("/spec/replicas",))
    action = planner.plan(side=Side.DOWNSTREAM, key=KEY, desired=after, live=live)
    ops = [] if action is None else list(action.ops)
    assert not any(op["path"].startswith("/spec") for op in ops)
