"""A copy the syncer created and someone then deleted on the target side is created again
(the record of the syncer's own create must not outlive its watch echo)."""

from __future__ import annotations

from syncpipe.testing import PipelineHarness

SETTINGS = """
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {a: "1"}
"""


def test_a_created_copy_deleted_downstream_is_created_again():
    harness = PipelineHarness()
    harness.upstream.apply(SETTINGS)
    first = harness.sync()
    assert [(w.verb, w.key.name) for w in first.writes if w.kind == "ConfigMap"] == [
        ("create", "settings")
    ]
    harness.downstream.delete("v1", "ConfigMap", "shop/settings")
    again = harness.sync()
    assert [(w.verb, w.key.name) for w in again.writes] == [("create", "settings")]
    harness.assert_at_rest()
