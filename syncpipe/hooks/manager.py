"""Assemble the PluginManager and offer a typed facade, so no other code touches ``pm.hook``.

Assembly order is fixed (specs → entry points minus the disabled ones → built-in modules →
``check_pending``) so runs are reproducible, but no hook's meaning depends on it: per-object
hooks combine order-independently and transforms are ordered by the host.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Any

import attrs
import pluggy

from syncpipe import errors
from syncpipe.hooks import specs
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.namespaces import IDENTITY, NamespaceMapper
from syncpipe.hooks.transforms import Transform, order_transforms
from syncpipe.hooks.verdict import NOT_INCLUDED, SELECTED, SelectionVerdict
from syncpipe.model.events import Direction
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import ResourceInfo

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "syncpipe.plugins"
DISABLE_ENV = "SYNCPIPE_DISABLE_PLUGINS"
TRACE_ENV = "SYNCPIPE_TRACE_PLUGINS"


def build(
    *,
    builtins: Sequence[ModuleType] = (),
    extra: Sequence[object] = (),
    load_entry_points: bool = True,
    disabled: Iterable[str] = (),
) -> pluggy.PluginManager:
    """A PluginManager with our specs, third-party entry points, extra plugins and built-ins."""
    pm = pluggy.PluginManager(specs.PROJECT)
    pm.add_hookspecs(specs)
    blocked = set(disabled) | {
        name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip()
    }
    for name in sorted(blocked):
        pm.set_blocked(name)
    if load_entry_points:
        try:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except pluggy.PluginValidationError as exc:
            raise errors.PluginLoadError(str(exc), plugin=str(exc.plugin)) from exc
        except Exception as exc:
            raise errors.PluginLoadError(f"failed to load: {exc}", plugin="entry point") from exc
    for plugin in extra:
        pm.register(plugin)
    for module in builtins:
        name = module.__name__.rsplit(".", 1)[-1]
        if name not in blocked and not pm.is_registered(module):
            pm.register(module, name=f"builtin.{name}")
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise errors.PluginLoadError(str(exc), plugin=str(exc.plugin)) from exc
    if os.environ.get(TRACE_ENV):
        pm.trace.root.setwriter(lambda text: log.debug("hook: %s", text.rstrip()))
        pm.enable_tracing()
    return pm


@attrs.define(eq=False)
class Hooks:
    """Typed calls into the plugin manager; caches what is asked once per resource."""

    pm: pluggy.PluginManager
    ctx: SyncContext
    transform_order: tuple[str, ...] = ()
    _transforms: tuple[Transform, ...] | None = None
    _ignored: dict[tuple[ResourceInfo, Direction], tuple[str, ...]] = attrs.field(factory=dict)

    def configure(self) -> None:
        self.pm.hook.syncpipe_configure.call_historic(kwargs={"ctx": self.ctx})

    def transforms(self) -> tuple[Transform, ...]:
        """Every registered transform in run order; duplicate names are a plugin error."""
        if self._transforms is None:
            found: list[Transform] = []
            for impl_result, plugin in self._results_with_plugins(
                "syncpipe_register_transforms", ctx=self.ctx
            ):
                for transform in impl_result or ():
                    found.append(attrs.evolve(transform, plugin=transform.plugin or plugin))
            seen: dict[str, str] = {}
            for t in found:
                if t.name in seen:
                    raise errors.PluginError(
                        f"transform name {t.name!r} is registered twice ({seen[t.name]})",
                        plugin=t.plugin,
                    )
                seen[t.name] = t.plugin
            self._transforms = order_transforms(found, configured_order=self.transform_order)
        return self._transforms

    def namespace_mappers(self) -> dict[str, NamespaceMapper]:
        mappers: dict[str, NamespaceMapper] = {IDENTITY.name: IDENTITY}
        for result in self.pm.hook.syncpipe_register_namespace_mappers(ctx=self.ctx):
            for mapper in result or ():
                mappers[mapper.name] = mapper
        return mappers

    def select(self, *, key: ObjectKey, obj: RawObject, direction: Direction) -> bool:
        return self.selection_verdict(key=key, obj=obj, direction=direction).selected

    def selection_verdict(
        self, *, key: ObjectKey, obj: RawObject, direction: Direction
    ) -> SelectionVerdict:
        """Whether the plugins select ``obj``, and which of them vetoed it.

        The common case is one pluggy call. Only on a veto is each implementation asked again
        on its own (through ``pm.subset_hook_caller``) to learn who said ``False``: select hooks
        must be pure, so asking twice is safe.
        """
        opinions = self.pm.hook.syncpipe_select(key=key, obj=obj, direction=direction, ctx=self.ctx)
        if False in opinions:
            return SelectionVerdict(
                selected=False,
                vetoed_by=self._vetoers(key=key, obj=obj, direction=direction),
            )
        return SELECTED if True in opinions else NOT_INCLUDED

    def _vetoers(self, *, key: ObjectKey, obj: RawObject, direction: Direction) -> tuple[str, ...]:
        caller = self.pm.hook.syncpipe_select
        impls = [
            impl for impl in caller.get_hookimpls() if not impl.hookwrapper and not impl.wrapper
        ]
        vetoers = []
        for impl in reversed(impls):  # pluggy calls the last registered (and tryfirst) first
            others = [other.plugin for other in impls if other is not impl]
            alone = self.pm.subset_hook_caller("syncpipe_select", remove_plugins=others)
            if False in alone(key=key, obj=obj, direction=direction, ctx=self.ctx):
                vetoers.append(impl.plugin_name)
        return tuple(vetoers)

    def ignored_fields(self, resource: ResourceInfo, direction: Direction) -> tuple[str, ...]:
        cache_key = (resource, direction)
        if cache_key not in self._ignored:
            pointers: set[str] = set()
            for result in self.pm.hook.syncpipe_ignored_fields(
                resource=resource, direction=direction, ctx=self.ctx
            ):
                pointers.update(result or ())
            self._ignored[cache_key] = tuple(sorted(pointers))
        return self._ignored[cache_key]

    def apply_action(self, *, action: Any, writer: Any) -> Any:
        return self.pm.hook.syncpipe_apply_action(action=action, writer=writer, ctx=self.ctx)

    def action_done(self, *, action: Any, outcome: Any) -> None:
        self._notify("syncpipe_action_done", action=action, outcome=outcome, ctx=self.ctx)

    def object_rejected(self, *, key: ObjectKey, error: Exception) -> None:
        self._notify("syncpipe_object_rejected", key=key, error=error, ctx=self.ctx)

    def startup(self, syncer: Any) -> None:
        self._notify("syncpipe_startup", syncer=syncer)

    def shutdown(self, syncer: Any) -> None:
        self._notify("syncpipe_shutdown", syncer=syncer)

    def _notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call every implementation; one failing observer must not stop the others or the sync."""
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            try:
                impl.function(*[kwargs[arg] for arg in impl.argnames])
            except Exception:
                log.exception("plugin %s failed in %s", impl.plugin_name, hook_name)

    def _results_with_plugins(self, hook_name: str, **kwargs: Any) -> list[tuple[Any, str]]:
        results = []
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            name = impl.plugin_name
            try:
                results.append((impl.function(*[kwargs[arg] for arg in impl.argnames]), name))
            except Exception as exc:
                raise errors.PluginError(f"{hook_name} failed: {exc}", plugin=name) from exc
        return results
