"""A faulty plugin, installed as a distribution, meets ``syncpipe run`` on the real planes.

Start-up problems (a plugin failing to configure, a misspelt ``--plugin-opt``, disabling an
essential built-in) end the run with one ``Error:`` line before anything is written; a
``syncpipe_select`` that raises on one object rejects that object (an Event on it upstream,
``Ready=False ObjectsRejected`` on the config, both naming the plugin) without a traceback or
a retry loop, and the rest syncs.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from syncpipe.model.resources import GroupVersionResource
from tests.e2e import helpers as h
from tests.fakeplugins import install_plugin, plugin_env

pytestmark = [pytest.mark.apiserver]

EVENTS = GroupVersionResource("", "v1", "events")
DISTRIBUTION = "syncpipe-faulty-plugin 0.0.1"
START_UP_TIMEOUT = 60.0

RAISING_CONFIGURE = """\
from syncpipe.plugin import hookimpl

@hookimpl
def syncpipe_configure(ctx):
    raise ValueError("the team must be lower case")
"""

RAISING_SELECT = """\
from syncpipe.plugin import hookimpl

@hookimpl
def syncpipe_select(key):
    if key.name == "poison":
        raise KeyError("spec.team")
    return None
"""


def run_to_exit(
    upstream: Any, downstream: Any, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``syncpipe run`` between the test planes, expected to stop by itself."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SYNCPIPE_")}
    return subprocess.run(
        h.run_args(upstream, downstream, *extra),
        capture_output=True,
        text=True,
        env={**environment, **(env or {})},
        timeout=START_UP_TIMEOUT,
        check=False,
    )


def _with_namespace_and_config(up_rest: Any, ns: str, test: str, *names: str) -> None:
    up_rest.create(h.NS, "", h.namespace(ns, test))
    for name in names:
        up_rest.create(h.CM, ns, h.configmap(ns, name, {"v": "1"}, test))
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.namespace_scope_config(test, [ns], [h.resource("", "configmaps")]),
    )


def test_a_plugin_failing_to_configure_stops_run_in_one_error_line_before_any_write(
    upstream, downstream, up_rest, down_rest, unique_name, tmp_path: Path, syncer_crds, e2e_cleanup
):
    _with_namespace_and_config(up_rest, unique_name, unique_name, "cm")
    site = install_plugin(
        tmp_path / "site", entry_point="faulty", module="faulty_configure", source=RAISING_CONFIGURE
    )
    done = run_to_exit(upstream, downstream, env=plugin_env(site))
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"Error: plugin 'faulty' ({DISTRIBUTION}): syncpipe_configure failed: "
        "ValueError: the team must be lower case"
    ]
    assert down_rest.get_or_none(h.NS, "", unique_name) is None


def test_a_misspelt_plugin_option_stops_run_in_one_error_line_with_a_suggestion(
    upstream, downstream, up_rest, down_rest, unique_name, syncer_crds, e2e_cleanup
):
    _with_namespace_and_config(up_rest, unique_name, unique_name, "cm")
    done = run_to_exit(upstream, downstream, "--plugin-opt", "team-label.taem=blue")
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines() == [
        "Error: plugin 'team-label': no option 'taem'; did you mean 'team'?"
    ]
    assert down_rest.get_or_none(h.NS, "", unique_name) is None


def test_disabling_an_essential_built_in_stops_run_in_one_error_line(
    upstream, downstream, up_rest, down_rest, unique_name, syncer_crds, e2e_cleanup
):
    _with_namespace_and_config(up_rest, unique_name, unique_name, "cm")
    done = run_to_exit(upstream, downstream, "--plugins-disable", "writer")
    assert done.returncode == 1, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("Error: plugin 'writer': cannot be disabled: without it nothing is")
    assert down_rest.get_or_none(h.NS, "", unique_name) is None


def test_a_raising_select_rejects_that_object_by_plugin_name_and_the_rest_syncs(
    syncer_cli, up_rest, down_rest, unique_name, tmp_path: Path
):
    ns = unique_name
    _with_namespace_and_config(up_rest, ns, unique_name, "good", "poison")
    site = install_plugin(
        tmp_path / "site", entry_point="faulty", module="faulty_select", source=RAISING_SELECT
    )
    syncer = syncer_cli(env=plugin_env(site))
    h.wait_get(down_rest, h.CM, ns, "good")
    expected = "plugin 'faulty': syncpipe_select failed on configmaps:"
    ready = h.wait_condition(up_rest, unique_name, "Ready", "False", "ObjectsRejected")
    assert f"{expected}{ns}/poison" in ready["message"], ready["message"]
    event = h.wait_until(
        lambda: _events_about(up_rest, ns, "poison"),
        timeout=h.SYNC_TIMEOUT,
        message="no Event on the rejected ConfigMap",
    )[0]
    assert event["reason"] == "SyncRejected"
    assert expected in event["message"]
    assert "KeyError: 'spec.team'" in event["message"]
    assert down_rest.get_or_none(h.CM, ns, "poison") is None
    log = syncer.log_text()
    assert "Traceback" not in log
    rejections = [line for line in log.splitlines() if "poison" in line and "rejected" in line]
    assert 1 <= len(rejections) <= 2, rejections  # reported, not retried in a loop


def _events_about(up_rest: Any, ns: str, name: str) -> list[dict[str, Any]]:
    items, _ = up_rest.list(EVENTS, ns)
    return [e for e in items if e["involvedObject"].get("name") == name]
