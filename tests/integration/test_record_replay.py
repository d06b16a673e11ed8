"""Record, replay and plan on the real control planes, checked against a real syncer.

The real syncer's writes are observed through the ``syncpipe_action_done`` hook (a test
plugin registered on its plugin manager): every write it carried out, by verb and key. The
replay of a recording of both sides, and ``syncpipe plan`` run before the syncer starts, must
plan the same creates and deletes, and patches of the objects the syncer patched.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from syncpipe.cli.main import cli
from syncpipe.config.settings import Settings
from syncpipe.model.events import Side
from syncpipe.model.resources import GroupVersionResource
from syncpipe.replay.recorder import Recorder
from syncpipe.replay.snapshot import RecordType, Snapshot
from syncpipe.runtime import wiring
from syncpipe.runtime.syncer import SYNCER_CONFIGS, Syncer
from syncpipe.testing import wait_for
from syncpipe.testing.manifests import deployment
from syncpipe.testing.parity import WriteLog

pytestmark = [pytest.mark.apiserver, pytest.mark.usefixtures("syncer_crds")]

NS = GroupVersionResource("", "v1", "namespaces")
CM = GroupVersionResource("", "v1", "configmaps")
SECRETS = GroupVersionResource("", "v1", "secrets")
DEPLOY = GroupVersionResource("apps", "v1", "deployments")


def live_of(log: WriteLog, verb: str) -> set[tuple[str, str, str, str, str]]:
    return {w.target for w in log.of(verb)}


def planned(doc: dict[str, Any], verb: str) -> set[tuple[str, str, str, str, str]]:
    out = set()
    for w in doc["writes"]:
        if w["verb"] != verb:
            continue
        gvr = GroupVersionResource.parse(w["resource"])
        cache_key = f"{w['namespace']}/{w['name']}" if w["namespace"] else w["name"]
        out.add((verb, w["side"], gvr.group_resource, cache_key, w["subresource"]))
    return out


def syncer_config(name: str, ns: str) -> dict[str, Any]:
    return {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "SyncerConfig",
        "metadata": {"name": name},
        "spec": {
            "namespacedObjects": [
                {
                    "apiVersion": "v1",
                    "group": "",
                    "resource": "configmaps",
                    "objectsByNamespace": [{"namespace": ns, "names": ["cm1", "cm2"]}],
                },
                {
                    "apiVersion": "v1",
                    "group": "",
                    "resource": "secrets",
                    "objectsByNamespace": [{"namespace": ns, "names": ["s1"]}],
                },
                {
                    "apiVersion": "v1",
                    "group": "apps",
                    "resource": "deployments",
                    "objectsByNamespace": [{"namespace": ns, "names": ["web"]}],
                },
            ]
        },
    }


@pytest.fixture
def workload(up_rest, unique_name) -> Iterator[str]:
    """A namespace upstream with two ConfigMaps, a Secret, a Deployment, and a SyncerConfig
    selecting them; every SyncerConfig is deleted afterwards (all of them are merged)."""
    ns = unique_name
    up_rest.create(NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for name, value in (("cm1", "1"), ("cm2", "2")):
        up_rest.create(
            CM,
            ns,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name},
                "data": {"v": value},
            },
        )
    up_rest.create(
        SECRETS,
        ns,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s1"},
            "stringData": {"pw": "hunter2"},
        },
    )
    up_rest.create(DEPLOY, ns, deployment(ns, "web"))
    up_rest.create(SYNCER_CONFIGS, "", syncer_config(unique_name, ns))
    yield ns
    items, _ = up_rest.list(SYNCER_CONFIGS)
    for item in items:
        up_rest.delete(SYNCER_CONFIGS, "", item["metadata"]["name"])


def make_syncer(upstream, downstream, name: str) -> tuple[Syncer, WriteLog]:
    syncer = wiring.build_syncer(
        settings=Settings(
            syncer_name=name,
            discovery_interval=2.0,
            heartbeat_interval=1.0,
        ),
        upstream_kubeconfig=str(upstream.admin_kubeconfig),
        downstream_kubeconfig=str(downstream.admin_kubeconfig),
    )
    log = WriteLog()
    syncer.hooks.pm.register(log, name="test-action-log")
    return syncer, log


def kubeconfig_args(upstream, downstream) -> list[str]:
    return [
        "--upstream-kubeconfig",
        str(upstream.admin_kubeconfig),
        "--downstream-kubeconfig",
        str(downstream.admin_kubeconfig),
    ]


def run_cli(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_plan_before_the_syncer_runs_lists_exactly_the_creates_it_then_makes(
    upstream, downstream, down_rest, up_rest, workload, unique_name
):
    ns = workload
    output = run_cli(
        ["plan", *kubeconfig_args(upstream, downstream), "--syncer-name", unique_name, "-o", "json"]
    )
    plan = yaml.safe_load(output)
    creates = planned(plan, "create")
    assert ("create", "downstream", "configmaps", f"{ns}/cm1", "") in creates
    assert ("create", "downstream", "namespaces", ns, "") in creates
    # Nothing was written by planning.
    assert down_rest.get_or_none(CM, ns, "cm1") is None
    assert down_rest.get_or_none(NS, "", ns) is None
    # The plan never shows a Secret's value.
    assert "hunter2" not in output

    syncer, log = make_syncer(upstream, downstream, unique_name)
    syncer.start()
    try:
        wait_for(lambda: syncer.ready.is_set(), timeout=60, message="syncer not ready")
        wait_for(lambda: down_rest.get_or_none(DEPLOY, ns, "web"), timeout=30)
        wait_for(
            lambda: live_of(log, "create") >= creates, timeout=30, message=lambda: f"{log.writes}"
        )
    finally:
        syncer.stop(timeout=10)
    assert live_of(log, "create") == creates
    assert not live_of(log, "delete")
    assert not planned(plan, "delete")


def test_replay_of_a_recorded_session_plans_what_the_syncer_did(
    upstream, downstream, up_rest, down_rest, workload, unique_name, tmp_path: Path
):
    ns = workload
    snapshot = tmp_path / "session.jsonl.gz"
    recorder = Recorder(
        target=snapshot,
        clients={Side.UPSTREAM: up_rest, Side.DOWNSTREAM: down_rest},
        config_objects=None,
        rediscovery_interval=2.0,
    )
    stop = threading.Event()
    thread = threading.Thread(target=recorder.run_until, args=(stop.is_set,), kwargs={"tick": 0.2})
    thread.start()
    syncer, log = make_syncer(upstream, downstream, unique_name)
    try:
        wait_for(recorder.synced, timeout=30, message="recorder did not finish its first lists")
        syncer.start()
        wait_for(lambda: syncer.ready.is_set(), timeout=60, message="syncer not ready")
        wait_for(lambda: down_rest.get_or_none(CM, ns, "cm2"), timeout=30)
        # A change (a patch downstream) and a deletion (a delete downstream).
        up_rest.json_patch(
            CM, ns, "cm1", [{"op": "replace", "path": "/data/v", "value": "changed"}]
        )
        up_rest.delete(CM, ns, "cm2")
        wait_for(lambda: down_rest.get(CM, ns, "cm1")["data"] == {"v": "changed"}, timeout=30)
        wait_for(lambda: down_rest.get_or_none(CM, ns, "cm2") is None, timeout=30)
        # The deployment's status downstream (from its controller) is returned upstream.
        wait_for(
            lambda: (up_rest.get(DEPLOY, ns, "web").get("status") or {}).get("observedGeneration"),
            timeout=60,
            message="status of the deployment not returned upstream",
        )
        wait_for(
            lambda: ("patch", "downstream", "configmaps", f"{ns}/cm1", "") in live_of(log, "patch"),
            timeout=10,
        )
    finally:
        syncer.stop(timeout=10)
        stop.set()
        thread.join(timeout=30)

    recording = Snapshot(snapshot)
    records = list(recording.records())
    assert {r.side for r in records} == {Side.UPSTREAM, Side.DOWNSTREAM}
    assert any(
        r.type is RecordType.DELETED and r.object["metadata"]["name"] == "cm2" for r in records
    )
    assert "hunter2" not in snapshot.read_bytes().decode("latin-1")

    args = ["replay", str(snapshot), "--syncer-name", unique_name, "-o", "json"]
    output = run_cli(args)
    plan = yaml.safe_load(output)
    assert planned(plan, "create") == live_of(log, "create")
    assert planned(plan, "delete") == live_of(log, "delete")
    assert ("delete", "downstream", "configmaps", f"{ns}/cm2", "") in planned(plan, "delete")
    live_patched = {w[1:] for w in live_of(log, "patch")}
    replay_patched = {w[1:] for w in planned(plan, "patch")}
    assert live_patched
    assert live_patched <= replay_patched, plan["writes"]
    assert run_cli(args) == output  # deterministic


def test_record_writes_the_selected_collections_of_both_sides_and_their_changes(
    upstream, downstream, up_rest, workload, tmp_path: Path
):
    ns = workload
    snapshot = tmp_path / "cli.jsonl.gz"
    timer = threading.Timer(
        2.0,
        lambda: up_rest.json_patch(
            CM, ns, "cm1", [{"op": "replace", "path": "/data/v", "value": "during"}]
        ),
    )
    timer.start()
    try:
        run_cli(
            [
                "record",
                *kubeconfig_args(upstream, downstream),
                "--all-selected",
                "--duration",
                "4s",
                "-o",
                str(snapshot),
            ]
        )
    finally:
        timer.join()
    recording = Snapshot(snapshot)
    header = recording.header
    assert set(header.sides) == {Side.UPSTREAM, Side.DOWNSTREAM}
    assert header.sides[Side.UPSTREAM].server_version.startswith("v1.")
    recorded = {(r.side, str(r.info.gvr)) for r in header.resources}
    assert {
        (Side.UPSTREAM, "v1/configmaps"),
        (Side.UPSTREAM, "v1/secrets"),
        (Side.UPSTREAM, "apps/v1/deployments"),
        (Side.UPSTREAM, "v1/namespaces"),
        (Side.UPSTREAM, "edge.kubestellar.io/v2alpha1/syncerconfigs"),
        (Side.DOWNSTREAM, "v1/configmaps"),
        (Side.DOWNSTREAM, "apps/v1/deployments"),
    } <= recorded
    records = list(recording.records())
    synced = {(r.side, str(r.gvr)) for r in records if r.type is RecordType.SYNCED}
    assert synced == recorded  # every initial list was completed
    listed_names = {
        r.object["metadata"]["name"]
        for r in records
        if r.type is RecordType.LIST and r.gvr == CM and r.object["metadata"]["namespace"] == ns
    }
    assert {"cm1", "cm2"} <= listed_names
    changes = [
        r
        for r in records
        if r.type is RecordType.MODIFIED and r.gvr == CM and r.object["metadata"]["namespace"] == ns
    ]
    assert any(r.object["data"] == {"v": "during"} for r in changes)
    assert all(r.t >= 1.0 for r in changes)
    secret = next(
        r.object
        for r in records
        if r.gvr == SECRETS
        and r.object is not None  # records without an object (RESOURCE, SYNCED) name no Secret
        and r.object["metadata"] == {**r.object["metadata"], "name": "s1", "namespace": ns}
    )
    assert secret["data"]["pw"].startswith("redacted:")
