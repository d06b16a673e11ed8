"""Missing APIs per config: entries from discovery, kinds copies wait for, and the Events."""

from __future__ import annotations

from syncpipe.model.events import Side
from syncpipe.runtime.availability import FORGET_SECONDS, ApiAvailability
from tests.unit.source.fakes import FakeClock


def test_unserved_entries_are_announced_once_then_once_more_when_served():
    apis = ApiAvailability()
    first = apis.note_entries({Side.UPSTREAM: {"SyncerConfig/a": ("widgets.x/v1",)}})
    assert [(n.ref, n.reason, n.event_type) for n in first] == [
        ("SyncerConfig/a", "APIsNotServed", "Warning")
    ]
    assert first[0].message.startswith("not served upstream: widgets.x/v1")
    assert apis.note_entries({Side.UPSTREAM: {"SyncerConfig/a": ("widgets.x/v1",)}}) == []
    served = apis.note_entries({Side.UPSTREAM: {}})
    assert [(n.ref, n.reason, n.event_type) for n in served] == [
        ("SyncerConfig/a", "APIsServed", "Normal")
    ]
    assert apis.note_entries({Side.UPSTREAM: {}}) == []
    assert apis.for_config("SyncerConfig/a") == {}


def test_configs_without_unserved_entries_get_no_event():
    apis = ApiAvailability()
    assert apis.note_entries({Side.UPSTREAM: {}, Side.DOWNSTREAM: {}}) == []


def test_entries_are_listed_per_side_for_their_own_config_only():
    apis = ApiAvailability()
    apis.note_entries(
        {
            Side.UPSTREAM: {"SyncerConfig/a": ("widgets.x/v1",)},
            Side.DOWNSTREAM: {"SyncerConfig/a": ("reports.y",), "SyncerConfig/b": ("z.q",)},
        }
    )
    assert apis.for_config("SyncerConfig/a") == {
        Side.UPSTREAM: ["widgets.x/v1"],
        Side.DOWNSTREAM: ["reports.y"],
    }
    assert apis.for_config("SyncerConfig/c") == {}


def test_a_kind_copies_wait_for_is_reported_on_every_config_until_served():
    apis = ApiAvailability()
    apis.copy_waits(Side.DOWNSTREAM, "x.io/v1alpha1", "Widget")
    apis.copy_waits(Side.UPSTREAM, "v1", "Thing")
    expected = {
        Side.DOWNSTREAM: ["kind Widget.x.io/v1alpha1 (copies wait for it)"],
        Side.UPSTREAM: ["kind Thing/v1 (copies wait for it)"],
    }
    assert apis.for_config("SyncerConfig/a") == expected
    assert apis.for_config("SyncerConfig/b") == expected
    apis.forget_served(lambda side, group, version, kind: (group, kind) == ("x.io", "Widget"))
    assert apis.for_config("SyncerConfig/a") == {
        Side.UPSTREAM: ["kind Thing/v1 (copies wait for it)"]
    }


def test_a_kind_nobody_waits_for_any_more_is_forgotten():
    clock = FakeClock()
    apis = ApiAvailability(clock=clock)
    apis.copy_waits(Side.DOWNSTREAM, "x.io/v1", "Widget")
    clock.advance(FORGET_SECONDS / 2)
    assert apis.for_config("SyncerConfig/a") != {}
    clock.advance(FORGET_SECONDS)
    assert apis.for_config("SyncerConfig/a") == {}
