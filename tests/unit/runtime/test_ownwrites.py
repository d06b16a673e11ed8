"""While the copies' cache lags the syncer's own writes, the live copy is the last write's
result; every version a chain of writes replaced counts as stale, so a watch that comes back
and replays them causes no write."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime.ownwrites import MAX_CHAIN, OwnWrites

KEY = ObjectKey(GroupVersionResource("", "v1", "configmaps"), "shop", "settings")


def version(rv: int, data: str = "") -> dict:
    return {"metadata": {"name": "settings", "resourceVersion": str(rv)}, "data": {"k": data}}


def test_the_cache_showing_what_a_write_replaced_reads_as_that_writes_result():
    writes = OwnWrites()
    writes.wrote(KEY, version(1), version(2, "new"))
    assert writes.live(KEY, version(1)) == version(2, "new")


def test_every_version_a_chain_of_writes_replaced_reads_as_the_last_result():
    # The watch is down: each write is planned on the previous one's result.
    writes = OwnWrites()
    live = version(1)
    for rv in range(2, 7):
        result = version(rv, f"v{rv}")
        writes.wrote(KEY, writes.live(KEY, live), result)
    # The watch comes back from rv 1 and replays every version in order.
    for rv in range(1, 6):
        assert writes.live(KEY, version(rv, f"v{rv}")) == version(6, "v6")
    assert writes.is_echo(KEY, version(6, "v6"))


def test_a_version_outside_the_chain_is_somebody_elses_change_and_ends_the_record():
    writes = OwnWrites()
    writes.wrote(KEY, version(1), version(2))
    foreign = version(9, "edited")
    assert writes.live(KEY, foreign) == foreign
    assert writes.live(KEY, version(1)) == version(1)  # the record is gone


def test_a_delete_and_a_create_while_the_watch_is_down_hide_the_replayed_deletion():
    writes = OwnWrites()
    writes.wrote(KEY, version(1), version(2))  # patch
    writes.wrote(KEY, version(2), None)  # delete
    writes.wrote(KEY, None, version(3))  # create again
    assert writes.live(KEY, version(2)) == version(3)
    assert writes.live(KEY, None) == version(3)  # the replayed DELETED: no second create


def test_the_echo_of_a_chain_that_created_the_copy_ends_it_so_a_later_deletion_shows():
    writes = OwnWrites()
    writes.wrote(KEY, None, version(3))
    assert writes.is_echo(KEY, version(3))
    assert writes.live(KEY, None) is None


def test_the_echo_of_a_patch_keeps_the_record_for_a_replay_showing_an_older_version():
    writes = OwnWrites()
    writes.wrote(KEY, version(1), version(2))
    assert writes.is_echo(KEY, version(2))
    assert writes.live(KEY, version(1)) == version(2)
    assert writes.live(KEY, version(2)) == version(2)


def test_a_write_planned_on_a_fresh_cache_starts_a_new_chain():
    writes = OwnWrites()
    writes.wrote(KEY, version(1), version(2))
    writes.wrote(KEY, version(5), version(6))  # planned on a version not ours
    assert writes.live(KEY, version(1)) == version(1)


@given(st.integers(min_value=1, max_value=3 * MAX_CHAIN))
def test_a_chain_remembers_at_most_its_last_versions(length: int):
    writes = OwnWrites()
    for rv in range(1, length + 1):
        writes.wrote(KEY, version(rv), version(rv + 1))
    newest = list(range(1, length + 1))[-MAX_CHAIN:]
    assert writes.live(KEY, version(newest[0])) == version(length + 1)
    if length > MAX_CHAIN:
        assert writes.live(KEY, version(newest[0] - 1)) == version(newest[0] - 1)
