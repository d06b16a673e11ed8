"""Watch scope follows the selection, through ``syncpipe run`` on the real control planes.

A syncer whose configs name their namespaces lists and watches those namespaces only (and
their Namespace objects by name): the mailbox's other objects (every other edge's workload,
every other edge's namespace) are neither sent to it nor cached.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e import helpers as h

pytestmark = [pytest.mark.apiserver, pytest.mark.slow]

OTHERS = 30


def _initial_sync_seen(syncer) -> int:
    """The objects the syncer cached on its source sides, from its "initial sync done" line."""
    line = h.wait_until(
        lambda: re.search(r"initial sync done: (\d+) objects seen", syncer.log_text()),
        timeout=h.SYNC_TIMEOUT,
        message="the syncer never finished its initial sync",
    )
    return int(line.group(1))


def _mailbox(up_rest, unique_name: str) -> tuple[str, str]:
    """A selected namespace with 3 ConfigMaps, another with ``OTHERS`` nobody selects."""
    mine, other = unique_name, f"{unique_name}-other"
    for ns in (mine, other):
        up_rest.create(h.NS, "", h.namespace(ns, unique_name))
    for i in range(3):
        up_rest.create(h.CM, mine, h.configmap(mine, f"mine-{i}", {}, unique_name))
    for i in range(OTHERS):
        up_rest.create(h.CM, other, h.configmap(other, f"other-{i}", {}, unique_name))
    return mine, other


def _select(up_rest, unique_name: str, *namespaces: str) -> None:
    spec = {
        "namespaceScope": {
            "namespaces": list(namespaces),
            "resources": [h.resource("", "configmaps")],
        }
    }
    if up_rest.get_or_none(h.SYNCER_CONFIGS, "", unique_name) is None:
        up_rest.create(h.SYNCER_CONFIGS, "", h.syncer_config(unique_name, spec))
    else:
        up_rest.merge_patch(h.SYNCER_CONFIGS, "", unique_name, {"spec": spec})


def test_named_namespaces_are_watched_one_by_one_and_nothing_else_is_cached(
    syncer_cli, up_rest, down_rest, unique_name
):
    mine, other = _mailbox(up_rest, unique_name)
    _select(up_rest, unique_name, mine)
    syncer = syncer_cli()
    h.wait_get(down_rest, h.CM, mine, "mine-2")
    seen = _initial_sync_seen(syncer)
    # Its 3 ConfigMaps and its Namespace (copied too, watched by name): nothing else, not
    # the other namespace's objects nor other tests' Namespaces.
    assert seen == 4, f"the syncer cached {seen} objects: more than its selection"
    assert f"v1/configmaps (in {mine})" in syncer.log_text()
    assert f"upstream Namespaces watched: {mine}" in syncer.log_text()

    # Selecting the other namespace too watches it as well, from then on.
    _select(up_rest, unique_name, mine, other)
    h.wait_get(down_rest, h.CM, other, f"other-{OTHERS - 1}")
    h.wait_until(
        lambda: f"now watched with label selector '' in {mine}, {other}" in syncer.log_text(),
        timeout=h.SYNC_TIMEOUT,
        message="the syncer did not say it watches both namespaces",
    )
    # And still nothing unselected is touched: deselecting it deletes only its copies.
    _select(up_rest, unique_name, mine)
    h.wait_gone(down_rest, h.CM, other, f"other-{OTHERS - 1}")
    assert down_rest.get_or_none(h.CM, mine, "mine-0") is not None


def test_above_the_threshold_the_resource_is_watched_cluster_wide(
    syncer_cli, up_rest, down_rest, unique_name
):
    mine, _ = _mailbox(up_rest, unique_name)
    _select(up_rest, unique_name, mine)
    syncer = syncer_cli("--max-namespaced-watches", "0")
    h.wait_get(down_rest, h.CM, mine, "mine-2")
    assert _initial_sync_seen(syncer) >= OTHERS
    assert "v1/configmaps (in" not in syncer.log_text()
