"""The reconcile planner: every decision of one reconcile, from the state it was given."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncpipe import builtin
from syncpipe.builtin import ownership
from syncpipe.builtin.namespaces import UPSTREAM_NAMESPACE_ANNOTATION, build_mapper
from syncpipe.config.mergedselection import Selection
from syncpipe.config.syncerconfig import parse_syncer_config
from syncpipe.hooks import manager
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.namespacemapper import IDENTITY, NamespaceMapper
from syncpipe.model.actions import Create, Delete, Patch
from syncpipe.model.events import Direction, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import NAMESPACE_GVR, GroupVersionResource, ResourceInfo
from syncpipe.sink import planner, reconcileplan
from syncpipe.sink.reconcileplan import NamespacePrerequisite, ReconcilePlan, namespace_key
from syncpipe.testing.manifests import namespace_scope_config
from tests.unit.sink import samples

SYNCER = "edge-1"
CTX = SyncContext(syncer_name=SYNCER)
CONFIGMAPS = GroupVersionResource("", "v1", "configmaps")
TARGET = ObjectKey(CONFIGMAPS, "shop", "settings")
NAMESPACE_TARGET = ObjectKey(NAMESPACE_GVR, "", "shop")
PREFIXED = NamespaceMapper(
    name="prefix",
    downstream_namespace_for=lambda ns: f"edge-{ns}",
    upstream_namespace_for=lambda ns: ns.removeprefix("edge-"),
)

DATA = st.dictionaries(st.from_regex(r"\A[a-z]{1,6}\Z"), st.text(max_size=6), max_size=4)
OVERWRITE = st.sampled_from([None, "", "true", "false"])


def configmap(data: dict[str, str], *, overwrite: str | None = None, **extra: Any) -> dict:
    annotations = {} if overwrite is None else {ownership.OVERWRITE_ANNOTATION: overwrite}
    meta = {"name": "settings", "namespace": "shop", "annotations": annotations, **extra}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def desired_of(source: dict, *, upsync: bool = False) -> dict:
    """What the hook chain makes of ``source``: marked ours (the ownership transform)."""
    mark = ownership.mark_upsynced if upsync else ownership.mark_downsynced
    return mark(source, CTX)


def served(body: dict, **meta: Any) -> dict:
    """``body`` as the API server answers a create: with uid and resourceVersion."""
    return {**body, "metadata": {**body["metadata"], "uid": "u-1", "resourceVersion": "7", **meta}}


def plan(
    desired: dict | None,
    live: dict | None,
    *,
    source: dict | None = None,
    target: ObjectKey = TARGET,
    direction: Direction = Direction.DOWN,
    **facts: Any,
) -> ReconcilePlan:
    if source is None and desired is not None:
        source = desired
    return reconcileplan.plan_reconcile(
        direction=direction,
        target=target,
        source=source,
        desired=desired,
        live=live,
        syncer_name=SYNCER,
        **facts,
    )


def carried_out(result: ReconcilePlan, live: dict | None, source: dict | None = None) -> Any:
    """The copy after ``result``'s writes (as the shell does them), as the server holds it."""
    action = result.action
    if isinstance(action, Create):
        live = served(action.body)
        if result.status_after_create is not None:  # planned against the server's answer
            status = reconcileplan.plan_upsync_status(
                side=action.side,
                target=action.key,
                source=source,
                live=live,
                status_subresource=True,
            )
            return samples.apply(live, status.ops) if status else live
        return live
    if isinstance(action, Patch):
        live = samples.apply(live, action.ops)
    if isinstance(action, Delete):
        return None
    if result.status is not None:
        live = samples.apply(live, result.status.ops)
    return live


# -- properties ---------------------------------------------------------------------------------


@given(DATA, st.booleans(), st.booleans(), st.booleans(), st.booleans())
def test_never_deletes_what_is_not_owned(data, marked, source_gone, inferred, labelled):
    live = served(configmap(data))
    if marked:
        live = served(desired_of(configmap(data)))
    if not labelled:
        live["metadata"]["labels"] = {}
    result = plan(
        None, live, source=None if source_gone else configmap(data), inferred_delete=inferred
    )
    if isinstance(result.action, Delete):
        assert ownership.is_owned(live, syncer_name=SYNCER)


