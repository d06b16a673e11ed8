"""Status return: a quiet object's change goes up at once, a burst after it folds into one write."""

from __future__ import annotations

import gc
import threading

import pytest

from syncpipe.model.resources import GroupVersionResource
from syncpipe.testing import wait_for

pytestmark = [pytest.mark.apiserver, pytest.mark.usefixtures("syncer_crds")]

# Long enough that nothing but the leading edge can bring a change up within the test, short
# enough that the trailing write is seen soon after.
WINDOW = 10.0


class SeenUpstream:
    """Every ``status.seq`` an upstream watch of one collection shows, in order."""

    def __init__(self, rest, gvr: GroupVersionResource) -> None:
        self.seen: list[str] = []
        _, version = rest.list(gvr)
        self._stream = rest.watch(gvr, resource_version=version, timeout_seconds=120)
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        for _type, obj in self._stream:
            seq = (obj.get("status") or {}).get("seq")
            if seq and (not self.seen or self.seen[-1] != seq):
                self.seen.append(seq)

    def close(self) -> None:
        self._stream.close()


def write_status(rest, gvr: GroupVersionResource, name: str, seq: str) -> None:
    obj = rest.get(gvr, "", name)
    rest.replace(gvr, "", name, {**obj, "status": {"seq": seq}}, subresource="status")


def test_a_quiet_objects_status_goes_up_at_once_and_a_burst_after_it_in_one_write(
    make_syncer, gadgets, unique_name, up_rest, down_rest
):
    syncer = make_syncer(unique_name, status_settle_seconds=WINDOW)
    syncer.start()
    seen = SeenUpstream(up_rest, gadgets)
    try:
        wait_for(lambda: down_rest.get_or_none(gadgets, "", "g"), timeout=30, ignore=(Exception,))
        wait_for(syncer.ready.is_set, timeout=60, message="syncer not ready")
        # Quiet: returned by the leading edge, long before the window could have passed.
        write_status(down_rest, gadgets, "g", "1")
        wait_for(lambda: seen.seen == ["1"], timeout=WINDOW / 2, interval=0.02)
        # Two more within the window: the second folds into the first, one trailing write.
        write_status(down_rest, gadgets, "g", "2")
        write_status(down_rest, gadgets, "g", "3")
        wait_for(lambda: "3" in seen.seen, timeout=WINDOW * 4)
        assert seen.seen == ["1", "3"]
    finally:
        seen.close()
        syncer.stop(timeout=10)


def test_a_ready_syncer_keeps_its_objects_out_of_the_collectors_walks_until_it_stops(
    make_syncer, gadgets, unique_name, down_rest
):
    # A full collection walks every object the collector tracks and stops every thread
    # meanwhile, status return's too (runtime.interpreter).
    syncer = make_syncer(unique_name)
    syncer.start()
    try:
        wait_for(lambda: down_rest.get_or_none(gadgets, "", "g"), timeout=30, ignore=(Exception,))
        wait_for(syncer.ready.is_set, timeout=60, message="syncer not ready")
        assert gc.get_freeze_count() > 0
        assert not any(o is syncer.pipeline for o in gc.get_objects())
    finally:
        syncer.stop(timeout=10)
    assert gc.get_freeze_count() == 0
    assert any(o is syncer.pipeline for o in gc.get_objects())
