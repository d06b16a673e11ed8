"""Writes that fail for good reasons: a field fought over downstream, objects the downstream API
refuses (quota, a CRD whose downstream schema is stricter), a malformed SyncerConfig. Each is
reported where users look, retried as it should be, and never stops the other objects.
"""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from syncpipe import errors
from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime.syncer import SYNCER_CONFIGS
from syncpipe.testing import wait_for
from tests.faults import helpers as h

# -- 5. a field fight ----------------------------------------------------------------------------

FIGHT_INTERVAL = 0.2  # the fighter's write interval: 5 writes/s
FIGHT_SECONDS = 30.0
MAX_SYNCER_PATCHES = 20  # in FIGHT_SECONDS: bounded backoff, far below the fighter's 150


class Fighter:
    """Sets ``data.x`` on a downstream ConfigMap every ``interval`` as field manager
    ``fighter``."""

    def __init__(self, plane, ns: str, name: str, *, interval: float = FIGHT_INTERVAL) -> None:
        self.rest = h.rest_for(plane, label="fighter")
        self.rest.field_manager = "fighter"  # sent as ?fieldManager=fighter on every write
        self.ns, self.name, self.interval = ns, name, interval
        self.writes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fighter", daemon=True)

    def start(self) -> Fighter:
        self._thread.start()
        return self

    def _run(self) -> None:
        i = 0
        while not self._stop.wait(self.interval):
            i += 1
            try:
                self.rest.merge_patch(h.CM, self.ns, self.name, {"data": {"x": f"fighter-{i}"}})
                self.writes += 1
            except errors.ApiError:
                pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.rest.close()


def test_a_writer_fighting_an_owned_field_gets_bounded_backoff_and_an_event_naming_it(
    planes, up, down, unique_name, recovery
):
    ns = name = unique_name
    up.create(h.NS, "", h.namespace(ns))
    up.create(h.CM, ns, h.configmap(ns, "fought", {"x": "upstream"}))
    up.create(h.CM, ns, h.configmap(ns, "calm", {"x": "upstream"}))
    up.create(SYNCER_CONFIGS, "", h.syncer_config(name, [ns], [h.resource_entry("", "configmaps")]))
    syncer = h.make_syncer(planes.upstream, planes.downstream, name)
    with h.running(syncer):
        h.wait_converged(lambda: h.configmap_problems(up, down, name, ns), timeout=60)
        wait_for(syncer.ready.is_set, timeout=30)
        time.sleep(1.0)
        patches_before = syncer.downstream.requests_by_verb.get("patch", 0)
        fighter = Fighter(planes.downstream, ns, "fought").start()
        started = time.monotonic()
        event = None
        try:
            while time.monotonic() - started < FIGHT_SECONDS:
                if event is None:
                    found = [
                        e
                        for e in h.events_in(up, ns, "FieldFight")
                        if e["involvedObject"]["name"] == "fought"
                    ]
                    event = found[0] if found else None
                time.sleep(0.5)
            syncer_patches = syncer.downstream.requests_by_verb.get("patch", 0) - patches_before
        finally:
            fighter.stop()
        stopped_at = time.monotonic()
        restored_at = h.wait_converged(
            lambda: h.configmap_problems(up, down, name, ns), timeout=360
        )
        recovery.record(
            "field fight ended → copy restored",
            restored_at - stopped_at,
            fighter_writes=fighter.writes,
            syncer_patches=syncer_patches,
        )
    assert fighter.writes > 100, "the fighter did not fight"
    assert syncer_patches <= MAX_SYNCER_PATCHES, (
        f"{syncer_patches} syncer patches in {FIGHT_SECONDS:.0f}s against {fighter.writes} "
        "fighter writes: no bounded backoff"
    )
    assert event is not None, "no FieldFight Event on the upstream object"
    assert "fighter" in event["message"], event["message"]


def test_fast_upstream_changes_are_followed_and_never_reported_as_a_fight(
    planes, up, down, unique_name, recovery
):
    """Nobody fights here: the upstream object itself changes twice a second. Each change is a
    patch downstream (at 2/s nothing coalesces), the copy keeps up, and no FieldFight Event is
    recorded."""
    ns = name = unique_name
    up.create(h.NS, "", h.namespace(ns))
    up.create(h.CM, ns, h.configmap(ns, "busy", {"v": "0"}))
    up.create(SYNCER_CONFIGS, "", h.syncer_config(name, [ns], [h.resource_entry("", "configmaps")]))
    syncer = h.make_syncer(planes.upstream, planes.downstream, name)
    with h.running(syncer):
        h.wait_converged(lambda: h.configmap_problems(up, down, name, ns), timeout=60)
        wait_for(syncer.ready.is_set, timeout=30)
        time.sleep(1.0)
        patches_before = syncer.downstream.requests_by_verb.get("patch", 0)
        churn_rest = h.rest_for(planes.upstream, label="churn")
        churn = h.Churn(churn_rest, ns, ["busy"], interval=0.5).start()
        time.sleep(10.0)
        churn.stop()
        churn_rest.close()
        stopped_at = time.monotonic()
        caught_up_at = h.wait_converged(
            lambda: h.configmap_problems(up, down, name, ns), timeout=360
        )
        patches = syncer.downstream.requests_by_verb.get("patch", 0) - patches_before
        lag = caught_up_at - stopped_at
        recovery.record(
            "upstream changes 2/s stopped → copy current", lag, changes=churn.ok, patches=patches
        )
        fights = [e for e in h.events_in(up, ns) if e.get("reason") == "FieldFight"]
    assert not fights, f"legitimate upstream changes reported as a fight: {fights[0]['message']}"
    assert patches >= 0.8 * churn.ok, (
        f"{patches} patches for {churn.ok} upstream changes: the copy was held back "
        f"(it lagged {lag:.1f}s behind when the changes stopped)"
    )