@given(DATA, DATA, OVERWRITE)
def test_never_updates_a_frozen_copy(old, new, live_overwrite):
    source = configmap(new, overwrite="false")
    live = served(desired_of(configmap(old, overwrite=live_overwrite)))
    result = plan(desired_of(source), live, source=source)
    assert not isinstance(result.action, Delete | Create)
    if isinstance(result.action, Patch):  # only the mark saying so, nothing else
        assert live_overwrite != "false"
        assert [op["path"].startswith("/metadata/annotations") for op in result.action.ops] == [
            True
        ]
        assert carried_out(result, live)["data"] == old


@given(DATA, st.one_of(st.none(), DATA), OVERWRITE, st.booleans(), st.one_of(st.none(), DATA))
def test_carrying_out_a_plan_leaves_nothing_to_plan(data, live_data, overwrite, upsync, status):
    direction = Direction.UP if upsync else Direction.DOWN
    source = configmap(data, overwrite=overwrite)
    desired = desired_of(source, upsync=upsync)
    if status is not None:
        source = {**source, "status": status}
    live = None if live_data is None else served(desired_of(configmap(live_data), upsync=upsync))
    after = live
    for _ in range(2):  # an update first, its status at the next reconcile (the watch echo)
        after = carried_out(plan(desired, after, source=source, direction=direction), after, source)
    again = plan(desired, after, source=source, direction=direction)
    assert again.action is None
    assert again.status is None


@given(st.booleans(), st.sampled_from([None, True, False]), st.booleans())
def test_a_namespace_copy_is_deleted_only_when_the_source_namespace_is_known_gone(
    source_exists, exists, inferred
):
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
    live = served(desired_of(namespace))
    result = plan(
        None,
        live,
        source=namespace if source_exists else None,
        target=NAMESPACE_TARGET,
        source_namespace_exists=exists,
        inferred_delete=inferred,
    )
    deletes = isinstance(result.action, Delete)
    assert deletes == (not source_exists and exists is False)


@given(DATA, st.booleans(), st.booleans(), st.booleans())
def test_a_copy_being_deleted_is_never_sent_another_delete(data, source_gone, inferred, upsync):
    direction = Direction.UP if upsync else Direction.DOWN
    live = served(
        desired_of(configmap(data), upsync=upsync), deletionTimestamp="2026-01-01T00:00:00Z"
    )
    result = plan(
        None,
        live,
        source=None if source_gone else configmap(data),
        direction=direction,
        inferred_delete=inferred,
    )
    assert result.action is None
    assert result.reason == reconcileplan.BEING_DELETED
    assert not result.guarded_delete


# -- deletions ----------------------------------------------------------------------------------


def test_a_deletion_asks_the_breaker_saying_why():
    live = served(desired_of(configmap({"a": "1"})))
    gone = plan(None, live, source=None, inferred_delete=True)
    excluded = plan(None, live, source=configmap({"a": "1"}))
    assert gone.action == Delete(side=Side.DOWNSTREAM, key=TARGET, uid="u-1")
    assert (gone.guarded_delete, gone.inferred, gone.excluded) == (True, True, False)
    assert (excluded.guarded_delete, excluded.inferred, excluded.excluded) == (True, False, True)


def test_a_create_once_copy_is_never_deleted():
    live = served(desired_of(configmap({"a": "1"}, overwrite="false")))
    assert plan(None, live, source=None).action is None


def test_no_copy_and_none_desired_forgets_the_key():
    assert plan(None, None, source=None) == ReconcilePlan(reason=reconcileplan.GONE, forget=True)


# -- creates and updates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "mapper", "expected"),
    [
        (TARGET, None, NamespacePrerequisite(name="shop", source_namespace="shop")),
        (TARGET, IDENTITY, NamespacePrerequisite(name="shop", source_namespace="shop")),
        (
            ObjectKey(CONFIGMAPS, "edge-shop", "settings"),
            PREFIXED,
            NamespacePrerequisite(
                name="edge-shop", mapped=True, upstream_namespace="shop", source_namespace="shop"
            ),
        ),
        (ObjectKey(NAMESPACE_GVR, "", "shop"), PREFIXED, None),
    ],
    ids=["no-mapper", "identity", "mapped", "cluster-scoped"],
)
def test_a_create_names_the_namespace_it_needs(target, mapper, expected):
    result = plan(desired_of(configmap({})), None, target=target, namespace_mapper=mapper)
    assert isinstance(result.action, Create)
    assert result.namespace == expected


