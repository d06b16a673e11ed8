"""Whether a copy's status goes back upstream: one pure decision (``status_return_blocked``)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from syncpipe.builtin import ownership
from syncpipe.config.mergedselection import Selection
from syncpipe.config.syncerconfig import parse_syncer_config
from syncpipe.hooks.context import SyncContext
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import GroupVersionResource
from syncpipe.sink.reconcileplan import status_return_blocked
from syncpipe.testing.manifests import namespace_scope_config

SYNCER = "edge-1"
DEPLOYMENTS = GroupVersionResource("apps", "v1", "deployments")
KEY = ObjectKey(DEPLOYMENTS, "shop", "web")
RESOURCES = (("apps", "v1", "deployments"),)


def selection(*names: str) -> Selection:
    return Selection.from_configs(
        [parse_syncer_config(namespace_scope_config(name, ["shop"], RESOURCES)) for name in names]
    )


def upstream(return_status: str | None = None) -> dict[str, Any]:
    annotations = (
        {} if return_status is None else {ownership.RETURN_STATUS_ANNOTATION: return_status}
    )
    meta = {"name": "web", "namespace": "shop", "annotations": annotations}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta}


def copy(*, ours: bool = True) -> dict[str, Any]:
    obj = upstream()
    if ours:
        obj = ownership.mark_downsynced(obj, SyncContext(syncer_name=SYNCER))
    return {**obj, "status": {"readyReplicas": 1}}


def blocked(**given_: Any) -> str | None:
    facts: dict[str, Any] = {
        "key": KEY,
        "kind": "Deployment",
        "upstream_obj": upstream(),
        "copy": copy(),
        "selection": selection("a"),
        "configs_off": frozenset(),
        "syncer_name": SYNCER,
        "server_owned": False,
    }
    return status_return_blocked(**{**facts, **given_})


def test_an_owned_copy_of_a_selected_object_returns_its_status():
    assert blocked() is None


def test_each_reason_not_to_return_status_is_named():
    assert blocked(server_owned=True) == "the server owns this resource's status"
    assert blocked(upstream_obj=None) == "the upstream object is gone"
    assert blocked(upstream_obj=upstream("false")) == "status return is off on the object"
    assert blocked(copy=None) == "no copy of this syncer's"
    assert blocked(copy=copy(ours=False)) == "no copy of this syncer's"
    assert blocked(copy=copy(), syncer_name="edge-2") == "no copy of this syncer's"


def test_configs_turn_status_return_off_only_when_every_config_selecting_it_does():
    both = selection("a", "b")
    assert blocked(selection=both, configs_off=frozenset({"SyncerConfig/a"})) is None
    assert (
        blocked(selection=both, configs_off=frozenset({"SyncerConfig/a", "SyncerConfig/b"}))
        == "status return is off on every config selecting it"
    )


@given(
    st.booleans(),
    st.booleans(),
    st.sampled_from([None, "true", "false", ""]),
    st.sampled_from(["ours", "theirs", "none"]),
    st.sets(st.sampled_from(["SyncerConfig/a", "SyncerConfig/b", "SyncerConfig/c"])),
)
def test_status_returns_exactly_when_nothing_forbids_it(server_owned, gone, annotation, held, off):
    copies = {"ours": copy(), "theirs": copy(ours=False), "none": None}
    answer = blocked(
        server_owned=server_owned,
        upstream_obj=None if gone else upstream(annotation),
        copy=copies[held],
        selection=selection("a", "b"),
        configs_off=frozenset(off),
    )
    allowed = (
        not server_owned
        and not gone
        and annotation != "false"
        and not {"SyncerConfig/a", "SyncerConfig/b"} <= off
        and held == "ours"
    )
    assert (answer is None) is allowed
