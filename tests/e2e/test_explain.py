"""``syncpipe explain`` on the real control planes, through the CLI only.

A selected object is explained with its config entry, every transform in order (the installed
``team-label`` plugin's among them) and the planned patch after a change made while no syncer
ran; an object in a namespace no config names gets the closest entry and what it missed; an
object a plugin vetoes names that plugin. The vetoing plugin is installed for the command the
way pip installs one: a module and a ``*.dist-info`` with its ``syncpipe.plugins`` entry point
on the ``PYTHONPATH``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e import helpers as h
from tests.fakeplugins import VETO_DEFAULT, VETO_LABEL, VETOER, install_vetoer

pytestmark = [pytest.mark.apiserver, pytest.mark.slow]


def explain(upstream, downstream, *args: str, env: dict[str, str] | None = None) -> Any:
    """``syncpipe explain ARGS -o json`` against the test planes, its document."""
    done = h.syncpipe_between_planes(upstream, downstream, "explain", *args, "-o", "json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def workload(up_rest, unique_name, syncer_crds, e2e_cleanup) -> str:
    """A namespace with two ConfigMaps (one labelled for a veto), selected by a config; a
    second namespace nobody selects, with one ConfigMap."""
    ns = unique_name
    other = f"{unique_name}-x"
    for name in (ns, other):
        up_rest.create(h.NS, "", h.namespace(name, unique_name))
    up_rest.create(h.CM, ns, h.configmap(ns, "settings", {"a": "1"}, unique_name))
    vetoed = h.configmap(ns, "private", {}, unique_name)
    vetoed["metadata"]["labels"][VETO_LABEL] = VETO_DEFAULT
    up_rest.create(h.CM, ns, vetoed)
    up_rest.create(h.CM, other, h.configmap(other, "stray", {}, unique_name))
    up_rest.create(h.SECRETS, ns, h.secret(ns, "token", {"t": "eA=="}, unique_name))
    spec = {"namespaceScope": {"namespaces": [ns], "resources": [h.resource("", "configmaps")]}}
    up_rest.create(h.SYNCER_CONFIGS, "", h.syncer_config(unique_name, spec))
    return ns


def test_a_selected_object_shows_its_config_its_transforms_and_the_planned_patch(
    workload, syncer_cli, upstream, downstream, up_rest, down_rest, unique_name
):
    ns = workload
    syncer = syncer_cli()
    h.wait_get(down_rest, h.CM, ns, "settings")
    syncer.stop()
    current = up_rest.get(h.CM, ns, "settings")
    up_rest.replace(h.CM, ns, "settings", {**current, "data": {"a": "2"}})
    doc = explain(upstream, downstream, "configmap", f"{ns}/settings", "--syncer-name", unique_name)
    assert doc["selected"] is True
    assert [c["config"] for c in doc["selected_by"]] == [f"SyncerConfig/{unique_name}"]
    assert doc["selected_by"][0]["paths"] == ["$.spec.namespaceScope.resources[0].resource"]
    names = [t["name"] for t in doc["transforms"]]
    assert names.index("strip-server-fields") < names.index("team-label")
    assert names.index("team-label") < names.index("ownership")
    team = next(t for t in doc["transforms"] if t["name"] == "team-label")
    assert {"path": "/metadata/labels/example.com~1team", "change": "added"}.items() <= (
        team["changes"][0].items()
    )
    assert doc["plan"]["reason"] == "update: the copy differs from the desired object"
    assert doc["plan"]["action"]["ops"] == [{"op": "replace", "path": "/data/a", "value": "2"}]
    (write,) = doc["writes"]
    assert (write["verb"], write["side"], write["name"]) == ("patch", "downstream", "settings")
    assert write["ops"] == [{"op": "replace", "path": "/data/a", "value": "2"}]


def test_an_object_no_config_selects_gets_the_closest_entry_and_why(
    workload, upstream, downstream, unique_name
):
    other = f"{unique_name}-x"
    doc = explain(upstream, downstream, "cm", f"{other}/stray")
    assert doc["found"] is True
    assert doc["selected"] is False
    assert doc["near_misses"][0]["config"] == f"SyncerConfig/{unique_name}"
    assert doc["near_misses"][0]["misses"] == [f"selects namespace {workload!r}, not {other!r}"]
    assert doc["writes"] == []


def test_an_object_of_a_resource_no_config_names_is_read_and_explained(
    workload, upstream, downstream
):
    doc = explain(upstream, downstream, "secret", f"{workload}/token")
    assert doc["found"] is True  # read on its own: the run lists only selected resources
    assert doc["selected"] is False
    assert {tuple(m["misses"]) for m in doc["near_misses"]} >= {
        ("selects configmaps, not secrets",)
    }
    assert doc["plan"]["reason"] == "nothing: no copy, none desired"


def test_an_object_a_plugin_vetoes_names_the_plugin(workload, upstream, downstream, tmp_path):
    env = install_vetoer(tmp_path / "site")
    doc = explain(upstream, downstream, "ConfigMap", f"{workload}/private", env=env)
    assert [c["config"] for c in doc["selected_by"]] != []
    assert doc["vetoed_by"] == [VETOER]
    assert doc["selected"] is False
    assert doc["transforms"] == []
    assert doc["writes"] == []
