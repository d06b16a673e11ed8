"""Every hook is called through pluggy: its order, wrappers, historic calls and tracing hold."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from syncpipe.hooks import manager
from syncpipe.model.actions import Delete
from syncpipe.plugin import (
    Direction,
    Side,
    SyncContext,
    SyncerView,
    Transform,
    hookimpl,
)
from tests.unit.hooks.plugins import KEY, OBJ, RESOURCE, hooks_with

ACTION = Delete(side=Side.DOWNSTREAM, key=KEY, uid="u")


class Recorder:
    """Implements every observer and per-object hook, noting its name in ``calls``."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.name = name
        self.calls = calls

    @hookimpl
    def syncpipe_select(self) -> None:
        self.calls.append(self.name)

    @hookimpl
    def syncpipe_action_done(self) -> None:
        self.calls.append(self.name)

    @hookimpl
    def syncpipe_object_rejected(self) -> None:
        self.calls.append(self.name)

    @hookimpl
    def syncpipe_startup(self) -> None:
        self.calls.append(self.name)

    @hookimpl
    def syncpipe_declare_options(self) -> list[object]:
        return []

    @hookimpl
    def syncpipe_register_transforms(self) -> list[Transform]:
        return []


class First(Recorder):
    @hookimpl(tryfirst=True)
    def syncpipe_select(self) -> None:
        self.calls.append(self.name)

    @hookimpl(tryfirst=True)
    def syncpipe_action_done(self) -> None:
        self.calls.append(self.name)


class Last(Recorder):
    @hookimpl(trylast=True)
    def syncpipe_select(self) -> None:
        self.calls.append(self.name)

    @hookimpl(trylast=True)
    def syncpipe_action_done(self) -> None:
        self.calls.append(self.name)


def ordered_hooks(calls: list[str]) -> manager.Hooks:
    return hooks_with(
        ("last", Last("last", calls)),
        ("a", Recorder("a", calls)),
        ("first", First("first", calls)),
        ("b", Recorder("b", calls)),
    )


def test_select_runs_in_pluggys_order_last_registered_first_within_tryfirst_and_trylast() -> None:
    calls: list[str] = []
    ordered_hooks(calls).select(key=KEY, obj=OBJ, direction=Direction.DOWN)
    assert calls == ["first", "b", "a", "last"]


def test_observers_run_in_pluggys_order_too() -> None:
    calls: list[str] = []
    ordered_hooks(calls).action_done(action=ACTION, outcome=None)
    assert calls == ["first", "b", "a", "last"]


def test_a_failing_observer_is_logged_by_name_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[str] = []

    class Broken:
        @hookimpl
        def syncpipe_object_rejected(self) -> None:
            raise RuntimeError("observer bug")

    hooks = hooks_with(
        ("a", Recorder("a", calls)), ("broken", Broken()), ("b", Recorder("b", calls))
    )
    with caplog.at_level(logging.ERROR):
        hooks.object_rejected(key=KEY, error=ValueError("x"))
    assert calls == ["b", "a"]
    assert (
        "plugin 'broken' failed in syncpipe_object_rejected (ignored): RuntimeError" in caplog.text
    )


def test_a_wrapper_around_select_sees_and_may_change_the_opinions() -> None:
    class Veto:
        @hookimpl
        def syncpipe_select(self) -> bool:
            return False

    class Overrule:
        @hookimpl(wrapper=True)
        def syncpipe_select(self) -> Iterator[None]:
            opinions = yield
            return [o for o in opinions if o is not False] + [True]

    hooks = hooks_with(("veto", Veto()), ("overrule", Overrule()))
    assert hooks.select(key=KEY, obj=OBJ, direction=Direction.DOWN) is True


def test_a_wrapper_around_transform_registration_sees_each_plugins_transforms() -> None:
    def same(obj: dict, _ctx: SyncContext) -> dict:
        return obj

    class Contributes:
        @hookimpl
        def syncpipe_register_transforms(self) -> list[Transform]:
            return [Transform(name="keep", forward=same), Transform(name="drop", forward=same)]

    class Filter:
        @hookimpl(wrapper=True)
        def syncpipe_register_transforms(self) -> Iterator[None]:
            answers = yield
            return [[t for t in answer if t.name != "drop"] for answer in answers]

    hooks = hooks_with(("contributes", Contributes()), ("filter", Filter()))
    assert [(t.name, t.plugin) for t in hooks.transforms()] == [("keep", "contributes")]


def test_configure_is_historic_a_plugin_registered_later_is_configured_too() -> None:
    seen: list[str] = []

    class Late:
        @hookimpl
        def syncpipe_configure(self, ctx: SyncContext) -> None:
            seen.append(ctx.syncer_name)

    hooks = hooks_with()
    hooks.configure()
    hooks.pm.register(Late(), name="late")
    assert seen == ["s"]


def test_startup_hands_plugins_a_read_only_view_not_the_syncer() -> None:
    views: list[SyncerView] = []

    class Watcher:
        @hookimpl
        def syncpipe_startup(self, syncer: SyncerView) -> None:
            views.append(syncer)

    class FakeSyncer:
        from syncpipe.config.settings import Settings

        settings = Settings(syncer_name="edge1", write_concurrency=3)

        def describe(self) -> dict[str, list[str]]:
            return {"down": ["configmaps"], "up": []}

    hooks_with(("watcher", Watcher())).startup(FakeSyncer())
    (view,) = views
    assert (view.syncer_name, view.settings["write_concurrency"]) == ("edge1", 3)
    assert view.syncing == {"down": ("configmaps",), "up": ()}
    with pytest.raises(TypeError):
        view.settings["write_concurrency"] = 1  # type: ignore[index]


def test_tracing_covers_every_hook(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(manager.TRACE_ENV, "1")
    hooks = hooks_with(("a", Recorder("a", [])))
    with caplog.at_level(logging.DEBUG, logger="syncpipe.hooks.loading"):
        hooks.configure()
        hooks.transforms()
        hooks.namespace_mappers()
        hooks.select(key=KEY, obj=OBJ, direction=Direction.DOWN)
        hooks.ignored_fields(RESOURCE, Direction.DOWN)
        hooks.apply_action(action=ACTION, writer=_NoWriter())
        hooks.action_done(action=ACTION, outcome=None)
        hooks.object_rejected(key=KEY, error=ValueError("x"))
        hooks.startup(SyncerView(syncer_name="s"))
        hooks.shutdown(SyncerView(syncer_name="s"))
    traced = {name for name in _hook_names() if f"{name} [hook]" in caplog.text}
    assert traced == set(_hook_names())


class _NoWriter:
    def apply(self, _action: object) -> None:
        return None


def _hook_names() -> list[str]:
    from syncpipe.hooks import specs

    return [name for name in dir(specs) if name.startswith("syncpipe_")]
