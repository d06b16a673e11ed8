"""Several syncers on one mailbox API: each merges the configs its selector picks, and two
syncers merging one config keep their own status entries and agree on its summary."""

from __future__ import annotations

from typing import Any

import pytest

from syncpipe.model.resources import NAMESPACE_GVR, GroupVersionResource
from syncpipe.runtime.syncer import SYNCER_CONFIGS
from syncpipe.testing import manifests, wait_for

pytestmark = [pytest.mark.apiserver, pytest.mark.usefixtures("syncer_crds")]

CM = GroupVersionResource("", "v1", "configmaps")


def config(name: str, namespace: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """The ConfigMaps of ``namespace``."""
    return manifests.namespace_scope_config(name, [namespace], labels=labels)


def namespace_with_configmap(rest, name: str) -> None:
    rest.create(
        NAMESPACE_GVR, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    )
    rest.create(CM, name, manifests.configmap(name, "cm", {"k": "v"}))


def syncer_entry(rest, config_name: str, syncer_name: str) -> dict[str, Any] | None:
    status = rest.get(SYNCER_CONFIGS, "", config_name).get("status") or {}
    return (status.get("syncers") or {}).get(syncer_name)


def test_a_syncer_merges_only_the_configs_its_selector_picks_and_follows_relabelling(
    make_syncer, unique_name, up_rest, down_rest
):
    mine, other = f"{unique_name}-a", f"{unique_name}-b"
    for ns in (mine, other):
        namespace_with_configmap(up_rest, ns)
    up_rest.create(SYNCER_CONFIGS, "", config(mine, mine, {"edge": unique_name}))
    up_rest.create(SYNCER_CONFIGS, "", config(other, other, {"edge": "someone-else"}))
    syncer = make_syncer(unique_name, syncer_config_selector=f"edge={unique_name}")
    syncer.start()
    try:
        wait_for(syncer.ready.is_set, timeout=60, message="syncer not ready")
        assert down_rest.get_or_none(CM, mine, "cm") is not None
        # The initial sync is done: what the other config selects was never copied.
        assert down_rest.get_or_none(CM, other, "cm") is None
        wait_for(lambda: syncer_entry(up_rest, mine, unique_name), timeout=30)
        assert syncer_entry(up_rest, other, unique_name) is None
        # Relabelled into the selector, the other config is merged at once.
        relabelled = up_rest.get(SYNCER_CONFIGS, "", other)
        relabelled["metadata"]["labels"] = {"edge": unique_name}
        up_rest.replace(SYNCER_CONFIGS, "", other, relabelled)
        wait_for(lambda: down_rest.get_or_none(CM, other, "cm"), timeout=30)
    finally:
        syncer.stop(timeout=10)


def test_two_syncers_merging_one_config_keep_their_own_entries_and_agree_on_the_summary(
    make_syncer, unique_name, up_rest, down_rest
):
    ns = unique_name[:30]
    namespace_with_configmap(up_rest, ns)
    # The second syncer maps namespaces with a prefix and finds its namespace taken: its
    # ConfigMap is rejected, the first syncer's is copied.
    down_rest.create(
        NAMESPACE_GVR,
        "",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"y-{ns}"}},
    )
    up_rest.create(SYNCER_CONFIGS, "", config(unique_name, ns))
    first = make_syncer(f"{unique_name[:20]}-x")
    second = make_syncer(f"{unique_name[:20]}-y", namespace_mapping="prefix:y-")
    first.start()
    second.start()
    try:

        def entries() -> dict[str, Any]:
            status = up_rest.get(SYNCER_CONFIGS, "", unique_name).get("status") or {}
            return status.get("syncers") or {}

        def ready_of(entry: dict[str, Any]) -> str:
            return next(c["status"] for c in entry["conditions"] if c["type"] == "Ready")

        wait_for(
            lambda: (
                {n: ready_of(e) for n, e in entries().items()}
                == {first.settings.syncer_name: "True", second.settings.syncer_name: "False"}
            ),
            timeout=60,
            message=lambda: str(entries()),
        )
        # Once the summary says what both entries say (a heartbeat computed from a cache that
        # had not seen the second syncer's rejection yet may say Ready for a moment first),
        # many heartbeats of both later it never showed the first syncer's Ready (before, each
        # heartbeat wrote its own syncer's conditions over the other's).

        def summary_ready() -> tuple[str, str]:
            status = up_rest.get(SYNCER_CONFIGS, "", unique_name)["status"]
            ready = next(c for c in status["conditions"] if c["type"] == "Ready")
            return ready["status"], ready["reason"]

        wait_for(lambda: summary_ready() == ("False", "ObjectsRejected"), timeout=30)
        beats: set[tuple[str, str]] = set()
        summaries: set[tuple[str, str, str]] = set()

        def observe() -> bool:
            status = up_rest.get(SYNCER_CONFIGS, "", unique_name)["status"]
            ready = next(c for c in status["conditions"] if c["type"] == "Ready")
            summaries.add((ready["status"], ready["reason"], ready["message"]))
            beats.update((n, e["lastHeartbeatTime"]) for n, e in status["syncers"].items())
            return len(beats) >= 8

        wait_for(observe, timeout=60, interval=0.2)
        assert {(status, reason) for status, reason, _ in summaries} == {
            ("False", "ObjectsRejected")
        }
        for _, _, message in summaries:
            assert message.startswith(f"{second.settings.syncer_name}: ObjectsRejected: ")
        assert {name for name, _ in beats} == {
            first.settings.syncer_name,
            second.settings.syncer_name,
        }
    finally:
        first.stop(timeout=10)
        second.stop(timeout=10)
