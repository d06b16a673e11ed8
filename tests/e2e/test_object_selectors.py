"""``objectSelector`` on SyncerConfig entries, through ``syncpipe run`` on the real control planes.

Every entry kind (``namespaceScope`` resources, ``namespacedObjects``, ``clusterScope``,
``upsync``) selects only the objects whose labels match; a label added moves an object into
the selection (its copy is created), a label removed moves it out (its copy is deleted, the
original stays); names and a selector in one entry select their intersection.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import yaml

from tests.e2e import helpers as h

pytestmark = [pytest.mark.apiserver, pytest.mark.slow]

PART_OF = "app.kubernetes.io/part-of"
SHOP = {"matchLabels": {PART_OF: "shop"}}


def labelled(obj: dict[str, Any], **extra: str) -> dict[str, Any]:
    obj["metadata"]["labels"] = {**obj["metadata"]["labels"], **extra}
    return obj


def set_label(rest, gvr, ns: str, name: str, value: str | None) -> None:
    """Add (``value``) or remove (``None``) the part-of label with a merge patch."""
    rest.merge_patch(gvr, ns, name, {"metadata": {"labels": {PART_OF: value}}})


def cluster_role(name: str, test: str, **extra: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": h.labels(test, **extra)},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
    }


def test_each_entry_kind_selects_by_labels_and_follows_label_changes(
    syncer_cli, wait_syncer_up, up_rest, down_rest, unique_name
):
    ns, test = unique_name, unique_name
    names_ns = f"{unique_name}-n"
    up_ns = f"{unique_name}-u"  # exists downstream only: upsync makes it upstream
    role_in, role_out = f"{unique_name}-in", f"{unique_name}-out"
    spec = {
        "namespaceScope": {
            "namespaces": [ns],
            "resources": [{**h.resource("", "configmaps"), "objectSelector": SHOP}],
        },
        # Names and a selector: the named objects that carry the label.
        "namespacedObjects": [
            {
                **h.resource("", "secrets"),
                "objectSelector": SHOP,
                "objectsByNamespace": [{"namespace": names_ns, "names": ["named-in", "named-out"]}],
            }
        ],
        "clusterScope": [
            {**h.resource("rbac.authorization.k8s.io", "clusterroles"), "objectSelector": SHOP}
        ],
        "upsync": [
            {
                "apiGroup": "",
                "resources": ["configmaps"],
                "namespaces": [up_ns],
                "names": ["*"],
                "objectSelector": SHOP,
            }
        ],
    }
    up_rest.create(h.NS, "", h.namespace(ns, test))
    up_rest.create(h.NS, "", h.namespace(names_ns, test))
    down_rest.create(h.NS, "", h.namespace(up_ns, test))
    up_rest.create(h.CM, ns, labelled(h.configmap(ns, "out", {"a": "1"}, test)))
    up_rest.create(h.CM, ns, labelled(h.configmap(ns, "in", {"a": "1"}, test), **{PART_OF: "shop"}))
    for name, extra in (("named-out", {}), ("named-in", {PART_OF: "shop"}), ("other", {})):
        up_rest.create(h.SECRETS, names_ns, labelled(h.secret(names_ns, name, {}, test), **extra))
    # Labelled, but not among the entry's names: not selected.
    up_rest.create(
        h.SECRETS, names_ns, labelled(h.secret(names_ns, "unnamed", {}, test), **{PART_OF: "shop"})
    )
    up_rest.create(h.CLUSTER_ROLES, "", cluster_role(role_in, test, **{PART_OF: "shop"}))
    up_rest.create(h.CLUSTER_ROLES, "", cluster_role(role_out, test))
    down_rest.create(
        h.CM, up_ns, labelled(h.configmap(up_ns, "up-in", {}, test), **{PART_OF: "shop"})
    )
    down_rest.create(h.CM, up_ns, labelled(h.configmap(up_ns, "up-out", {}, test)))
    up_rest.create(h.SYNCER_CONFIGS, "", h.syncer_config(unique_name, spec))

    syncer = syncer_cli()
    wait_syncer_up(syncer)
    h.wait_get(down_rest, h.CM, ns, "in")
    h.wait_get(down_rest, h.SECRETS, names_ns, "named-in")
    h.wait_get(down_rest, h.CLUSTER_ROLES, "", role_in)
    h.wait_get(up_rest, h.CM, up_ns, "up-in", where="upstream")
    # What the initial lists held and the selectors exclude never arrived.
    assert down_rest.get_or_none(h.CM, ns, "out") is None
    assert down_rest.get_or_none(h.SECRETS, names_ns, "named-out") is None
    assert down_rest.get_or_none(h.SECRETS, names_ns, "unnamed") is None
    assert down_rest.get_or_none(h.SECRETS, names_ns, "other") is None
    assert down_rest.get_or_none(h.CLUSTER_ROLES, "", role_out) is None
    assert up_rest.get_or_none(h.CM, up_ns, "up-out") is None
    # Every entry of configmaps and of clusterroles has one selector: the server filters.
    syncing = h.wait_until(
        lambda: next((ln for ln in syncer.log_text().splitlines() if "syncing down:" in ln), ""),
        timeout=h.SYNC_TIMEOUT,
        message="the syncer never said what it syncs",
    )
    assert f"v1/configmaps (in {ns}; labels {PART_OF}=shop)" in syncing
    assert f"rbac.authorization.k8s.io/v1/clusterroles (labels {PART_OF}=shop)" in syncing

    # A label added: the object joins the selection.
    set_label(up_rest, h.CM, ns, "out", "shop")
    set_label(up_rest, h.SECRETS, names_ns, "named-out", "shop")
    set_label(up_rest, h.CLUSTER_ROLES, "", role_out, "shop")
    set_label(down_rest, h.CM, up_ns, "up-out", "shop")
    h.wait_get(down_rest, h.CM, ns, "out")
    h.wait_get(down_rest, h.SECRETS, names_ns, "named-out")
    h.wait_get(down_rest, h.CLUSTER_ROLES, "", role_out)
    h.wait_get(up_rest, h.CM, up_ns, "up-out", where="upstream")

    # A label removed: the copy goes, the original stays.
    set_label(up_rest, h.CM, ns, "in", None)
    set_label(up_rest, h.SECRETS, names_ns, "named-in", None)
    set_label(up_rest, h.CLUSTER_ROLES, "", role_in, None)
    set_label(down_rest, h.CM, up_ns, "up-in", None)
    h.wait_gone(down_rest, h.CM, ns, "in")
    h.wait_gone(down_rest, h.SECRETS, names_ns, "named-in")
    h.wait_gone(down_rest, h.CLUSTER_ROLES, "", role_in)
    h.wait_gone(up_rest, h.CM, up_ns, "up-in", where="upstream")
    assert up_rest.get(h.CM, ns, "in")["data"] == {"a": "1"}
    assert up_rest.get_or_none(h.SECRETS, names_ns, "named-in") is not None
    assert up_rest.get_or_none(h.CLUSTER_ROLES, "", role_in) is not None
    assert down_rest.get_or_none(h.CM, up_ns, "up-in") is not None
    # The rest stayed where it was.
    assert down_rest.get_or_none(h.CM, ns, "out") is not None
    assert down_rest.get_or_none(h.SECRETS, names_ns, "unnamed") is None


def test_a_selector_change_in_the_config_moves_objects_in_and_out(
    syncer_cli, wait_syncer_up, up_rest, down_rest, unique_name
):
    ns, test = unique_name, unique_name

    def spec(value: str) -> dict[str, Any]:
        selector = {"matchExpressions": [{"key": "tier", "operator": "In", "values": [value]}]}
        return {
            "namespaceScope": {
                "namespaces": [ns],
                "resources": [{**h.resource("", "configmaps"), "objectSelector": selector}],
            }
        }

    up_rest.create(h.NS, "", h.namespace(ns, test))
    up_rest.create(h.CM, ns, labelled(h.configmap(ns, "web", {}, test), tier="web"))
    up_rest.create(h.CM, ns, labelled(h.configmap(ns, "db", {}, test), tier="db"))
    up_rest.create(h.SYNCER_CONFIGS, "", h.syncer_config(unique_name, spec("web")))
    wait_syncer_up(syncer_cli())
    h.wait_get(down_rest, h.CM, ns, "web")
    assert down_rest.get_or_none(h.CM, ns, "db") is None

    up_rest.merge_patch(h.SYNCER_CONFIGS, "", unique_name, {"spec": spec("db")})
    h.wait_get(down_rest, h.CM, ns, "db")
    h.wait_gone(down_rest, h.CM, ns, "web")
    assert up_rest.get_or_none(h.CM, ns, "web") is not None


def test_plan_and_validate_show_the_selector(
    up_rest, down_rest, upstream, downstream, syncer_crds, e2e_cleanup, unique_name, tmp_path
):
    """``config validate`` names each selector; ``plan`` plans copies of matching objects only."""
    ns, test = unique_name, unique_name
    config = h.syncer_config(
        unique_name,
        {
            "namespaceScope": {
                "namespaces": [ns],
                "resources": [{**h.resource("", "configmaps"), "objectSelector": SHOP}],
            }
        },
    )
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    validate = subprocess.run(
        [sys.executable, "-m", "syncpipe", "config", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert f"only objects labelled: down v1/configmaps: {PART_OF}=shop" in validate.stdout

    up_rest.create(h.NS, "", h.namespace(ns, test))
    up_rest.create(h.CM, ns, labelled(h.configmap(ns, "in", {}, test), **{PART_OF: "shop"}))
    up_rest.create(h.CM, ns, labelled(h.configmap(ns, "out", {}, test), **{PART_OF: "other"}))
    plan = subprocess.run(
        [
            sys.executable,
            "-m",
            "syncpipe",
            "plan",
            "--upstream-kubeconfig",
            str(upstream.admin_kubeconfig),
            "--downstream-kubeconfig",
            str(downstream.admin_kubeconfig),
            "--syncer-name",
            unique_name,
            "--syncer-config",
            str(path),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert plan.returncode == 0, plan.stderr
    created = {
        (w["resource"], w["namespace"], w["name"])
        for w in json.loads(plan.stdout)["writes"]
        if w["verb"] == "create"
    }
    assert ("v1/configmaps", ns, "in") in created
    assert ("v1/configmaps", ns, "out") not in created
