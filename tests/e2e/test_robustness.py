"""The syncer process as an operator meets it: killed mid-sync, fed a malformed SyncerConfig."""

from __future__ import annotations

import threading

import pytest

from syncpipe import errors
from tests.e2e import helpers as h

pytestmark = [pytest.mark.apiserver, pytest.mark.slow]

CONFIGMAPS = 200
KILL_AFTER = 50


def _kill_after_creates(
    down_rest,
    ns: str,
    selector: str,
    count: int,
    syncers: list,
    watching: threading.Event,
    done: threading.Event,
) -> None:
    """Watch the test's ConfigMaps downstream; SIGKILL ``syncers[0]`` at the ``count``-th ADDED.

    By label: the namespace's ``kube-root-ca.crt`` (made by the downstream's controller) is not
    one of ours.
    """
    try:
        _, rv = down_rest.list(h.CM, ns, label_selector=selector)
        stream = down_rest.watch(
            h.CM, ns, resource_version=rv, timeout_seconds=60, label_selector=selector
        )
        watching.set()
        seen = 0
        try:
            for event_type, _obj in stream:
                if event_type == "ADDED":
                    seen += 1
                    if seen >= count:
                        syncers[0].kill_hard()
                        return
        finally:
            stream.close()
    finally:
        done.set()


def test_killed_mid_sync_then_restarted_converges_without_recreating_or_rewriting(
    syncer_cli, up_rest, down_rest, unique_name
):
    """kill -9 while 200 ConfigMaps are being created downstream, restart: all arrive; the ones
    already copied keep their UID (no delete + create) and their resourceVersion (no rewrite)."""
    ns = unique_name
    up_rest.create(h.NS, "", h.namespace(ns, unique_name))
    for i in range(CONFIGMAPS):
        up_rest.create(h.CM, ns, h.configmap(ns, f"cm-{i:03d}", {"i": str(i)}, unique_name))
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.syncer_config(
            unique_name,
            {"namespaceScope": {"namespaces": [ns], "resources": [h.resource("", "configmaps")]}},
        ),
    )
    selector = f"{h.TEST_LABEL}={unique_name}"
    # A downstream watch kills the syncer as soon as it has created KILL_AFTER copies; one
    # writer at a time (a CLI flag) so that this lands mid-way.
    syncers: list = []
    watching, killed = threading.Event(), threading.Event()
    watcher = threading.Thread(
        target=_kill_after_creates,
        args=(down_rest, ns, selector, KILL_AFTER, syncers, watching, killed),
        daemon=True,
    )
    watcher.start()
    assert watching.wait(10), "could not watch downstream ConfigMaps"
    first = syncer_cli("--write-concurrency", "1")
    syncers.append(first)
    h.wait_until(
        killed.is_set, timeout=h.SYNC_TIMEOUT, message="the syncer never created 50 copies"
    )
    assert not first.alive()

    items, _ = down_rest.list(h.CM, ns, label_selector=selector)
    before = {
        o["metadata"]["name"]: (o["metadata"]["uid"], o["metadata"]["resourceVersion"])
        for o in items
    }
    assert KILL_AFTER <= len(before) < CONFIGMAPS, f"{len(before)} copies at the kill: not mid-way"

    syncer_cli()

    def converged() -> bool:
        found, _ = down_rest.list(h.CM, ns, label_selector=selector)
        return len(found) == CONFIGMAPS

    h.wait_until(
        converged,
        timeout=h.SLOW_TIMEOUT,
        message="not all 200 ConfigMaps arrived after the restart",
    )
    items, _ = down_rest.list(h.CM, ns, label_selector=selector)
    after = {o["metadata"]["name"]: o for o in items}
    for i in range(CONFIGMAPS):
        assert after[f"cm-{i:03d}"]["data"] == {"i": str(i)}
    recreated = sorted(n for n, (uid, _) in before.items() if after[n]["metadata"]["uid"] != uid)
    assert not recreated, f"deleted and created again after the restart: {recreated}"
    rewritten = sorted(
        n for n, (_, rv) in before.items() if after[n]["metadata"]["resourceVersion"] != rv
    )
    assert not rewritten, f"rewritten after the restart although already in sync: {rewritten}"