# -- 6. objects the downstream API rejects -------------------------------------------------------

WIDGET_GROUP = "faults.syncpipe.io"
WIDGETS = GroupVersionResource(WIDGET_GROUP, "v1", "widgets")


def _widget_crd(max_size: int | None) -> dict:
    size: dict = {"type": "integer"}
    if max_size is not None:
        size["maximum"] = max_size
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{WIDGET_GROUP}"},
        "spec": {
            "group": WIDGET_GROUP,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {"type": "object", "properties": {"size": size}}
                            },
                        }
                    },
                }
            ],
        },
    }


def _widget(ns: str, name: str, size: int) -> dict:
    return {
        "apiVersion": f"{WIDGET_GROUP}/v1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"size": size},
    }


def _established(rest, name: str) -> bool:
    conds = (rest.get(h.CRD, "", name).get("status") or {}).get("conditions") or ()
    return any(c["type"] == "Established" and c["status"] == "True" for c in conds)


def test_objects_the_downstream_refuses_are_reported_retried_and_never_block_the_others(
    planes, up, down, unique_name, recovery
):
    """Two ConfigMaps over a downstream quota (403) and a Widget that the downstream's stricter
    CRD schema refuses (422): each gets an Event upstream and the SyncerConfig says Ready=False
    ObjectsRejected, while other objects keep flowing. Raising the quota lets the ConfigMaps
    through without a restart (retried with backoff); fixing the Widget upstream lets it
    through; then the condition is Ready=True again."""
    ns = name = unique_name
    free = f"{ns}-free"
    for n in (ns, free):
        up.create(h.NS, "", h.namespace(n))
    up.create(h.CM, ns, h.configmap(ns, "first", {"v": "1"}))
    for rest, max_size in ((up, None), (down, 10)):
        with contextlib.suppress(errors.ApiAlreadyExists):
            rest.create(h.CRD, "", _widget_crd(max_size))
        wait_for(lambda rest=rest: _established(rest, f"widgets.{WIDGET_GROUP}"), timeout=30)
    up.create(
        SYNCER_CONFIGS,
        "",
        h.syncer_config(
            name,
            [ns, free],
            [h.resource_entry("", "configmaps"), h.resource_entry(WIDGET_GROUP, "widgets")],
        ),
    )
    syncer = h.make_syncer(planes.upstream, planes.downstream, name)
    with h.running(syncer):
        h.wait_converged(lambda: h.configmap_problems(up, down, name, ns), timeout=60)
        # The namespace (made by the syncer) gets a quota with room for 2 more ConfigMaps.
        wait_for(lambda: "kube-root-ca.crt" in h.by_name(down, h.CM, ns), timeout=30)
        used = len(h.by_name(down, h.CM, ns))
        quota = {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "cms"},
            "spec": {"hard": {"count/configmaps": str(used + 2)}},
        }
        down.create(h.QUOTAS, ns, quota)
        wait_for(lambda: down.get(h.QUOTAS, ns, "cms").get("status", {}).get("used"), timeout=30)
        for i in range(4):
            up.create(h.CM, ns, h.configmap(ns, f"cm-{i}", {"v": "1"}))
        up.create(WIDGETS, ns, _widget(ns, "big", 100))
        up.create(WIDGETS, ns, _widget(ns, "small", 1))

        denied = wait_for(
            lambda: [
                e
                for e in h.events_in(up, ns)
                if e.get("reason") in ("SyncDenied", "SyncRejected")
                and e["involvedObject"].get("kind") == "ConfigMap"
            ],
            timeout=60,
            message="no Event for the ConfigMaps over quota",
        )
        assert any("quota" in e["message"] for e in denied), denied[0]["message"]
        invalid = wait_for(
            lambda: [
                e
                for e in h.events_in(up, ns, "SyncRejected")
                if e["involvedObject"]["name"] == "big"
            ],
            timeout=60,
            message="no Event for the Widget the downstream schema refuses",
        )
        assert invalid[0]["involvedObject"]["kind"] == "Widget"
        wait_for(
            lambda: (
                (c := h.ready_condition(up, name)) is not None
                and c["status"] == "False"
                and c["reason"] == "ObjectsRejected"
            ),
            timeout=30,
            message=lambda: f"condition: {h.ready_condition(up, name)}",
        )
        assert down.get_or_none(WIDGETS, ns, "small") is not None
        assert down.get_or_none(WIDGETS, ns, "big") is None
        # "first" + the 2 the quota admits; a ConfigMap refused at first is retried with the
        # access-denied backoff (up to 10 s between tries).
        wait_for(lambda: len(h.owned(down, h.CM, ns, name)) == 3, timeout=30)

        # The rest keeps flowing meanwhile: new objects elsewhere, changes to synced ones.
        flowing_from = time.monotonic()
        for i in range(5):
            up.create(h.CM, free, h.configmap(free, f"cm-{i}", {"v": "1"}))
        up.merge_patch(h.CM, ns, "first", {"data": {"v": "2"}})
        h.wait_converged(lambda: h.configmap_problems(up, down, name, free), timeout=30)
        wait_for(lambda: down.get(h.CM, ns, "first")["data"] == {"v": "2"}, timeout=30)
        flow_seconds = time.monotonic() - flowing_from

        # Raise the quota: the refused ConfigMaps arrive without a restart.
        time.sleep(5.0)  # several retries have failed by now
        raised = down.get(h.QUOTAS, ns, "cms")
        raised["spec"]["hard"]["count/configmaps"] = str(used + 10)
        down.replace(h.QUOTAS, ns, "cms", raised)
        raised_at = time.monotonic()
        arrived_at = h.wait_converged(lambda: h.configmap_problems(up, down, name, ns), timeout=120)
        recovery.record(
            "quota raised → refused ConfigMaps arrive",
            arrived_at - raised_at,
            others_flowed_in_s=round(flow_seconds, 1),
        )
        # Fix the Widget upstream: the change is retried at once.
        up.merge_patch(WIDGETS, ns, "big", {"spec": {"size": 5}})
        fixed_at = time.monotonic()
        wait_for(lambda: down.get_or_none(WIDGETS, ns, "big") is not None, timeout=60)
        recovery.record("invalid Widget fixed upstream → arrives", time.monotonic() - fixed_at)
        wait_for(
            lambda: (h.ready_condition(up, name) or {}).get("status") == "True",
            timeout=30,
            message=lambda: (
                f"Ready not back to True once all arrived: {h.ready_condition(up, name)}"
            ),
        )


