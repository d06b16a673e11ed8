"""Records that look like the syncer's writes come after their causes, each side in its order."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncpipe.builtin.ownership import OWNER_LABEL, SOURCE_ANNOTATION
from syncpipe.model.events import Side
from syncpipe.replay.causality import EFFECT_LAG, causal_order
from syncpipe.replay.snapshot import Record
from syncpipe.sink import lastapplied
from tests.unit.replay.factories import CM, DEPLOY, configmap, deployment, event, listed

UP, DOWN = Side.UPSTREAM, Side.DOWNSTREAM


def with_status(obj: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    return {**obj, "status": status}


def owned(obj: dict[str, Any], **annotations: str) -> dict[str, Any]:
    """``obj`` as a copy of syncer edge1 (with ``annotations``)."""
    meta = {**obj["metadata"], "labels": {OWNER_LABEL: "edge1"}}
    if annotations:
        meta["annotations"] = annotations
    return {**obj, "metadata": meta}


def order(records: list[Record]) -> list[tuple[float, Side, str]]:
    return [(round(r.t, 6), r.side, r.type.value) for r in causal_order(records)]


def test_a_status_returned_upstream_comes_after_the_copys_change_that_caused_it():
    web = deployment("shop", "web")
    copy = owned(web)
    records = [
        *listed(UP, DEPLOY, web),
        *listed(DOWN, DEPLOY, copy),
        # The recorder saw the syncer's write 4 ms before the change that caused it.
        event(1.000, UP, "MODIFIED", DEPLOY, with_status(web, {"replicas": 1})),
        event(1.004, DOWN, "MODIFIED", DEPLOY, with_status(copy, {"replicas": 1})),
    ]
    assert order(records)[-2:] == [
        (1.004, DOWN, "MODIFIED"),
        (1.0 + EFFECT_LAG, UP, "MODIFIED"),
    ]


def test_a_copy_the_syncer_patched_comes_after_the_upstream_change_that_caused_it():
    source = configmap("shop", "a", {"v": "1"})
    copy = owned(source, **{lastapplied.ANNOTATION: "v"})
    patched = owned({**source, "data": {"v": "2", "w": "3"}}, **{lastapplied.ANNOTATION: "v,w"})
    records = [
        *listed(UP, CM, source),
        *listed(DOWN, CM, copy),
        event(2.000, DOWN, "MODIFIED", CM, patched),
        event(2.003, UP, "MODIFIED", CM, {**source, "data": {"v": "2", "w": "3"}}),
    ]
    assert [side for _, side, _ in order(records)[-2:]] == [UP, DOWN]


def test_someone_elses_edit_of_a_copy_and_a_status_from_its_controller_stay_in_place():
    copy = owned(configmap("shop", "a", {"v": "1"}))
    web = owned(deployment("shop", "web"))
    records = [
        *listed(DOWN, CM, copy),
        *listed(DOWN, DEPLOY, web),
        event(3.000, DOWN, "MODIFIED", CM, {**copy, "data": {"v": "edited"}}),
        event(3.001, DOWN, "MODIFIED", DEPLOY, with_status(web, {"replicas": 1})),
        event(3.002, UP, "MODIFIED", CM, configmap("shop", "a", {"v": "2"})),
    ]
    assert order(records)[-3:] == [
        (3.0, DOWN, "MODIFIED"),
        (3.001, DOWN, "MODIFIED"),
        (3.002, UP, "MODIFIED"),
    ]


names = st.sampled_from(["a", "b"])
copies = st.booleans()
steps = st.lists(
    st.tuples(st.sampled_from([UP, DOWN]), names, copies, st.integers(0, 3), st.floats(0, 0.02)),
    max_size=25,
)


@given(steps)
def test_each_object_keeps_its_order_time_never_goes_back_and_nothing_is_lost(plan):
    t = 0.0
    records = []
    for side, name, is_copy, value, gap in plan:
        t += gap
        obj = with_status(configmap("shop", name, {}), {"v": value})
        obj = owned(obj, **{lastapplied.ANNOTATION: str(value)}) if is_copy else obj
        records.append(event(t, side, "MODIFIED", CM, obj))
    out = list(causal_order(records))
    assert [r.t for r in out] == sorted(r.t for r in out)
    for side, name in {(r.side, r.object["metadata"]["name"]) for r in records}:
        mine = [r for r in records if (r.side, r.object["metadata"]["name"]) == (side, name)]
        theirs = [r for r in out if (r.side, r.object["metadata"]["name"]) == (side, name)]
        assert [r.object for r in theirs] == [r.object for r in mine]
        assert all(0 <= o.t - i.t <= EFFECT_LAG + 1e-9 for i, o in zip(mine, theirs, strict=True))


def test_a_syncer_write_does_not_hold_back_the_next_change_on_its_side():
    config = with_status(configmap("shop", "cfg", {}), {"beat": 1})
    source = configmap("shop", "a", {"v": "1"})
    records = [
        *listed(UP, CM, config, source),
        event(4.000, UP, "MODIFIED", CM, with_status(config, {"beat": 2})),  # a heartbeat
        event(4.001, UP, "MODIFIED", CM, {**source, "data": {"v": "2"}}),
    ]
    assert order(records)[-2:] == [(4.001, UP, "MODIFIED"), (4.0 + EFFECT_LAG, UP, "MODIFIED")]


@pytest.mark.parametrize(
    ("copy_value", "expected"),
    [
        # The copy now carries the source's new values: the syncer's patch, recorded early.
        ("2", [(5.01, UP, "MODIFIED"), (5.010001, DOWN, "MODIFIED")]),
        # Other values: someone edited the copy before the source changed; left in place.
        ("edited", [(5.0, DOWN, "MODIFIED"), (5.01, UP, "MODIFIED")]),
    ],
)
def test_a_copys_new_values_come_after_the_source_change_that_carries_them(copy_value, expected):
    source = configmap("shop", "a", {"v": "1"})
    copy = owned(source, **{SOURCE_ANNOTATION: "configmaps/shop/a"})
    records = [
        *listed(UP, CM, source),
        *listed(DOWN, CM, copy),
        event(5.000, DOWN, "MODIFIED", CM, {**copy, "data": {"v": copy_value}}),
        event(5.010, UP, "MODIFIED", CM, {**source, "data": {"v": "2"}}),
    ]
    assert order(records)[-2:] == expected
