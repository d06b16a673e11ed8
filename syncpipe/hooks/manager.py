"""A typed facade over the PluginManager, so no other code touches ``pm.hook``.

Every hook is called through pluggy (``pm.hook.NAME(...)``, or ``pm.subset_hook_caller`` where
an answer must be credited to its plugin), so pluggy's order, ``tryfirst``/``trylast``,
``wrapper=True`` implementations and tracing hold for all of them. The error policy lives here:

- per-object hooks (``syncpipe_select``, ``syncpipe_ignored_fields``) that raise or answer in
  the wrong shape raise ``ObjectHookError`` naming the plugin, the hook and the object; the
  controller rejects the object (reported once, tried again at its next change or resync);
- start-up hooks (declaring options, ``syncpipe_configure``, registering transforms and
  mappers) raise ``PluginLoadError`` naming the plugin and its distribution: one ``Error:``
  line, nothing written;
- observer hooks never fail the sync (``loading.PluginManager`` isolates each implementation).

Which plugin raised is read from the traceback (the deepest frame that is an implementation of
the hook), so the common path costs nothing extra.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

import attrs
import pluggy

from syncpipe import errors
from syncpipe.hooks import options
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.loading import (
    DISABLE_ENV,
    ENTRY_POINT_GROUP,
    ESSENTIAL_BUILTINS,
    TRACE_ENV,
    build,
    describe_exception,
    distribution_of,
)
from syncpipe.hooks.namespacemapper import IDENTITY, NamespaceMapper
from syncpipe.hooks.options import PluginOption
from syncpipe.hooks.transforms import (
    Transform,
    TransformFn,
    TransformStep,
    order_transforms,
    transform_steps,
)
from syncpipe.hooks.verdict import NOT_INCLUDED, SELECTED, SelectionVerdict
from syncpipe.hooks.view import RunningSyncer, SyncerView
from syncpipe.model.actions import Action, ActionWriter
from syncpipe.model.events import Direction
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import ResourceInfo

__all__ = [
    "DISABLE_ENV",
    "ENTRY_POINT_GROUP",
    "ESSENTIAL_BUILTINS",
    "TRACE_ENV",
    "Hooks",
    "build",
]

UNKNOWN_PLUGIN = "?"

T = TypeVar("T")


def _keep_typed_settings(hooks: Hooks, _attribute: object, ctx: SyncContext) -> SyncContext:
    """Once options are resolved, a context set later keeps their typed values (the drivers
    derive new contexts from the one they built before ``configure``)."""
    typed = hooks.typed_settings
    if typed is not None and ctx.plugin_settings is not typed:
        return attrs.evolve(ctx, plugin_settings=typed)
    return ctx


@attrs.define(eq=False)
class Hooks:
    """Typed calls into the plugin manager; caches what is asked once per resource."""

    pm: pluggy.PluginManager
    ctx: SyncContext = attrs.field(on_setattr=_keep_typed_settings)
    transform_order: tuple[str, ...] = ()
    typed_settings: dict[str, dict[str, Any]] | None = attrs.field(default=None, init=False)
    given_settings: Mapping[str, Mapping[str, Any]] | None = attrs.field(default=None, init=False)
    _transforms: tuple[Transform, ...] | None = None
    _options: dict[str, tuple[PluginOption, ...]] | None = None
    _ignored: dict[tuple[ResourceInfo, Direction], tuple[str, ...]] = attrs.field(factory=dict)
    _steps: dict[tuple[ResourceInfo | None, Direction], tuple[TransformStep, ...]] = attrs.field(
        factory=dict
    )

    # -- start-up ------------------------------------------------------------------------

    def declared_options(self) -> dict[str, tuple[PluginOption, ...]]:
        """Each plugin's declared options, by plugin name (plugins declaring none left out)."""
        if self._options is None:
            declared: dict[str, tuple[PluginOption, ...]] = {}
            for plugin, answer in self._answers_by_plugin("syncpipe_declare_options"):
                declared[plugin] = tuple(_items(answer, PluginOption, plugin=plugin, pm=self.pm))
            self._options = declared
        return self._options

    def configure(self) -> None:
        """Check and type ``--plugin-opt`` values, then tell every plugin the settings."""
        given = self.ctx.plugin_settings
        typed = options.resolve(
            given,
            declared=self.declared_options(),
            plugins=self.plugin_names(),
            ignored=[name for name in given if self.pm.is_blocked(name)],
        )
        self.given_settings = given
        self.typed_settings = typed
        self.ctx = attrs.evolve(self.ctx, plugin_settings=typed)
        hook = self.pm.hook.syncpipe_configure
        try:
            hook.call_historic(kwargs={"ctx": self.ctx})
        except Exception as exc:
            raise self._start_up_error(hook, exc) from exc

    def plugin_names(self) -> list[str]:
        """Every registered plugin's name (blocked ones excluded), in registration order."""
        return [name for name, plugin in self.pm.list_name_plugin() if plugin is not None]

    def transforms(self) -> tuple[Transform, ...]:
        """Every registered transform in run order; duplicate names are a plugin error."""
        if self._transforms is None:
            found: list[Transform] = []
            for plugin, answer in self._answers_by_plugin(
                "syncpipe_register_transforms", ctx=self.ctx
            ):
                for transform in _items(answer, Transform, plugin=plugin, pm=self.pm):
                    found.append(_credited(transform, plugin))
            seen: dict[str, str] = {}
            for t in found:
                if t.name in seen:
                    raise errors.PluginLoadError(
                        f"transform name {t.name!r} is registered twice ({seen[t.name]})",
                        plugin=t.plugin,
                        distribution=distribution_of(self.pm, t.plugin),
                    )
                seen[t.name] = t.plugin
            self._transforms = order_transforms(found, configured_order=self.transform_order)
        return self._transforms

    def transform_steps(
        self, resource: ResourceInfo | None, direction: Direction
    ) -> tuple[TransformStep, ...]:
        """The transform functions that run on an object of ``resource`` in ``direction``, in
        order: decided once per resource and direction, not per object."""
        cache_key = (resource, direction)
        steps = self._steps.get(cache_key)
        if steps is None:
            steps = transform_steps(
                self.transforms(), resource=resource, upward=direction is Direction.UP
            )
            self._steps[cache_key] = steps
        return steps

    def namespace_mappers(self) -> dict[str, NamespaceMapper]:
        mappers: dict[str, NamespaceMapper] = {IDENTITY.name: IDENTITY}
        hook = self.pm.hook.syncpipe_register_namespace_mappers
        try:
            answers = hook(ctx=self.ctx)
        except Exception as exc:
            raise self._start_up_error(hook, exc) from exc
        for result in answers:
            for mapper in result or ():
                mappers[mapper.name] = mapper
        return mappers

    # -- per object ----------------------------------------------------------------------

    def select(self, *, key: ObjectKey, obj: RawObject, direction: Direction) -> bool:
        """Whether the plugins select ``obj``: one pluggy call (a ``False`` vetoes)."""
        hook = self.pm.hook.syncpipe_select
        try:
            opinions = hook(key=key, obj=obj, direction=direction, ctx=self.ctx)
        except Exception as exc:  # the hot path: no helper call in between
            raise _object_error(hook, exc, subject=key) from exc
        return False if False in opinions else True in opinions

    def selection_verdict(
        self, *, key: ObjectKey, obj: RawObject, direction: Direction
    ) -> SelectionVerdict:
        """Whether the plugins select ``obj``, and which of them vetoed it.

        One pluggy call. The vetoers are read off its answers when every implementation
        answered and no wrapper could have changed them (pluggy returns the answers in call
        order); otherwise each implementation is asked again on its own (through
        ``pm.subset_hook_caller``): select hooks must be pure, so asking twice is safe.
        """
        opinions = self._opinions(key=key, obj=obj, direction=direction)
        if False not in opinions:
            return SELECTED if True in opinions else NOT_INCLUDED
        hook = self.pm.hook.syncpipe_select
        impls = hook.get_hookimpls()
        if len(impls) == len(opinions) and not any(i.wrapper or i.hookwrapper for i in impls):
            vetoers = tuple(
                impl.plugin_name
                for impl, answer in zip(reversed(impls), opinions, strict=True)
                if answer is False
            )
        else:
            vetoers = self._vetoers(key=key, obj=obj, direction=direction)
        return SelectionVerdict(selected=False, vetoed_by=vetoers)

    def _opinions(self, *, key: ObjectKey, obj: RawObject, direction: Direction) -> list[Any]:
        hook = self.pm.hook.syncpipe_select
        try:
            opinions: list[Any] = hook(key=key, obj=obj, direction=direction, ctx=self.ctx)
        except Exception as exc:
            raise _object_error(hook, exc, subject=key) from exc
        return opinions

    def _vetoers(self, *, key: ObjectKey, obj: RawObject, direction: Direction) -> tuple[str, ...]:
        return tuple(
            plugin
            for plugin, answer in self._answers_by_plugin(
                "syncpipe_select", key=key, obj=obj, direction=direction, ctx=self.ctx
            )
            if answer is False
        )

    def ignored_fields(self, resource: ResourceInfo, direction: Direction) -> tuple[str, ...]:
        cache_key = (resource, direction)
        if cache_key not in self._ignored:
            hook = self.pm.hook.syncpipe_ignored_fields
            try:
                answers = hook(resource=resource, direction=direction, ctx=self.ctx)
            except Exception as exc:
                raise _object_error(hook, exc, subject=resource.gvr) from exc
            pointers: set[str] = set()
            for result in answers:
                if isinstance(result, str):
                    raise self._string_for_pointers(resource, direction)
                pointers.update(result or ())
            self._ignored[cache_key] = tuple(sorted(pointers))
        return self._ignored[cache_key]

    def _string_for_pointers(
        self, resource: ResourceInfo, direction: Direction
    ) -> errors.ObjectHookError:
        answers = self._answers_by_plugin(
            "syncpipe_ignored_fields", resource=resource, direction=direction, ctx=self.ctx
        )
        plugin = next((p for p, a in answers if isinstance(a, str)), UNKNOWN_PLUGIN)
        return errors.ObjectHookError(
            "returned a string, not a list of JSON Pointers",
            plugin=plugin,
            hook="syncpipe_ignored_fields",
            subject=resource.gvr,
        )

    # -- writes and observers ------------------------------------------------------------

    def apply_action(self, *, action: Action, writer: ActionWriter) -> RawObject | None:
        """Carry out ``action``. API errors pass through to be classified as usual; anything
        else a plugin raises rejects the object, naming the plugin."""
        hook = self.pm.hook.syncpipe_apply_action
        try:
            outcome: RawObject | None = hook(action=action, writer=writer, ctx=self.ctx)
        except errors.SyncpipeError:
            raise
        except Exception as exc:
            raise _object_error(hook, exc, subject=action.key) from exc
        return outcome

    def action_done(self, *, action: Action, outcome: RawObject | None) -> None:
        hook = self.pm.hook.syncpipe_action_done
        if hook.get_hookimpls():  # after every write: no pluggy call when nobody observes
            hook(action=action, outcome=outcome, ctx=self.ctx)

    def object_rejected(self, *, key: ObjectKey, error: Exception) -> None:
        self.pm.hook.syncpipe_object_rejected(key=key, error=error, ctx=self.ctx)

    def startup(self, syncer: SyncerView | RunningSyncer) -> None:
        self.pm.hook.syncpipe_startup(syncer=self._view(syncer))

    def shutdown(self, syncer: SyncerView | RunningSyncer) -> None:
        self.pm.hook.syncpipe_shutdown(syncer=self._view(syncer))

    def _view(self, syncer: SyncerView | RunningSyncer) -> SyncerView:
        if isinstance(syncer, SyncerView):
            return syncer
        return SyncerView.of(syncer, selection=self.ctx.selection)

    # -- helpers -------------------------------------------------------------------------

    def _answers_by_plugin(self, hook_name: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        """Each implementing plugin's answer, in pluggy's call order, each asked through
        ``pm.subset_hook_caller`` with the other implementations removed (wrappers stay, so a
        wrapper sees each plugin's answer). For answers that must be credited to a plugin."""
        hook = getattr(self.pm.hook, hook_name)
        impls = [i for i in hook.get_hookimpls() if not (i.wrapper or i.hookwrapper)]
        for impl in reversed(impls):  # pluggy calls the last registered (and tryfirst) first
            others = [other.plugin for other in impls if other is not impl]
            alone = self.pm.subset_hook_caller(hook_name, remove_plugins=others)
            try:
                answers = alone(**kwargs)
            except Exception as exc:
                if "key" in kwargs:
                    raise _object_error(hook, exc, subject=kwargs["key"]) from exc
                raise self._start_up_error(hook, exc, default=impl.plugin_name) from exc
            yield impl.plugin_name, answers[0] if answers else None

    def _start_up_error(
        self, hook: pluggy.HookCaller, exc: Exception, *, default: str = UNKNOWN_PLUGIN
    ) -> errors.PluginError:
        if isinstance(exc, errors.PluginError):
            return exc
        plugin = culprit(hook, exc, default=default)
        return errors.PluginLoadError(
            f"{hook.name} failed: {describe_exception(exc)}",
            plugin=plugin,
            distribution=distribution_of(self.pm, plugin),
        )


def culprit(hook: pluggy.HookCaller, exc: BaseException, *, default: str = UNKNOWN_PLUGIN) -> str:
    """The plugin whose implementation of ``hook`` raised ``exc``: the deepest frame of the
    traceback that runs one of the hook's implementations."""
    plugin_of_code = {
        getattr(impl.function, "__code__", None): impl.plugin_name for impl in hook.get_hookimpls()
    }
    found = default
    tb = exc.__traceback__
    while tb is not None:
        found = plugin_of_code.get(tb.tb_frame.f_code, found)
        tb = tb.tb_next
    return found


def _object_error(
    hook: pluggy.HookCaller, exc: Exception, *, subject: object
) -> errors.ObjectHookError:
    if isinstance(exc, errors.ObjectHookError):
        return exc
    return errors.ObjectHookError(
        describe_exception(exc), plugin=culprit(hook, exc), hook=hook.name, subject=subject
    )


def _items(answer: object, kind: type[T], *, plugin: str, pm: pluggy.PluginManager) -> list[T]:
    """``answer`` as a list of ``kind``; any other shape is a start-up error naming the plugin."""
    if answer is None:
        return []
    expected = f"a list of {kind.__name__}"
    if isinstance(answer, kind | str | bytes | dict) or not isinstance(answer, Iterable):
        raise errors.PluginLoadError(
            f"must return {expected}, not {type(answer).__name__}",
            plugin=plugin,
            distribution=distribution_of(pm, plugin),
        )
    items = list(answer)
    for item in items:
        if not isinstance(item, kind):
            raise errors.PluginLoadError(
                f"must return {expected}; one item is a {type(item).__name__}",
                plugin=plugin,
                distribution=distribution_of(pm, plugin),
            )
    return items


def _credited(transform: Transform, plugin: str) -> Transform:
    """``transform`` credited to ``plugin``; a third-party one's functions are checked to
    return an object, so a ``None`` is blamed on them, not on the transform after them."""
    owner = transform.plugin or plugin
    if owner.startswith("builtin."):
        return attrs.evolve(transform, plugin=owner)
    return attrs.evolve(
        transform,
        plugin=owner,
        forward=_returning_object(transform.forward, "forward"),
        reverse=None
        if transform.reverse is None
        else _returning_object(transform.reverse, "reverse"),
    )


def _returning_object(function: TransformFn, role: str) -> TransformFn:
    @functools.wraps(function)
    def checked(obj: RawObject, ctx: SyncContext) -> RawObject:
        result = function(obj, ctx)
        if not isinstance(result, dict):
            raise TypeError(f"its {role} function returned {type(result).__name__}, not the object")
        return result

    return checked