# -- 7. a malformed SyncerConfig ------------------------------------------------------------------


def test_a_malformed_syncer_config_gets_a_condition_and_the_rest_keeps_working(
    planes, up, down, unique_name, recovery
):
    ns = name = unique_name
    up.create(h.NS, "", h.namespace(ns))
    h.create_many(up, h.CM, [h.configmap(ns, f"cm-{i}", {"v": "1"}) for i in range(10)])
    up.create(SYNCER_CONFIGS, "", h.syncer_config(name, [ns], [h.resource_entry("", "configmaps")]))
    syncer = h.make_syncer(planes.upstream, planes.downstream, name)
    with h.running(syncer):
        h.wait_converged(lambda: h.configmap_problems(up, down, name, ns), timeout=60)
        before = h.owned(down, h.CM, ns, name)
        bad = f"{name}-bad"
        # The CRD's schema already refuses the classic mistake (a group/version as apiVersion):
        # it never reaches the syncer.
        with pytest.raises(errors.ApiInvalid, match="apiVersion"):
            up.create(
                SYNCER_CONFIGS,
                "",
                h.syncer_config(bad, [ns], [h.resource_entry("apps", "deployments", "apps/v1")]),
            )
        # What the schema lets through but the syncer refuses: ".." as an object name.
        malformed = {
            "apiVersion": "edge.kubestellar.io/v2alpha1",
            "kind": "SyncerConfig",
            "metadata": {"name": bad},
            "spec": {
                "namespacedObjects": [
                    {
                        **h.resource_entry("", "configmaps"),
                        "objectsByNamespace": [{"namespace": ns, "names": [".."]}],
                    }
                ]
            },
        }
        up.create(SYNCER_CONFIGS, "", malformed)
        created_at = time.monotonic()
        condition = wait_for(
            lambda: (c := h.ready_condition(up, bad)) is not None and c["status"] == "False" and c,
            timeout=30,
            message=lambda: f"no Ready=False on the malformed config: {h.ready_condition(up, bad)}",
        )
        recovery.record("malformed SyncerConfig → condition", time.monotonic() - created_at)
        assert condition["reason"] == "InvalidConfig"
        assert "namespacedObjects" in condition["message"], condition["message"]
        assert "'..'" in condition["message"], condition["message"]
        # The good config keeps working: changes and new objects flow, nothing is deleted.
        up.merge_patch(h.CM, ns, "cm-0", {"data": {"v": "2"}})
        up.create(h.CM, ns, h.configmap(ns, "after-bad-config", {"v": "1"}))
        h.wait_converged(lambda: h.configmap_problems(up, down, name, ns), timeout=30)
        after = h.owned(down, h.CM, ns, name)
        assert {n: after[n]["metadata"]["uid"] for n in before} == h.uids(before)
        assert (h.ready_condition(up, name) or {}).get("status") == "True"
