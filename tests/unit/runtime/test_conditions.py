"""The conditions a SyncerConfig gets, decided from the syncer's facts (one pure function)."""

from __future__ import annotations

import pytest

from syncpipe.model.events import Side
from syncpipe.runtime.conditions import ConfigFacts, conditions


def _by_type(facts: ConfigFacts) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in conditions(facts)}


def test_a_config_with_nothing_wrong_is_ready_and_its_apis_available():
    found = _by_type(ConfigFacts())
    assert found == {
        "Ready": ("True", "Syncing", ""),
        "APIsAvailable": ("True", "Served", ""),
    }


def test_unserved_resources_are_listed_per_side_and_make_the_config_partly_inactive():
    facts = ConfigFacts(
        unserved={
            Side.DOWNSTREAM: ["reports.up.domain"],
            Side.UPSTREAM: ["gadgets.a/v1", "widgets.b/v1alpha1"],
        }
    )
    found = _by_type(facts)
    listing = (
        "not served upstream: gadgets.a/v1, widgets.b/v1alpha1; "
        "not served downstream: reports.up.domain"
    )
    assert found["APIsAvailable"] == ("False", "NotServed", listing)
    assert found["Ready"] == (
        "False",
        "PartlyInactive",
        f"part of this config syncs nothing: {listing}",
    )


def test_a_side_with_nothing_missing_is_left_out_of_the_listing():
    facts = ConfigFacts(
        unserved={Side.UPSTREAM: [], Side.DOWNSTREAM: ["kind W.x/v1 (copies wait for it)"]}
    )
    assert (
        _by_type(facts)["APIsAvailable"][2]
        == "not served downstream: kind W.x/v1 (copies wait for it)"
    )


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (ConfigFacts(config_problems=["bad @ $.spec"], unreadable=["x"]), "InvalidConfig"),
        (
            ConfigFacts(unreadable=["upstream v1/configmaps: 403"], rejected=[("k", "v")]),
            "SourceUnavailable",
        ),
        (ConfigFacts(rejected=[("ns/cm", "refused")], selection_problems=["p"]), "ObjectsRejected"),
        (
            ConfigFacts(selection_problems=["p"], unserved={Side.UPSTREAM: ["w"]}),
            "SelectionProblems",
        ),
        (ConfigFacts(unserved={Side.UPSTREAM: ["w"]}), "PartlyInactive"),
    ],
)
def test_ready_says_the_most_severe_reason(facts, reason):
    status, found, _message = _by_type(facts)["Ready"]
    assert (status, found) == ("False", reason)


def test_held_deletions_are_a_condition_only_while_the_breaker_is_tripped():
    assert "DeletionsHeld" not in _by_type(ConfigFacts())
    status, reason, message = _by_type(ConfigFacts(held_deletions=7))["DeletionsHeld"]
    assert (status, reason) == ("True", "CircuitBreakerTripped")
    assert message.startswith("7 deletions")


def test_held_deletions_name_the_plugins_whose_vetoes_caused_them():
    facts = ConfigFacts(held_deletions=7, held_vetoed_by=(("acme", 5),))
    _status, _reason, message = _by_type(facts)["DeletionsHeld"]
    assert message.startswith(
        "7 deletions are held (2 inferred from relists, 5 vetoed by plugin acme); restart with "
        "--confirm-held-deletions"
    )


def test_messages_are_capped():
    facts = ConfigFacts(unserved={Side.UPSTREAM: ["x" * 2000]})
    assert all(len(c["message"]) <= 1000 for c in conditions(facts))
