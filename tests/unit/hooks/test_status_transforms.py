"""Status transforms: run on status return only, in reverse forward order, errors named."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncpipe import errors
from syncpipe.hooks.chain import return_status
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.transforms import Phase, Transform
from syncpipe.model.events import Direction
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import GroupVersionResource, ResourceInfo

DEPLOYMENTS = ResourceInfo(
    gvr=GroupVersionResource("apps", "v1", "deployments"), kind="Deployment", namespaced=True
)
KEY = ObjectKey(DEPLOYMENTS.gvr, "ns", "web")
CTX = SyncContext(syncer_name="s1", direction=Direction.UP, resource=DEPLOYMENTS)


def _same(obj: dict[str, Any], _ctx: SyncContext) -> dict[str, Any]:
    return obj


def appending(name: str) -> Any:
    def fn(status: dict[str, Any], _ctx: SyncContext) -> dict[str, Any]:
        return {**status, "trail": [*status.get("trail", []), name]}

    return fn


def test_status_transforms_run_in_the_reverse_of_the_forward_order() -> None:
    transforms = (
        Transform(name="first", forward=_same, status=appending("first"), phase=Phase.RENATURE),
        Transform(name="second", forward=_same, status=appending("second")),
    )
    result = return_status({"ready": 1}, key=KEY, transforms=transforms, ctx=CTX)
    assert result == {"ready": 1, "trail": ["second", "first"]}


def test_a_status_transform_is_skipped_for_resources_it_does_not_apply_to() -> None:
    only_configmaps = Transform(
        name="cm-only",
        forward=_same,
        status=appending("cm-only"),
        applies_to=lambda info: info.gvr.resource == "configmaps",
    )
    status = {"ready": 1}
    assert return_status(status, key=KEY, transforms=(only_configmaps,), ctx=CTX) is status


def test_without_status_transforms_the_status_is_returned_as_it_is() -> None:
    status = {"ready": 1}
    plain = Transform(name="plain", forward=_same, reverse=_same)
    assert return_status(status, key=KEY, transforms=(plain,), ctx=CTX) is status


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.lists(st.integers(), max_size=3)))
def test_a_status_transform_never_changes_the_status_it_was_given(status: dict[str, Any]) -> None:
    def mutating(given_status: dict[str, Any], _ctx: SyncContext) -> dict[str, Any]:
        for value in given_status.values():
            if isinstance(value, list):
                value.append(0)
        given_status["added"] = True
        return given_status

    before = repr(status)
    transform = Transform(name="mutating", forward=_same, status=mutating)
    return_status(status, key=KEY, transforms=(transform,), ctx=CTX)
    assert repr(status) == before


def test_a_failing_status_transform_is_reported_with_plugin_transform_and_object() -> None:
    def broken(_status: dict[str, Any], _ctx: SyncContext) -> dict[str, Any]:
        raise KeyError("conditions")

    transform = Transform(name="broken", forward=_same, status=broken, plugin="acme")
    with pytest.raises(errors.TransformError) as raised:
        return_status({}, key=KEY, transforms=(transform,), ctx=CTX)
    assert (raised.value.plugin, raised.value.transform, raised.value.key) == (
        "acme",
        "broken",
        KEY,
    )
    assert "web" in str(raised.value)


def test_a_status_transform_returning_no_dict_is_reported_by_name() -> None:
    transform = Transform(name="forgetful", forward=_same, status=lambda _s, _c: None)
    with pytest.raises(errors.TransformError, match=r"forgetful.*NoneType"):
        return_status({}, key=KEY, transforms=(transform,), ctx=CTX)