def test_an_update_asks_the_fight_guard_with_the_source_version():
    source = configmap({"a": "2"}, resourceVersion="42")
    live = served(desired_of(configmap({"a": "1"})))
    result = plan(desired_of(source), live, source=source)
    assert isinstance(result.action, Patch)
    assert result.fight_version == "42"


def test_a_namesake_that_is_not_ours_is_a_conflict_and_left_alone():
    result = plan(desired_of(configmap({"a": "1"})), served(configmap({"a": "0"})))
    assert result.action is None
    assert "was not created by syncer 'edge-1'" in result.conflict


def test_upsync_returns_the_source_status_through_the_subresource_when_there_is_one():
    source = {**configmap({}), "status": {"phase": "Ready"}}
    desired = desired_of(configmap({}), upsync=True)
    live = served(planner.with_record(desired))
    with_subresource = plan(desired, live, source=source, direction=Direction.UP)
    without = plan(desired, live, source=source, direction=Direction.UP, status_subresource=False)
    assert with_subresource.status is not None
    assert with_subresource.status.subresource == "status"
    assert without.status is not None
    assert without.status.subresource == ""
    assert plan(desired, live, source=source).status is None  # downsync: status goes back apart


def test_an_upsync_create_carries_the_source_status_after_the_create():
    source = {**configmap({}), "status": {"phase": "Ready"}}
    result = plan(
        desired_of(configmap({}), upsync=True), None, source=source, direction=Direction.UP
    )
    assert result.status_after_create == {"phase": "Ready"}


# -- namespaces ---------------------------------------------------------------------------------

MAPPED = NamespacePrerequisite(name="edge-shop", mapped=True, upstream_namespace="shop")


def namespace_with(locator: str | None) -> dict:
    annotations = {} if locator is None else {UPSTREAM_NAMESPACE_ANNOTATION: locator}
    return {"metadata": {"name": "edge-shop", "annotations": annotations}}


@pytest.mark.parametrize(
    ("locator", "verifying", "refused"),
    [("shop", True, False), ("other", True, True), (None, True, True), ("shop", False, False)],
)
def test_a_mapped_namespace_is_used_only_with_its_upstream_locator(locator, verifying, refused):
    conflict = reconcileplan.namespace_conflict(
        MAPPED, namespace_with(locator), verifying=verifying
    )
    assert bool(conflict) == refused


def test_an_unmapped_namespace_is_used_as_it_is():
    unmapped = NamespacePrerequisite(name="shop")
    assert reconcileplan.namespace_conflict(unmapped, namespace_with(None), verifying=True) == ""


def test_a_created_namespace_is_marked_ours_and_carries_the_locator_under_a_mapping():
    body = reconcileplan.namespace_body(MAPPED, upsync=False, ctx=CTX)
    assert ownership.is_owned(body, syncer_name=SYNCER)
    assert body["metadata"]["annotations"][UPSTREAM_NAMESPACE_ANNOTATION] == "shop"


# -- the desired copy ---------------------------------------------------------------------------


UPSYNC_CONFIGMAPS = {
    "apiGroup": "",
    "resources": ["configmaps"],
    "namespaces": ["shop"],
    "names": ["*"],
}


def test_the_desired_copy_is_the_chains_result_located_and_never_our_own_copy_going_up():
    document = namespace_scope_config("c", ["shop"])
    document["spec"]["upsync"] = [UPSYNC_CONFIGMAPS]
    config = parse_syncer_config(document)
    pm = manager.build(builtins=builtin.MODULES, load_entry_points=False)
    hooks = manager.Hooks(
        pm=pm, ctx=SyncContext(syncer_name=SYNCER, selection=Selection.from_configs([config]))
    )
    info = ResourceInfo(gvr=CONFIGMAPS, kind="ConfigMap", namespaced=True)
    down = hooks.ctx.for_resource(info, Direction.DOWN)
    up = hooks.ctx.for_resource(info, Direction.UP)
    source = configmap({"a": "1"})
    desired = reconcileplan.desired_copy(source, key=TARGET, hooks=hooks, ctx=down, info=info)
    assert desired is not None
    assert ownership.is_owned(desired, syncer_name=SYNCER)
    assert (
        desired["metadata"]["annotations"][ownership.SOURCE_ANNOTATION]
        == "configmaps/shop/settings"
    )
    assert reconcileplan.desired_copy(desired, key=TARGET, hooks=hooks, ctx=up, info=info) is None
    assert (
        reconcileplan.desired_copy(source, key=TARGET, hooks=hooks, ctx=up, info=info) is not None
    )


