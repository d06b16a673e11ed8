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

import pytest

from syncpipe.clients.rest import RestClient
from syncpipe.config.settings import Settings
from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime.syncer import SYNCER_CONFIGS
from syncpipe.testing import wait_for
from syncpipe.testing.manifests import configmap, namespace_scope_config
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
def config(up_rest: RestClient, unique_name: str) -> Iterator[Callable[..., dict[str, Any]]]:
    """Creates (or replaces the spec of) this scenario's SyncerConfig; deleted afterwards."""
    name = unique_name

    def apply(namespaces: list[str], **options: Any) -> dict[str, Any]:
        body = namespace_scope_config(
            name, namespaces, labels={CONFIG_LABEL: unique_name}, **options
        )
        existing = up_rest.get_or_none(SYNCER_CONFIGS, "", name)
        if existing is None:
            return up_rest.create(SYNCER_CONFIGS, "", body)
        return up_rest.json_patch(
            SYNCER_CONFIGS, "", name, [{"op": "replace", "path": "/spec", "value": body["spec"]}]
        )

    yield apply
    if up_rest.get_or_none(SYNCER_CONFIGS, "", name) is not None:
        up_rest.delete(SYNCER_CONFIGS, "", name)


def make_namespace(rest: RestClient, name: str) -> None:
    rest.create(NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def test_initial_sync_into_a_missing_namespace(
    session, settings, config, up_rest, down_rest, unique_name
):
    ns = unique_name
    make_namespace(up_rest, ns)
    for name in ("a", "b"):
        up_rest.create(CM, ns, configmap(ns, name, {"v": name}))
    config([ns])
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
    config([ns])
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
    config([ns, other])
    with session(settings) as live:
        wait_for(lambda: down_rest.get_or_none(CM, other, "a"), timeout=30)
        wait_for(lambda: down_rest.get_or_none(CM, ns, "a"), timeout=30)
        config([ns])
        wait_for(lambda: down_rest.get_or_none(CM, other, "a") is None, timeout=30)
    assert any(w.key == f"{other}/a" for w in live.log.of("delete"))
    assert_parity(live, settings)
