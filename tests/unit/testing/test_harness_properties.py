"""Any sequence of upstream changes: after each pass the copies match, and a restart writes
nothing."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncpipe.testing import PipelineHarness, select_everything
from syncpipe.testing.manifests import configmap

NAMES = ("a", "b", "c")
DATA = st.dictionaries(st.sampled_from(["x", "y"]), st.sampled_from(["1", "2"]), max_size=2)
CHANGES = st.lists(
    st.tuples(st.sampled_from(NAMES), st.none() | DATA),  # None: delete
    min_size=1,
    max_size=6,
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=CHANGES)
def test_copies_follow_upstream_changes_and_every_pass_ends_at_rest(changes):
    harness = PipelineHarness(
        configs=[select_everything(*(configmap("shop", name, {}) for name in NAMES))]
    )
    harness.upstream.apply(configmap("shop", "a", {"x": "1"}))
    harness.sync()
    present = {"a": {"x": "1"}}
    for name, data in changes:
        if data is None:
            if name in present:
                harness.upstream.delete("v1", "ConfigMap", f"shop/{name}")
                del present[name]
        else:
            harness.upstream.apply(configmap("shop", name, data))
            present[name] = data
        result = harness.sync()
        assert not result.rejected, result.listing()
        for other in NAMES:
            copy = harness.downstream.get("v1", "ConfigMap", f"shop/{other}")
            if other in present:
                assert copy is not None, result.listing()
                assert (copy.get("data") or {}) == present[other], result.listing()
            else:
                assert copy is None, result.listing()
        harness.assert_at_rest()