def test_malformed_syncer_config_is_reported_not_ready_and_the_others_keep_syncing(
    syncer_cli, up_rest, down_rest, unique_name
):
    """A config the API server accepts but the syncer cannot use: Ready=False with the path;
    the well-formed config next to it is synced and Ready=True."""
    ns = unique_name
    good, bad = f"{unique_name}-good", f"{unique_name}-bad"
    up_rest.create(h.NS, "", h.namespace(ns, unique_name))
    up_rest.create(h.CM, ns, h.configmap(ns, "cm1", {"a": "1"}, unique_name))
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.syncer_config(
            good,
            {"namespaceScope": {"namespaces": [ns], "resources": [h.resource("", "configmaps")]}},
        ),
    )
    # "apps/v1" where only the version belongs: refused by the CRD schema at admission, or,
    # if a laxer schema let it in, it must be reported like the config below.
    group_version_config = h.syncer_config(
        f"{unique_name}-gv",
        {
            "namespaceScope": {
                "namespaces": [ns],
                "resources": [
                    {"group": "apps", "resource": "deployments", "apiVersion": "apps/v1"}
                ],
            }
        },
    )
    refusal = ""
    try:
        up_rest.create(h.SYNCER_CONFIGS, "", group_version_config)
    except errors.ApiInvalid as exc:
        refusal = str(exc)
    admitted = not refusal
    assert admitted or "apiVersion" in refusal, refusal
    # ".." passes the CRD's name pattern but is no object name.
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.syncer_config(
            bad,
            {
                "namespaceScope": {"namespaces": [ns], "resources": [h.resource("", "secrets")]},
                "clusterScope": [{**h.resource("", "namespaces"), "objects": [".."]}],
            },
        ),
    )
    syncer_cli()
    assert h.wait_get(down_rest, h.CM, ns, "cm1")["data"] == {"a": "1"}

    def not_ready(name: str):
        def check():
            condition = h.ready_condition(up_rest, name)
            return condition if condition and condition.get("status") == "False" else None

        return check

    condition = h.wait_until(
        not_ready(bad), timeout=h.SLOW_TIMEOUT, message=f"{bad} never Ready=False"
    )
    assert "clusterScope[0].objects[0]" in condition["message"], condition
    if admitted:
        h.wait_until(
            not_ready(f"{unique_name}-gv"), timeout=h.SLOW_TIMEOUT, message="gv never Ready=False"
        )
    h.wait_until(
        lambda: (h.ready_condition(up_rest, good) or {}).get("status") == "True",
        timeout=h.SLOW_TIMEOUT,
        message=lambda: f"{good} not Ready=True: {h.ready_condition(up_rest, good)}",
    )
    # The malformed config selected nothing: its namespaceScope secrets are not synced.
    up_rest.create(h.SECRETS, ns, h.secret(ns, "s1", {"k": "dg=="}, unique_name))
    up_rest.merge_patch(h.CM, ns, "cm1", {"data": {"a": "2"}})
    h.wait_field(down_rest, h.CM, ns, "cm1", lambda o: o["data"] == {"a": "2"}, what="update")
    assert down_rest.get_or_none(h.SECRETS, ns, "s1") is None


def test_an_object_updated_upstream_again_and_again_gets_every_update_downstream(
    syncer_cli, up_rest, down_rest, unique_name
):
    """A ConfigMap edited upstream in a loop (25 times, each waited for) is no field fight:
    every new value arrives downstream within the usual wait."""
    ns = unique_name
    up_rest.create(h.NS, "", h.namespace(ns, unique_name))
    up_rest.create(h.CM, ns, h.configmap(ns, "cm1", {"seq": "-1"}, unique_name))
    up_rest.create(
        h.SYNCER_CONFIGS,
        "",
        h.syncer_config(
            unique_name,
            {"namespaceScope": {"namespaces": [ns], "resources": [h.resource("", "configmaps")]}},
        ),
    )
    syncer_cli()
    h.wait_get(down_rest, h.CM, ns, "cm1")
    for i in range(25):
        up_rest.merge_patch(h.CM, ns, "cm1", {"data": {"seq": str(i)}})
        h.wait_field(
            down_rest,
            h.CM,
            ns,
            "cm1",
            lambda o, i=i: (o.get("data") or {}).get("seq") == str(i),
            what=f"update #{i} downstream",
        )
