"""Parity: the replay of a recorded session plans exactly the writes the live syncer made.

Each scenario runs a real syncer between the test control planes while both sides are
recorded (``syncpipe.testing.parity.parity_session``), then replays the recording with the
same ``Settings`` and compares the writes: verb, side, object, subresource and patch
operations; a difference fails with one line per write (missing in replay, extra in replay,
differing ops). What a replay cannot reproduce is excluded by name
(``syncpipe.replay.fidelity.NOT_EMULATED``), never silently.

Every scenario has its own namespaces and its own SyncerConfigs, picked by a label the
syncer's ``syncer_config_selector`` names, so scenarios sharing the control planes never see
each other's configs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import attrs
import pytest

from syncpipe.builtin.ownership import OVERWRITE_ANNOTATION
from syncpipe.clients.rest import RestClient
from syncpipe.config.settings import Settings
from syncpipe.model.objects import annotations_of
from syncpipe.model.resources import CRD_GVR, GroupVersionResource
from syncpipe.runtime.syncer import SYNCER_CONFIGS
from syncpipe.testing import create_established, wait_for
from syncpipe.testing.manifests import (
    configmap,
    cr,
    crd_first_config,
    namespace_scope_config,
    status_crds,
)
from syncpipe.testing.parity import ParitySession, assert_parity, parity_session

pytestmark = [pytest.mark.apiserver, pytest.mark.usefixtures("syncer_crds")]

NS = GroupVersionResource("", "v1", "namespaces")
CM = GroupVersionResource("", "v1", "configmaps")
CONFIG_LABEL = "parity.syncpipe.io/scenario"

SessionFactory = Callable[..., AbstractContextManager[ParitySession]]


@pytest.fixture
def settings(unique_name: str) -> Settings:
    """The one ``Settings`` both the syncer and the replay get."""
    return Settings(
        syncer_name=unique_name,
        heartbeat_interval=1.0,
        syncer_config_selector=f"{CONFIG_LABEL}={unique_name}",
    )


@pytest.fixture
def session(
    upstream, downstream, up_rest: RestClient, down_rest: RestClient, tmp_path: Path
) -> SessionFactory:
    """Opens parity sessions on the test control planes; ``settings`` as given."""

    def open_session(settings: Settings, **options: Any) -> AbstractContextManager[ParitySession]:
        return parity_session(
            up_rest=up_rest,
            down_rest=down_rest,
            settings=settings,
            upstream_kubeconfig=str(upstream.admin_kubeconfig),
            downstream_kubeconfig=str(downstream.admin_kubeconfig),
            snapshot=tmp_path / "session.jsonl.gz",
            **options,
        )

    return open_session


@pytest.fixture
def config(up_rest: RestClient, unique_name: str) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Creates (or replaces the spec of) this scenario's SyncerConfig; deleted afterwards."""
    name = unique_name

    def apply(spec: dict[str, Any]) -> None:
        if up_rest.get_or_none(SYNCER_CONFIGS, "", name) is not None:
            up_rest.json_patch(
                SYNCER_CONFIGS, "", name, [{"op": "replace", "path": "/spec", "value": spec}]
            )
            return
        body = {
            "apiVersion": "edge.kubestellar.io/v2alpha1",
            "kind": "SyncerConfig",
            "metadata": {"name": name, "labels": {CONFIG_LABEL: unique_name}},
            "spec": spec,
        }
        up_rest.create(SYNCER_CONFIGS, "", body)

    yield apply
    if up_rest.get_or_none(SYNCER_CONFIGS, "", name) is not None:
        up_rest.delete(SYNCER_CONFIGS, "", name)


def configmaps_in(*namespaces: str) -> dict[str, Any]:
    """A SyncerConfig spec selecting the ConfigMaps of ``namespaces`` (and those Namespaces)."""
    spec: dict[str, Any] = namespace_scope_config("", list(namespaces))["spec"]
    return spec


