"""Shared fixtures of the replay tests."""

from __future__ import annotations

import pytest

from syncpipe.model.events import Side
from syncpipe.replay.snapshot import write_snapshot
from tests.unit.replay.factories import (
    CM,
    CONFIG,
    DEPLOY,
    NS,
    configmap,
    deployment,
    event,
    header,
    listed,
    namespace,
)


@pytest.fixture
def snapshot(tmp_path):
    """A recorded session: a ConfigMap changed at 0.5 s, a Deployment deleted at 0.7 s."""
    path = tmp_path / "session.jsonl.gz"
    settings = configmap("shop", "settings", {"a": "1"})
    records = [
        *listed(Side.UPSTREAM, NS, namespace("shop")),
        *listed(Side.UPSTREAM, CM, settings),
        *listed(Side.UPSTREAM, DEPLOY, deployment("shop", "web")),
        *listed(Side.DOWNSTREAM, NS),
        *listed(Side.DOWNSTREAM, CM),
        *listed(Side.DOWNSTREAM, DEPLOY),
        event(0.5, Side.UPSTREAM, "MODIFIED", CM, {**settings, "data": {"a": "2"}}),
        event(0.7, Side.UPSTREAM, "DELETED", DEPLOY, deployment("shop", "web")),
    ]
    write_snapshot(path, header(configs=(CONFIG,)), records)
    return path
