"""A third-party plugin installed in the environment, steered from the command line.

``plugins/syncpipe-example-team-label`` (entry point ``team-label``) labels what syncpipe writes
downstream with ``example.com/team``; ``--plugin-opt team-label.team=...`` sets the value and
``--plugins-disable team-label`` turns it off. Going up (status return) the label is not added.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.e2e import helpers as h

pytestmark = [pytest.mark.apiserver, pytest.mark.slow]

TEAM_LABEL = "example.com/team"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ((), "edge"),
        (("--plugin-opt", "team-label.team=blue"), "blue"),
        (("--plugins-disable", "team-label"), None),
    ],
    ids=["default", "plugin-opt", "disabled"],
)
def test_team_label_plugin_labels_downstream_copies_as_configured(
    flags, expected, syncer_cli, up_rest, down_rest, unique_name
):
    ns = unique_name
    up_rest.create(h.NS, "", h.namespace(ns, unique_name))
    up_rest.create(h.CM, ns, h.configmap(ns, "cm1", {"a": "1"}, unique_name))
    up_rest.create(h.DEPLOY, ns, h.deployment(ns, "web", unique_name))
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.syncer_config(
            unique_name,
            {
                "namespaceScope": {
                    "namespaces": [ns],
                    "resources": [h.resource("", "configmaps"), h.resource("apps", "deployments")],
                }
            },
        ),
    )
    syncer_cli(*flags)
    for gvr, namespace, name in ((h.NS, "", ns), (h.CM, ns, "cm1"), (h.DEPLOY, ns, "web")):
        copy = h.wait_get(down_rest, gvr, namespace, name)
        assert h.label(copy, TEAM_LABEL) == expected, (gvr.resource, name, copy["metadata"])
    # Status comes back up (the controller's), and the label never goes up with it.
    h.wait_field(
        up_rest,
        h.DEPLOY,
        ns,
        "web",
        lambda o: (o.get("status") or {}).get("observedGeneration"),
        timeout=h.SLOW_TIMEOUT,
        where="upstream",
        what="status returned",
    )
    for gvr, namespace, name in ((h.NS, "", ns), (h.CM, ns, "cm1"), (h.DEPLOY, ns, "web")):
        assert h.label(up_rest.get(gvr, namespace, name), TEAM_LABEL) is None


def test_syncpipe_plugins_lists_the_installed_example_with_its_option():
    done = subprocess.run(
        [sys.executable, "-m", "syncpipe", "plugins", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = json.loads(done.stdout)
    example = next(p for p in found["plugins"] if p["name"] == "team-label")
    assert example["distribution"] == "syncpipe-example-team-label 0.1.0"
    options = [(o["plugin"], o["name"], o["value"]) for o in found["options"]]
    assert [o for o in options if o[0] == "team-label"] == [("team-label", "team", "edge")]
    assert [o for o in options if o[0] == "edge-status"] == [
        ("edge-status", "kinds", ""),
        ("edge-status", "condition", "Edge"),
        ("edge-status", "ready", True),
    ]
