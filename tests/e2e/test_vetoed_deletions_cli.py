"""A plugin release that vetoes too much cannot empty an edge cluster: proven through the CLI.

The ``vetoer`` plugin is installed as pip installs one (``tests.fakeplugins.install_vetoer``):
it vetoes the objects whose ``example.com/veto`` label has the value of its declared option.
``syncpipe run`` first syncs 20 ConfigMaps with the plugin vetoing none of them; then the
operator "upgrades" it (a restart with ``--plugin-opt vetoer.value=...`` that now vetoes 15):
the breaker's allowance is deleted, the rest is held, ``DeletionsHeld`` on the SyncerConfig
names the plugin and the count, and the log says so in one error line without a traceback
(each deletion let through names the plugin too). A restart with
``--confirm-held-deletions`` lets the held deletions through; the 5 ConfigMaps the plugin never
vetoed are not touched at any point.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from syncpipe.clients.rest import RestClient
from tests.e2e import helpers as h
from tests.fakeplugins import VETO_DEFAULT, VETO_LABEL, VETOER, install_vetoer

pytestmark = [pytest.mark.apiserver, pytest.mark.slow]

COUNT, VETOED = 20, 15
# The breaker's allowance per window: at least 5 (the default minimum held; a
# fifth of the 21 owned copies is fewer).
ALLOWANCE = 5
HELD = VETOED - ALLOWANCE
RELEASED_VALUE = "v2-bug"
ROOT_CA = "kube-root-ca.crt"


def names(first: int, last: int) -> set[str]:
    return {f"cm-{i:02d}" for i in range(first, last)}


KEPT, DOOMED = names(0, COUNT - VETOED), names(COUNT - VETOED, COUNT)


def copies(down_rest: RestClient, ns: str) -> dict[str, dict[str, Any]]:
    """The ConfigMap copies downstream (the API server's own root CA left out), by name."""
    items, _ = down_rest.list(h.CM, ns)
    return {o["metadata"]["name"]: o for o in items if o["metadata"]["name"] != ROOT_CA}


def copies_if(down_rest: RestClient, ns: str, *, count: int) -> dict[str, dict[str, Any]] | None:
    """The copies, once there are ``count`` of them."""
    found = copies(down_rest, ns)
    return found if len(found) == count else None


def identity(obj: dict[str, Any]) -> tuple[str, str]:
    """What changes when an object is written or replaced."""
    return obj["metadata"]["uid"], obj["metadata"]["resourceVersion"]


@pytest.fixture
def workload(up_rest: RestClient, unique_name: str) -> str:
    """20 ConfigMaps a config selects; the 15 doomed ones carry the label value the buggy
    release of the plugin will veto (the installed release vetoes another value)."""
    ns = unique_name
    up_rest.create(h.NS, "", h.namespace(ns, unique_name))
    for name in sorted(KEPT | DOOMED):
        cm = h.configmap(ns, name, {"v": "1"}, unique_name)
        if name in DOOMED:
            cm["metadata"]["labels"][VETO_LABEL] = RELEASED_VALUE
        up_rest.create(h.CM, ns, cm)
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.namespace_scope_config(unique_name, [ns], [h.resource("", "configmaps")]),
    )
    return ns


def test_syncpipe_plugins_lists_the_installed_vetoer_with_its_option(tmp_path: Path):
    env = install_vetoer(tmp_path / "site")
    done = h.syncpipe_command("plugins", "-o", "json", env=env)
    assert done.returncode == 0, done.stderr
    options = [(o["plugin"], o["name"], o["value"]) for o in json.loads(done.stdout)["options"]]
    assert (VETOER, "value", VETO_DEFAULT) in options


def test_a_release_vetoing_most_copies_is_held_by_the_breaker_until_confirmed(
    workload, syncer_cli, up_rest, down_rest, unique_name, tmp_path: Path
):
    ns = workload
    env = install_vetoer(tmp_path / "site")
    first = syncer_cli(env=env)
    synced = h.wait_until(
        lambda: copies_if(down_rest, ns, count=COUNT),
        timeout=h.SLOW_TIMEOUT,
        message="the 20 copies were not made",
    )
    assert synced.keys() == KEPT | DOOMED
    kept_before = {name: identity(synced[name]) for name in KEPT}
    assert first.stop() == 0

    upgraded = syncer_cli("--plugin-opt", f"{VETOER}.value={RELEASED_VALUE}", env=env)
    expected = (
        f"{HELD} deletions are held ({HELD} vetoed by plugin {VETOER}); "
        "restart with --confirm-held-deletions to let them through"
    )
    seen: dict[str, Any] = {}

    def all_held() -> dict[str, Any] | None:
        seen["last"] = found = h.condition(up_rest, unique_name, "DeletionsHeld")
        return found if found and found["message"] == expected else None

    held = h.wait_until(
        all_held,
        timeout=h.SLOW_TIMEOUT,
        message=lambda: f"DeletionsHeld never said {expected!r}; last: {seen.get('last')}",
    )
    assert (held["status"], held["reason"]) == ("True", "CircuitBreakerTripped")
    left = h.wait_until(
        lambda: copies_if(down_rest, ns, count=COUNT - ALLOWANCE),
        timeout=h.SYNC_TIMEOUT,
        message="the breaker's allowance was not deleted",
    )
    assert left.keys() >= KEPT
    log = upgraded.log_text().splitlines()
    assert not [line for line in log if "Traceback" in line]
    (tripped,) = [line for line in log if line.split()[1:2] == ["ERROR"]]
    assert "deletion circuit breaker tripped" in tripped
    assert f"(vetoed by plugin {VETOER}) and every further one" in tripped
    assert "--confirm-held-deletions" in tripped
    deleted = [line for line in log if "deleting configmaps" in line]
    assert len(deleted) == ALLOWANCE
    assert all(f"vetoed by plugin {VETOER}" in line for line in deleted), deleted
    assert upgraded.stop() == 0

    confirmed = syncer_cli(
        "--plugin-opt", f"{VETOER}.value={RELEASED_VALUE}", "--confirm-held-deletions", env=env
    )
    h.wait_until(
        lambda: copies(down_rest, ns).keys() == KEPT,
        timeout=h.SLOW_TIMEOUT,
        message="the held deletions were not released",
    )
    h.wait_until(
        lambda: h.condition(up_rest, unique_name, "DeletionsHeld") is None,
        timeout=h.SLOW_TIMEOUT,
        message="DeletionsHeld still reported after the confirmed restart",
    )
    assert {name: identity(obj) for name, obj in copies(down_rest, ns).items()} == kept_before
    assert "the deletion circuit breaker is off for this run" in confirmed.log_text()
