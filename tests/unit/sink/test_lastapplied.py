"""The applied-fields record: what it holds, how it encodes, and that bad input never raises."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from syncpipe.model import objects
from syncpipe.sink import lastapplied
from tests.unit.sink import samples
from tests.unit.sink.samples import json_objects


def test_field_set_keeps_keys_and_drops_values() -> None:
    desired = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", "labels": {"x": "1"}},
        "data": {"a": "secret-ish", "b": "2"},
    }
    assert lastapplied.field_set(desired) == {
        "metadata": {"name": 0, "labels": {"x": 0}},
        "data": {"a": 0, "b": 0},
    }


def test_a_secret_value_never_reaches_the_record() -> None:
    secret = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "aHVudGVyMg=="}}
    assert "aHVudGVyMg" not in lastapplied.record_of(secret)


def test_lists_of_scalars_are_leaves_and_lists_of_dicts_are_kept_by_index() -> None:
    fields = lastapplied.field_set(
        {"args": ["a", "b"], "ports": [{"port": 1}, {"port": 2, "n": 1}]}
    )
    assert fields == {"args": 0, "ports": [{"port": 0}, {"port": 0, "n": 0}]}


def test_null_members_are_not_owned() -> None:
    fields = lastapplied.field_set({"metadata": {"creationTimestamp": None, "name": "x"}})
    assert fields == {"metadata": {"name": 0}}


def test_the_record_does_not_describe_itself() -> None:
    desired = samples.configmap()
    recorded = objects.with_annotations(desired, {lastapplied.ANNOTATION: "anything"})
    assert lastapplied.field_set(recorded) == lastapplied.field_set(desired)
    assert "annotations" not in lastapplied.field_set(recorded)["metadata"]


def test_other_annotations_stay_in_the_field_set() -> None:
    desired = objects.with_annotations(
        samples.configmap(), {lastapplied.ANNOTATION: "x", "example.com/a": "1"}
    )
    assert lastapplied.field_set(desired)["metadata"]["annotations"] == {"example.com/a": 0}


def test_encoding_is_compact_and_independent_of_key_order() -> None:
    a = {"data": {"b": "1", "a": "2"}, "metadata": {"name": "x"}}
    b = {"metadata": {"name": "x"}, "data": {"a": "2", "b": "1"}}
    assert lastapplied.record_of(a) == lastapplied.record_of(b)
    assert lastapplied.record_of(a) == '{"data":{"a":0,"b":0},"metadata":{"name":0}}'


@pytest.mark.parametrize(
    ("name", "size"),
    [("deployment-desired", 2025), ("deployment-manifest", 1376)],
)
def test_deployment_record_size_is_as_documented(name: str, size: int) -> None:
    assert len(lastapplied.record_of(samples.load(name))) == size


def test_configmap_with_fifty_keys_record_size_is_as_documented() -> None:
    assert len(lastapplied.record_of(samples.configmap(50))) == 665


@given(json_objects)
def test_encode_decode_round_trip(desired: dict[str, Any]) -> None:
    fields = lastapplied.field_set(desired)
    assert lastapplied.decode(lastapplied.encode(fields)) == fields


@pytest.mark.parametrize(
    "text",
    [
        None,
        123,
        "",
        "not json",
        "[]",
        "0",
        "null",
        '{"a": 1}',
        '{"a": "x"}',
        '{"a": true}',
        '{"a": [0, {"b": null}]}',
        '{"a": 0',
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 5_000 + "0" + "}" * 5_000,
        '{"a":' * 1_000 + "0" + "}" * 1_000,
    ],
    ids=lambda t: repr(t)[:20],
)
def test_garbage_decodes_to_none(text: Any) -> None:
    assert lastapplied.decode(text) is None


def test_owned_fields_of_reads_the_annotation() -> None:
    desired = samples.configmap(3)
    live = objects.with_annotations(
        samples.configmap(3, served=True),
        {lastapplied.ANNOTATION: lastapplied.record_of(desired)},
    )
    assert lastapplied.owned_fields_of(live) == lastapplied.field_set(desired)


@pytest.mark.parametrize(
    "live",
    [
        {"metadata": {"name": "x"}},
        {"metadata": {"annotations": None}},
        {"metadata": {"annotations": {lastapplied.ANNOTATION: "{broken"}}},
        {},
    ],
)
def test_owned_fields_of_an_object_without_a_valid_record_is_none(live: dict[str, Any]) -> None:
    assert lastapplied.owned_fields_of(live) is None


def test_a_huge_object_gets_a_coarse_record_that_still_fits_an_annotation():
    schema = {
        f"field{i}": {
            "type": "object",
            "properties": {f"p{j}": {"type": "string"} for j in range(40)},
        }
        for i in range(200)
    }
    crd = {
        "metadata": {"name": "big"},
        "spec": {"versions": [{"schema": {"openAPIV3Schema": {"properties": schema}}}]},
    }
    text = lastapplied.record_of(crd)
    assert len(text) <= lastapplied.MAX_RECORD_BYTES
    decoded = lastapplied.decode(text)
    assert decoded is not None
    assert decoded["metadata"] == {"name": 0}