def make_namespace(rest: RestClient, name: str) -> None:
    rest.create(NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def test_initial_sync_into_a_missing_namespace(
    session, settings, config, up_rest, down_rest, unique_name
):
    ns = unique_name
    make_namespace(up_rest, ns)
    for name in ("a", "b"):
        up_rest.create(CM, ns, configmap(ns, name, {"v": name}))
    config(configmaps_in(ns))
    with session(settings) as live:
        wait_for(lambda: down_rest.get_or_none(CM, ns, "b"), timeout=30)
        wait_for(lambda: down_rest.get_or_none(CM, ns, "a"), timeout=30)
    assert {w.resource for w in live.log.of("create")} >= {"namespaces", "configmaps"}
    assert_parity(live, settings)


def test_update_delete_and_a_new_object(session, settings, config, up_rest, down_rest, unique_name):
    ns = unique_name
    make_namespace(up_rest, ns)
    for name in ("a", "b"):
        up_rest.create(CM, ns, configmap(ns, name, {"v": name}))
    config(configmaps_in(ns))
    with session(settings) as live:
        wait_for(lambda: down_rest.get_or_none(CM, ns, "b"), timeout=30)
        up_rest.json_patch(CM, ns, "a", [{"op": "replace", "path": "/data/v", "value": "new"}])
        up_rest.delete(CM, ns, "b")
        up_rest.create(CM, ns, configmap(ns, "c", {"v": "c"}))
        wait_for(lambda: down_rest.get(CM, ns, "a")["data"] == {"v": "new"}, timeout=30)
        wait_for(lambda: down_rest.get_or_none(CM, ns, "b") is None, timeout=30)
        wait_for(lambda: down_rest.get_or_none(CM, ns, "c"), timeout=30)
    assert live.log.of("patch")
    assert live.log.of("delete")
    assert_parity(live, settings)


def test_deselection_by_a_config_change(session, settings, config, up_rest, down_rest, unique_name):
    ns, other = unique_name, f"{unique_name}-x"
    for name in (ns, other):
        make_namespace(up_rest, name)
        up_rest.create(CM, name, configmap(name, "a", {"v": name}))
    config(configmaps_in(ns, other))
    with session(settings) as live:
        wait_for(lambda: down_rest.get_or_none(CM, other, "a"), timeout=30)
        wait_for(lambda: down_rest.get_or_none(CM, ns, "a"), timeout=30)
        config(configmaps_in(ns))
        wait_for(lambda: down_rest.get_or_none(CM, other, "a") is None, timeout=30)
    assert any(w.key == f"{other}/a" for w in live.log.of("delete"))
    assert_parity(live, settings)


def test_crds_first_then_custom_resources_with_and_without_status(
    session, settings, config, up_rest, down_rest, unique_name
):
    group = f"{unique_name}.example.com"
    with_status = GroupVersionResource(group, "v1alpha1", "withstatuses")
    without = GroupVersionResource(group, "v1alpha1", "withouts")
    with session(settings) as live:
        create_established(up_rest, *status_crds(group))
        config(crd_first_config(unique_name, group)["spec"])
        up_rest.create(with_status, "", cr(group, "WithStatus", "a", spec={"foo": "bar"}))
        up_rest.create(without, "", cr(group, "Without", "sample", spec={"foo": "bar"}))
        for gvr, name in ((with_status, "a"), (without, "sample")):
            wait_for(
                lambda gvr=gvr, name=name: down_rest.get_or_none(gvr, "", name),
                timeout=60,
                ignore=(Exception,),
            )
        # Status written downstream: through /status, and on the main resource without it.
        copy = down_rest.get(with_status, "", "a")
        down_rest.replace(
            with_status, "", "a", {**copy, "status": {"state": "pass"}}, subresource="status"
        )
        copy = down_rest.get(without, "", "sample")
        down_rest.replace(without, "", "sample", {**copy, "status": {"state": "pass"}})
        for gvr, name in ((with_status, "a"), (without, "sample")):
            wait_for(
                lambda gvr=gvr, name=name: (
                    up_rest.get(gvr, "", name).get("status") == {"state": "pass"}
                ),
                timeout=30,
            )
    assert {w.resource for w in live.log.of("create")} >= {
        "customresourcedefinitions.apiextensions.k8s.io",
        f"withstatuses.{group}",
        f"withouts.{group}",
    }
    assert_parity(live, settings)


def test_restart_with_crd_copies_owned_but_no_longer_selected(
    session, settings, config, up_rest, down_rest, unique_name, make_syncer
):
    group = f"{unique_name}.example.com"
    with_status = GroupVersionResource(group, "v1alpha1", "withstatuses")
    create_established(up_rest, *status_crds(group))
    config(crd_first_config(unique_name, group)["spec"])
    up_rest.create(with_status, "", cr(group, "WithStatus", "a", spec={"foo": "bar"}))
    earlier = make_syncer(
        settings.syncer_name, syncer_config_selector=settings.syncer_config_selector
    )
    earlier.start()
    try:
        wait_for(
            lambda: down_rest.get_or_none(with_status, "", "a"), timeout=60, ignore=(Exception,)
        )
    finally:
        earlier.stop(timeout=10)
    # While no syncer runs, the config stops selecting the CRDs and their objects.
    ns = unique_name
    make_namespace(up_rest, ns)
    config(configmaps_in(ns))
    with session(settings) as live:
        for plural in ("withstatuses", "withouts"):
            wait_for(
                lambda plural=plural: (
                    down_rest.get_or_none(CRD_GVR, "", f"{plural}.{group}") is None
                ),
                timeout=60,
            )
    assert live.log.of("delete")
    assert_parity(live, settings)


def test_downsync_overwrite_transitions(session, settings, config, up_rest, down_rest, unique_name):
    ns = unique_name
    frozen = {OVERWRITE_ANNOTATION: "false"}
    make_namespace(up_rest, ns)
    up_rest.create(CM, ns, configmap(ns, "cm", {"f": "upstream"}))
    up_rest.create(CM, ns, configmap(ns, "keep", {"f": "upstream"}, annotations=frozen))
    config(configmaps_in(ns))

    def overwrite_of(name: str) -> str | None:
        return annotations_of(down_rest.get(CM, ns, name)).get(OVERWRITE_ANNOTATION)

    with session(settings) as live:
        for name in ("cm", "keep"):
            wait_for(lambda name=name: down_rest.get_or_none(CM, ns, name), timeout=30)
        for name in ("cm", "keep"):
            down_rest.merge_patch(CM, ns, name, {"data": {"f": "edge edit"}})
        wait_for(lambda: down_rest.get(CM, ns, "cm")["data"]["f"] == "upstream", timeout=30)
        # Overwrite turned on: upstream is the truth again.
        up_rest.merge_patch(
            CM, ns, "keep", {"metadata": {"annotations": {OVERWRITE_ANNOTATION: "true"}}}
        )
        wait_for(lambda: down_rest.get(CM, ns, "keep")["data"]["f"] == "upstream", timeout=30)
        # Off again: the copy is marked frozen, and survives the upstream deletion.
        up_rest.merge_patch(CM, ns, "keep", {"metadata": {"annotations": frozen}})
        wait_for(lambda: overwrite_of("keep") == "false", timeout=30)
        up_rest.delete(CM, ns, "keep")
        up_rest.delete(CM, ns, "cm")
        wait_for(lambda: down_rest.get_or_none(CM, ns, "cm") is None, timeout=30)
    assert down_rest.get_or_none(CM, ns, "keep") is not None
    assert_parity(live, settings)


def test_upsync_with_an_upstream_namesake(
    session, settings, config, up_rest, down_rest, namesake_reports
):
    group = namesake_reports
    gvr = GroupVersionResource(group, "v1alpha1", "reports")
    config({"upsync": [{"apiGroup": group, "resources": ["reports"], "names": ["*"]}]})
    with session(settings) as live:
        wait_for(lambda: up_rest.get_or_none(gvr, "", "free"), timeout=60, ignore=(Exception,))
        down_rest.merge_patch(gvr, "", "free", {"spec": {"foo": "edge, changed"}})
        wait_for(lambda: up_rest.get(gvr, "", "free")["spec"]["foo"] == "edge, changed", timeout=30)
        wait_for(lambda: any("taken" in k for k in live.syncer._rejected), timeout=30)
    assert up_rest.get(gvr, "", "taken")["spec"] == {"foo": "upstream's own"}
    assert_parity(live, settings)


def test_namespace_mapping(session, settings, config, up_rest, down_rest, unique_name):
    ns = unique_name[:40]
    mapped = attrs.evolve(settings, namespace_mapping="prefix:m-")
    make_namespace(up_rest, ns)
    up_rest.create(CM, ns, configmap(ns, "a", {"v": "a"}))
    config(configmaps_in(ns))
    with session(mapped) as live:
        wait_for(lambda: down_rest.get_or_none(CM, f"m-{ns}", "a"), timeout=30)
        up_rest.json_patch(CM, ns, "a", [{"op": "replace", "path": "/data/v", "value": "new"}])
        wait_for(lambda: down_rest.get(CM, f"m-{ns}", "a")["data"] == {"v": "new"}, timeout=30)
    assert_parity(live, mapped)


def test_status_return_of_a_burst_of_status_changes(
    session, settings, config, up_rest, down_rest, unique_name
):
    group = f"{unique_name}.example.com"
    with_status = GroupVersionResource(group, "v1alpha1", "withstatuses")
    create_established(up_rest, *status_crds(group))
    up_rest.create(with_status, "", cr(group, "WithStatus", "a", spec={"foo": "bar"}))
    config(crd_first_config(unique_name, group)["spec"])
    burst = 8
    # A settle window the whole burst fits in even on a loaded machine (each change is a GET
    # and a PUT downstream): with the default 0.5 s, changes slower than the window are each
    # a quiet object's first change, and nothing is folded.
    settings = attrs.evolve(settings, status_settle_seconds=5.0)

    def report(step: int) -> None:
        copy = down_rest.get(with_status, "", "a")
        status = {"step": step}
        down_rest.replace(with_status, "", "a", {**copy, "status": status}, subresource="status")

    def returned(step: int) -> bool:
        return up_rest.get(with_status, "", "a").get("status") == {"step": step}

    with session(settings) as live:
        wait_for(
            lambda: down_rest.get_or_none(with_status, "", "a"), timeout=60, ignore=(Exception,)
        )
        # The first change of a quiet object is returned at once; once it is, the rest of the
        # burst comes within the settle window and folds into one trailing write. (Waiting for
        # the first return keeps the live syncer's reaction time, which a replay in virtual
        # time does not have, out of what is folded where.)
        report(0)
        wait_for(lambda: returned(0), timeout=30)
        for step in range(1, burst):
            report(step)
        wait_for(lambda: returned(burst - 1), timeout=30)
    status_writes = [
        w
        for w in live.log.writes
        if w.subresource == "status" and w.resource == with_status.group_resource
    ]
    assert 1 <= len(status_writes) < burst  # the burst was folded
    assert_parity(live, settings)
