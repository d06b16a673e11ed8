"""Configs become one selection; malformed ones are left out with their problems."""

from __future__ import annotations

from syncpipe.builtin.ownership import RETURN_STATUS_ANNOTATION
from syncpipe.runtime.selecting import read_configs
from tests.unit.replay.factories import syncer_config


def test_well_formed_configs_merge_and_a_malformed_one_is_left_out_with_its_problems():
    good = syncer_config("good", ["shop"], [("", "v1", "configmaps")])
    bad = syncer_config("bad", ["shop"], [("", "v1", "configmaps")])
    bad["spec"]["namespaceScope"]["resources"][0].pop("resource")
    found = read_configs([good, bad])
    assert not found.selection.is_empty
    assert set(found.problems) == {"bad"}
    assert found.problems["bad"]
    assert all(" @ $" in p for p in found.problems["bad"])
    assert found.ignored["bad"].startswith("ignoring malformed SyncerConfig/bad: ")
    assert found.selection == read_configs([good]).selection


def test_a_config_annotated_not_to_return_status_is_named():
    quiet = syncer_config("quiet", ["shop"], [("", "v1", "configmaps")])
    quiet["metadata"]["annotations"] = {RETURN_STATUS_ANNOTATION: "false"}
    loud = syncer_config("loud", ["web"], [("", "v1", "configmaps")])
    assert read_configs([quiet, loud]).status_off == frozenset({"SyncerConfig/quiet"})


def test_no_configs_select_nothing():
    found = read_configs([])
    assert found.selection.is_empty
    assert found.problems == {}
    assert found.status_off == frozenset()
