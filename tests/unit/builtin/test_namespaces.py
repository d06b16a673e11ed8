"""Namespace mappers: valid names, reversible through the learned index and the locator."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncpipe import errors
from syncpipe.builtin import namespaces
from syncpipe.hooks.context import SyncContext
from syncpipe.model.events import Direction

DNS_LABEL = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?\Z")
VALID = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@given(DNS_LABEL)
def test_hashed_names_are_valid_and_distinct_from_the_input(namespace):
    mapped = namespaces.hashed_name("edge", namespace)
    assert VALID.match(mapped)
    assert len(mapped) <= 63
    assert mapped.startswith("edge-")


def test_hashed_names_of_long_namespaces_stay_within_63_characters():
    assert len(namespaces.hashed_name("kcp", "x" * 63)) <= 63


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("prefix:e1-", "e1-apps"),
        ("suffix:-e1", "apps-e1"),
        ("template:{syncer}-{namespace}", "edge7-apps"),
    ],
)
def test_mappers_map_and_reverse(spec, expected):
    mapper = namespaces.build_mapper(spec, syncer_name="edge7")
    assert mapper.downstream_namespace_for("apps") == expected
    assert mapper.upstream_namespace_for(expected) == "apps"


def test_an_unknown_or_invalid_mapping_is_a_config_error():
    with pytest.raises(errors.ConfigError):
        namespaces.build_mapper("reverse", syncer_name="s")
    mapper = namespaces.build_mapper("prefix:UPPER-", syncer_name="s")
    with pytest.raises(errors.ConfigError):
        mapper.downstream_namespace_for("apps")


@given(DNS_LABEL)
def test_transform_round_trip_for_namespaced_objects_and_namespaces(namespace):
    mapper = namespaces.build_mapper("hashed:e", syncer_name="s")
    down = SyncContext(syncer_name="s", namespace_mapper=mapper)
    up = SyncContext(syncer_name="s", namespace_mapper=mapper, direction=Direction.UP)
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": namespace},
    }
    assert namespaces.map_up(namespaces.map_down(cm, down), up) == cm
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    assert namespaces.map_up(namespaces.map_down(ns, down), up) == ns