# -- a missing namespace whose Namespace is selected too ----------------------------------------

NAMESPACE_INFO = ResourceInfo(gvr=NAMESPACE_GVR, kind="Namespace", namespaced=False)


def namespace_syncing_hooks(mapping: str) -> manager.Hooks:
    """The built-in chain with a config selecting namespace ``shop`` (the Namespace object and
    its ConfigMaps), under namespace mapping ``mapping``."""
    config = parse_syncer_config(namespace_scope_config("c", ["shop"]))
    pm = manager.build(builtins=builtin.MODULES, load_entry_points=False)
    ctx = SyncContext(
        syncer_name=SYNCER,
        selection=Selection.from_configs([config]),
        namespace_mapper=build_mapper(mapping, syncer_name=SYNCER),
    )
    return manager.Hooks(pm=pm, ctx=ctx)


@pytest.mark.parametrize("mapping", ["identity", "prefix:edge-"])
def test_a_missing_selected_namespace_is_created_as_its_own_reconcile_would_create_it(mapping):
    hooks = namespace_syncing_hooks(mapping)
    ctx = hooks.ctx.for_resource(NAMESPACE_INFO, Direction.DOWN)
    source = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
    copy = reconcileplan.desired_copy(
        source, key=NAMESPACE_TARGET, hooks=hooks, ctx=ctx, info=NAMESPACE_INFO
    )
    assert copy is not None
    # The prerequisite of a ConfigMap of ``shop`` reconciled before the Namespace itself:
    dependent = plan(
        desired_of(configmap({})),
        None,
        target=ObjectKey(CONFIGMAPS, copy["metadata"]["name"], "settings"),
        namespace_mapper=hooks.ctx.namespace_mapper,
    )
    assert dependent.namespace is not None
    body, is_copy = reconcileplan.namespace_create(
        dependent.namespace, selected=copy, upsync=False, ctx=hooks.ctx
    )
    # ... and the Namespace's own reconcile, then or before: the same create.
    own = plan(copy, None, source=source, target=namespace_key(copy["metadata"]["name"]))
    assert isinstance(own.action, Create)
    assert (body, is_copy) == (own.action.body, True)
    locator = ownership.source_locator(NAMESPACE_TARGET)
    assert body["metadata"]["annotations"][ownership.SOURCE_ANNOTATION] == locator
    if mapping != "identity":
        assert body["metadata"]["annotations"][UPSTREAM_NAMESPACE_ANNOTATION] == "shop"


def selected_namespace(name: str, locator: str | None) -> dict:
    """A selected Namespace's desired copy named ``name``, carrying mapping locator ``locator``."""
    annotations = {ownership.SOURCE_ANNOTATION: ownership.source_locator(NAMESPACE_TARGET)}
    if locator is not None:
        annotations[UPSTREAM_NAMESPACE_ANNOTATION] = locator
    metadata = {"name": name, "annotations": annotations}
    return desired_of({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata})


@pytest.mark.parametrize(
    ("prerequisite", "selected"),
    [
        (NamespacePrerequisite(name="shop", source_namespace="shop"), None),
        (
            NamespacePrerequisite(name="shop", source_namespace="shop"),
            selected_namespace("elsewhere", None),
        ),
        (MAPPED, selected_namespace("edge-shop", None)),
        (MAPPED, selected_namespace("edge-shop", "other")),
    ],
    ids=["not-selected", "copy-named-otherwise", "copy-without-locator", "copy-of-another"],
)
def test_a_missing_namespace_is_created_bare_unless_a_selected_copy_fits_it(prerequisite, selected):
    body, is_copy = reconcileplan.namespace_create(
        prerequisite, selected=selected, upsync=False, ctx=CTX
    )
    assert not is_copy
    assert body == reconcileplan.namespace_body(prerequisite, upsync=False, ctx=CTX)
    assert ownership.SOURCE_ANNOTATION not in body["metadata"].get("annotations", {})


def test_an_upsync_namespace_prerequisite_names_the_source_namespace():
    result = plan(
        desired_of(configmap({}), upsync=True), None, source=configmap({}), direction=Direction.UP
    )
    assert result.namespace == NamespacePrerequisite(name="shop", source_namespace="shop")
