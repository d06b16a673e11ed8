"""Assemble the PluginManager: specs, installed entry points, extra plugins, built-ins.

Assembly order is fixed (specs → entry points minus the disabled ones → extra plugins →
built-in modules → ``check_pending``) so runs are reproducible. pluggy calls the last
registered implementation first, so the built-ins' opinions come before third-party ones
unless an implementation says ``tryfirst``/``trylast``; no hook's meaning depends on that order
(per-object answers are combined order-independently, transforms are ordered by the host).

Observer hooks (``OBSERVER_HOOKS``) are isolated per implementation: at registration each
observer implementation is wrapped so that an exception is logged with the plugin's name and
the others still run, while the call itself stays one pluggy call (its order, wrappers and
tracing unchanged). Why not a host ``wrapper=True`` implementation: a wrapper sees the whole
call, so one failing observer would still end the call before the later ones.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any

import pluggy

from syncpipe import errors
from syncpipe.hooks import specs

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "syncpipe.plugins"
DISABLE_ENV = "SYNCPIPE_DISABLE_PLUGINS"
TRACE_ENV = "SYNCPIPE_TRACE_PLUGINS"
BUILTIN_PREFIX = "builtin."

OBSERVER_HOOKS = (
    "syncpipe_action_done",
    "syncpipe_object_rejected",
    "syncpipe_startup",
    "syncpipe_shutdown",
)

# Built-ins whose absence would silently break the sync rather than change it.
ESSENTIAL_BUILTINS: Mapping[str, str] = {
    "selection": "without it no SyncerConfig selects anything and every copy is deleted",
    "strip": "without it server fields (uid, resourceVersion) are copied and writes fail",
    "namespaces": "without it a configured namespace mapping is silently not applied",
    "ownership": "without it the syncer cannot tell its copies from others' objects",
    "writer": "without it nothing is written and every write reports nothing",
}


class PluginManager(pluggy.PluginManager):
    """pluggy's manager; observer implementations are isolated from each other."""

    def register(self, plugin: object, name: str | None = None) -> str | None:
        plugin_name = super().register(plugin, name)
        if plugin_name is not None:
            for hook_name in OBSERVER_HOOKS:
                for impl in getattr(self.hook, hook_name).get_hookimpls():
                    if impl.plugin is plugin and not (impl.wrapper or impl.hookwrapper):
                        impl.function = _isolated(impl.function, plugin_name, hook_name)
        return plugin_name


def _isolated(function: Callable[..., Any], plugin: str, hook: str) -> Callable[..., Any]:
    @functools.wraps(function)
    def call(*args: Any) -> Any:
        try:
            return function(*args)
        except Exception as exc:
            # One line per failure (a broken observer fails on every write); the traceback
            # at debug level.
            log.error("plugin %r failed in %s (ignored): %s", plugin, hook, describe_exception(exc))
            log.debug("plugin %r failed in %s", plugin, hook, exc_info=exc)
            return None

    return call


def build(
    *,
    builtins: Sequence[ModuleType] = (),
    extra: Sequence[object] = (),
    load_entry_points: bool = True,
    disabled: Iterable[str] = (),
) -> PluginManager:
    """A PluginManager with our specs, third-party entry points, extra plugins and built-ins.

    Raises ``PluginError`` when an essential built-in is disabled and ``PluginLoadError``
    naming the entry point and its distribution when one cannot be loaded.
    """
    pm = PluginManager(specs.PROJECT)
    pm.add_hookspecs(specs)
    blocked = set(disabled) | {
        name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip()
    }
    refuse_disabling_essentials(blocked)
    for name in sorted(blocked):
        pm.set_blocked(name)
    if load_entry_points:
        _load_entry_points(pm)
    for plugin in extra:
        pm.register(plugin)
    for module in builtins:
        name = module.__name__.rsplit(".", 1)[-1]
        if {name, BUILTIN_PREFIX + name}.isdisjoint(blocked) and not pm.is_registered(module):
            pm.register(module, name=BUILTIN_PREFIX + name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        plugin = pm.get_name(exc.plugin) or str(exc.plugin)
        raise errors.PluginLoadError(
            str(exc), plugin=plugin, distribution=distribution_of(pm, plugin)
        ) from exc
    if os.environ.get(TRACE_ENV):
        pm.trace.root.setwriter(lambda text: log.debug("hook: %s", text.rstrip()))
        pm.enable_tracing()
    return pm


def refuse_disabling_essentials(names: Iterable[str]) -> None:
    """Raise ``PluginError`` when ``names`` include an essential built-in (with or without
    its ``builtin.`` prefix)."""
    for name in sorted(names):
        short = name.removeprefix(BUILTIN_PREFIX)
        if short in ESSENTIAL_BUILTINS:
            raise errors.PluginError(
                f"cannot be disabled: {ESSENTIAL_BUILTINS[short]} (essential built-ins: "
                f"{', '.join(sorted(ESSENTIAL_BUILTINS))})",
                plugin=name,
            )


def _load_entry_points(pm: PluginManager) -> None:
    try:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    except Exception as exc:
        # pluggy loads entry points in this same order and registers each before the next:
        # the first one neither registered nor blocked is the one that failed.
        for dist, entry_point in _entry_points():
            if pm.get_plugin(entry_point.name) is None and not pm.is_blocked(entry_point.name):
                raise errors.PluginLoadError(
                    f"cannot load {entry_point.value!r}: {describe_exception(exc)}",
                    plugin=entry_point.name,
                    distribution=_label(dist),
                ) from exc
        raise errors.PluginLoadError(describe_exception(exc), plugin="?") from exc


def _entry_points() -> Iterable[tuple[importlib.metadata.Distribution, Any]]:
    for dist in list(importlib.metadata.distributions()):
        for entry_point in dist.entry_points:
            if entry_point.group == ENTRY_POINT_GROUP:
                yield dist, entry_point


def _label(dist: importlib.metadata.Distribution) -> str:
    return f"{dist.metadata['name']} {dist.version}"


def distribution_of(pm: pluggy.PluginManager, plugin_name: str) -> str:
    """``"name version"`` of the distribution that installed ``plugin_name``; ``"built-in"``
    for syncpipe's own; ``""`` for plugins registered in code (tests, ``syncpipe plan``)."""
    if plugin_name.startswith(BUILTIN_PREFIX):
        return "built-in"
    plugin = pm.get_plugin(plugin_name)
    for registered, dist in pm.list_plugin_distinfo():
        if registered is plugin:
            return f"{dist.project_name} {dist.version}"
    return ""


def describe_exception(exc: BaseException) -> str:
    """``Type: message``, the one line an error report shows of an exception."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
