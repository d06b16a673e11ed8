"""The status example plugin, installed, steered from the command line of ``syncpipe run``.

``plugins/syncpipe-example-status`` (entry point ``edge-status``) adds an edge summary
condition to the status returned upstream for the kinds its ``kinds`` option names (the real
API server keeps it: a field of its own in a built-in kind's status would be dropped, which
the offline harness cannot show); a value of the wrong type
for one of its declared options stops the syncer before it writes anything.
"""

from __future__ import annotations

import pytest

from tests.e2e import helpers as h

pytestmark = [pytest.mark.apiserver, pytest.mark.slow]


def test_the_status_returned_upstream_carries_the_edge_summary(syncer_cli, up_rest, unique_name):
    ns = unique_name
    up_rest.create(h.NS, "", h.namespace(ns, unique_name))
    up_rest.create(h.DEPLOY, ns, h.deployment(ns, "web", unique_name))
    spec = {
        "namespaceScope": {"namespaces": [ns], "resources": [h.resource("apps", "deployments")]}
    }
    up_rest.create(h.SYNCER_CONFIGS, "", h.syncer_config(unique_name, spec))
    syncer_cli(
        "--plugin-opt",
        "edge-status.kinds=Deployment",
        "--plugin-opt",
        "edge-status.condition=AtTheEdge",
    )

    def summary(obj):
        conditions = (obj.get("status") or {}).get("conditions") or ()
        return next((c for c in conditions if c.get("type") == "AtTheEdge"), None)

    web = h.wait_field(
        up_rest,
        h.DEPLOY,
        ns,
        "web",
        lambda o: summary(o) and "replicas" in o["status"],
        timeout=h.SLOW_TIMEOUT,
        where="upstream",
        what="the edge summary in the returned status",
    )
    status = web["status"]
    ready = f"{status.get('readyReplicas', 0)}/{status['replicas']}"
    assert summary(web) == {  # as sent, so nothing differs at rest
        "lastTransitionTime": None,
        "lastUpdateTime": None,
        "type": "AtTheEdge",
        "status": "True",
        "reason": "StatusReturned",
        "message": f"returned by syncer {unique_name}; ready {ready}",
    }
    assert any(c["type"] == "Progressing" for c in status["conditions"])  # the edge's kept


def test_an_option_value_of_the_wrong_type_stops_the_syncer_with_one_error_line(
    upstream, downstream, up_rest, down_rest, syncer_crds, e2e_cleanup, unique_name
):
    ns = unique_name
    up_rest.create(h.NS, "", h.namespace(ns, unique_name))
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.namespace_scope_config(unique_name, [ns], [h.resource("apps", "deployments")]),
    )
    done = h.syncpipe_between_planes(
        upstream,
        downstream,
        "run",
        "--syncer-name",
        unique_name,
        "--plugin-opt",
        "edge-status.ready=maybe",
    )
    assert done.returncode == 1
    (error,) = done.stderr.splitlines()
    assert error == (
        "Error: plugin 'edge-status': option 'ready': 'maybe' is not a boolean "
        "(true/false, yes/no, on/off, 1/0)"
    )
    # Before any write: nothing downstream, no heartbeat or condition upstream.
    assert down_rest.get_or_none(h.NS, "", ns) is None
    assert "status" not in up_rest.get(h.SYNCER_CONFIGS, "", unique_name)
