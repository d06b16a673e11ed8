"""Several syncers on one SyncerConfig: each its own entry, and a summary all of them agree on."""

from __future__ import annotations

import datetime

from syncpipe.runtime import configstatus

NOW = datetime.datetime(2026, 12, 3, 10, 0, 0, tzinfo=datetime.UTC)
STAMP = "2026-12-03T10:00:00Z"


def ready(status: str = "True", reason: str = "Syncing", message: str = "") -> dict[str, str]:
    return {"type": "Ready", "status": status, "reason": reason, "message": message}


def apis(status: str = "True") -> dict[str, str]:
    return {"type": "APIsAvailable", "status": status, "reason": "Served", "message": ""}


def entry(*conditions: dict[str, str], seconds_ago: float = 0) -> dict[str, object]:
    beat = NOW - datetime.timedelta(seconds=seconds_ago)
    return {
        "lastHeartbeatTime": beat.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "conditions": [{**c, "lastTransitionTime": "2026-12-03T09:00:00Z"} for c in conditions],
    }


def patch(name: str, conditions: list[dict[str, str]], status: dict) -> dict:
    return configstatus.heartbeat_patch(
        syncer_name=name, conditions=conditions, status=status, now=NOW, stale_after=90
    )


def test_a_lone_syncer_writes_its_conditions_at_the_top_as_before_and_its_own_entry():
    written = patch("edge1", [ready(), apis()], {})["status"]
    assert written["lastSyncerHeartbeatTime"] == STAMP
    assert [c["type"] for c in written["conditions"]] == ["Ready", "APIsAvailable"]
    assert written["conditions"][0]["status"] == "True"
    assert list(written["syncers"]) == ["edge1"]
    assert written["syncers"]["edge1"]["lastHeartbeatTime"] == STAMP


def test_each_syncer_patches_only_its_own_entry():
    status = {"syncers": {"edge2": entry(ready("False", "ObjectsRejected", "cm: conflict"))}}
    written = patch("edge1", [ready()], status)["status"]
    assert list(written["syncers"]) == ["edge1"]


def test_two_syncers_write_the_same_summary_naming_the_one_not_ready():
    edge1_state, edge2_state = [ready(), apis()], [ready("False", "ObjectsRejected", "x"), apis()]
    # Each sees the other's latest entry and writes its own fresh one.
    by_edge1 = patch("edge1", edge1_state, {"syncers": {"edge2": entry(*edge2_state)}})
    by_edge2 = patch("edge2", edge2_state, {"syncers": {"edge1": entry(*edge1_state)}})
    assert by_edge1["status"]["conditions"] == by_edge2["status"]["conditions"]
    summary = {c["type"]: c for c in by_edge1["status"]["conditions"]}
    assert summary["Ready"]["status"] == "False"
    assert summary["Ready"]["reason"] == "ObjectsRejected"
    assert summary["Ready"]["message"] == "edge2: ObjectsRejected: x"
    assert summary["APIsAvailable"]["status"] == "True"


def test_a_summary_that_did_not_change_keeps_its_transition_time():
    status = {
        "conditions": [{**ready(), "lastTransitionTime": "2026-12-03T08:00:00Z"}],
        "syncers": {"edge2": entry(ready())},
    }
    written = patch("edge1", [ready()], status)["status"]
    assert written["conditions"][0]["lastTransitionTime"] == "2026-12-03T08:00:00Z"


def test_a_stopped_syncers_entry_no_longer_counts():
    status = {"syncers": {"edge2": entry(ready("False", "SourceUnavailable"), seconds_ago=600)}}
    written = patch("edge1", [ready()], status)["status"]
    assert written["conditions"][0]["status"] == "True"


def test_deletions_held_by_any_syncer_show_in_the_summary():
    held = {"type": "DeletionsHeld", "status": "True", "reason": "CircuitBreakerTripped",
            "message": "3 held"}  # fmt: skip
    summary = configstatus.summary({"edge1": [ready()], "edge2": [ready(), held]})
    assert {c["type"]: c["status"] for c in summary} == {"Ready": "True", "DeletionsHeld": "True"}
    assert summary[1]["message"] == "edge2: CircuitBreakerTripped: 3 held"


def test_syncers_agreeing_for_different_reasons_are_summarised_as_mixed():
    summary = configstatus.summary(
        {"edge1": [ready(reason="Syncing")], "edge2": [ready(reason="Other", message="m")]}
    )
    assert summary == [
        {"type": "Ready", "status": "True", "reason": "Mixed", "message": "edge2: m"}
    ]
