"""One error policy: a failing plugin is named, with the hook and the object, never a hot loop."""

from __future__ import annotations

import pytest

from syncpipe import builtin, errors
from syncpipe.hooks import chain, manager
from syncpipe.plugin import (
    Direction,
    ObjectHookError,
    PluginError,
    SyncContext,
    Transform,
    TransformError,
    hookimpl,
)
from tests.unit.hooks.plugins import KEY, OBJ, RESOURCE, hooks_with


class Include:
    @hookimpl
    def syncpipe_select(self) -> bool:
        return True


class RaisingSelect:
    @hookimpl
    def syncpipe_select(self) -> bool:
        raise KeyError("spec")


def test_a_raising_select_names_the_plugin_the_hook_and_the_object() -> None:
    hooks = hooks_with(("include", Include()), ("picky", RaisingSelect()))
    with pytest.raises(ObjectHookError) as caught:
        hooks.select(key=KEY, obj=OBJ, direction=Direction.DOWN)
    assert (caught.value.plugin, caught.value.hook, caught.value.subject) == (
        "picky",
        "syncpipe_select",
        KEY,
    )
    assert str(caught.value) == (
        "plugin 'picky': syncpipe_select failed on configmaps:ns/cm: KeyError: 'spec'"
    )


def test_a_raising_ignored_fields_names_the_plugin_and_the_resource() -> None:
    class Broken:
        @hookimpl
        def syncpipe_ignored_fields(self) -> list[str]:
            raise ValueError("no table")

    with pytest.raises(ObjectHookError, match="plugin 'broken': syncpipe_ignored_fields failed"):
        hooks_with(("broken", Broken())).ignored_fields(RESOURCE, Direction.DOWN)


def test_a_string_for_ignored_fields_is_a_clear_error_not_one_pointer_per_character() -> None:
    class Sloppy:
        @hookimpl
        def syncpipe_ignored_fields(self) -> str:
            return "/spec/replicas"

    with pytest.raises(ObjectHookError, match=r"plugin 'sloppy'.*not a list of JSON Pointers"):
        hooks_with(("sloppy", Sloppy())).ignored_fields(RESOURCE, Direction.DOWN)


def test_the_controller_rejects_an_object_a_plugin_failed_on_instead_of_retrying_it() -> None:
    from syncpipe.runtime.controller import Controller
    from syncpipe.runtime.workqueue import WorkQueue

    rejected: list[tuple[object, Exception]] = []
    queue: WorkQueue[str] = WorkQueue()
    controller = Controller(
        name="downsync",
        queue=queue,
        reconcile=lambda _key: None,
        on_rejected=lambda key, exc: rejected.append((key, exc)),
    )
    error = errors.ObjectHookError("boom", plugin="p", hook="syncpipe_select", subject="k")
    controller.handle_error("k", error)
    assert rejected == [("k", error)]
    assert len(queue) == 0


def test_one_transform_instead_of_a_list_is_a_start_up_error_naming_the_plugin() -> None:
    class OneTransform:
        @hookimpl
        def syncpipe_register_transforms(self) -> Transform:
            return Transform(name="solo", forward=lambda obj, _ctx: obj)

    with pytest.raises(
        PluginError, match="plugin 'one': must return a list of Transform, not Transform"
    ):
        hooks_with(("one", OneTransform())).transforms()


def test_a_transform_returning_none_is_blamed_not_the_next_one() -> None:
    def forget(_obj: dict, _ctx: SyncContext) -> None:
        return None

    class Forgetful:
        @hookimpl
        def syncpipe_register_transforms(self) -> list[Transform]:
            return [Transform(name="forgetful", forward=forget)]  # type: ignore[arg-type]

    pm = manager.build(builtins=builtin.MODULES, load_entry_points=False)
    pm.register(Forgetful(), name="forgetful-plugin")
    hooks = manager.Hooks(pm=pm, ctx=SyncContext(syncer_name="s"))
    with pytest.raises(TransformError) as caught:
        chain.run_transforms(OBJ, key=KEY, transforms=hooks.transforms(), ctx=hooks.ctx)
    assert (caught.value.plugin, caught.value.transform) == ("forgetful-plugin", "forgetful")
    assert "returned NoneType, not the object" in str(caught.value)


def test_a_raising_configure_is_one_error_naming_the_plugin() -> None:
    class Strict:
        @hookimpl
        def syncpipe_configure(self) -> None:
            raise ValueError("team must be lower case")

    with pytest.raises(errors.PluginLoadError) as caught:
        hooks_with(("strict", Strict())).configure()
    assert str(caught.value) == (
        "plugin 'strict': syncpipe_configure failed: ValueError: team must be lower case"
    )


@pytest.mark.parametrize(
    "name", ["writer", "builtin.ownership", "selection", "strip", "namespaces"]
)
def test_an_essential_built_in_cannot_be_disabled(name: str) -> None:
    with pytest.raises(PluginError, match=r"cannot be disabled.*essential built-ins: namespaces, "):
        manager.build(builtins=builtin.MODULES, load_entry_points=False, disabled=[name])


def test_an_optional_built_in_can_be_disabled() -> None:
    pm = manager.build(builtins=builtin.MODULES, load_entry_points=False, disabled=["renature"])
    assert not pm.has_plugin("builtin.renature")


class _Writer:
    def apply(self, _action: object) -> None:
        raise errors.ApiConflict("stale", status=409)


def test_a_plugin_failing_to_apply_an_action_rejects_the_object_but_api_errors_pass() -> None:
    from syncpipe.plugin import Delete, Side

    class Timing:
        @hookimpl(tryfirst=True)
        def syncpipe_apply_action(self) -> None:
            raise RuntimeError("clock gone")

    action = Delete(side=Side.DOWNSTREAM, key=KEY, uid="u")
    with pytest.raises(ObjectHookError, match="plugin 'timing': syncpipe_apply_action failed"):
        hooks_with(("timing", Timing())).apply_action(action=action, writer=_Writer())
    pm = manager.build(builtins=builtin.MODULES, load_entry_points=False)
    hooks = manager.Hooks(pm=pm, ctx=SyncContext(syncer_name="s"))
    with pytest.raises(errors.ApiConflict):
        hooks.apply_action(action=action, writer=_Writer())
