"""Every extension point of syncpipe, each a documented contract.

Hook names start with ``syncpipe_``; the entry-point group is ``syncpipe.plugins``. All hooks
are synchronous, fast and free of I/O: a plugin that needs outside data loads it in
``syncpipe_configure`` and caches it. Pluggy passes an implementation only the arguments it
names, so new arguments can be added to a spec without breaking existing plugins.

Every hook is called through pluggy: implementations run in pluggy's order (the last
registered first; ``tryfirst``/``trylast`` move one to the front or the back), ``wrapper=True``
implementations wrap them, and ``SYNCPIPE_TRACE_PLUGINS=1`` traces every call. CONTRIBUTING.md
("Write a plugin") is the author's guide: when each hook runs and what happens when it fails.
"""

# mypy: disable-error-code="empty-body"

from __future__ import annotations

from collections.abc import Iterable

import pluggy

from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.namespacemapper import NamespaceMapper
from syncpipe.hooks.options import PluginOption
from syncpipe.hooks.transforms import Transform
from syncpipe.hooks.view import SyncerView
from syncpipe.model.actions import Action, ActionWriter
from syncpipe.model.events import Direction
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import ResourceInfo

PROJECT = "syncpipe"
hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def syncpipe_declare_options() -> Iterable[PluginOption]:
    """Return the options this plugin takes (``--plugin-opt NAME.KEY=VALUE``).

    Called once at start-up, before ``syncpipe_configure``. Values are parsed to each option's
    type and checked before anything is written; unknown keys are refused. The plugin reads the
    typed values (defaults filled in) from ``ctx.plugin_config(NAME)``. A plugin that declares
    nothing receives its ``--plugin-opt`` values as strings, unchecked.

    .. versionadded:: 0.2
    """


@hookspec(historic=True)
def syncpipe_configure(ctx: SyncContext) -> None:
    """Settings are final: read what the plugin needs from ``ctx`` (e.g. ``ctx.plugin_config``).

    Called once at start-up, and replayed to plugins registered later. An exception stops the
    start-up with one ``Error:`` line naming the plugin and its distribution.

    .. versionadded:: 0.1
    """


@hookspec
def syncpipe_register_transforms(ctx: SyncContext) -> Iterable[Transform]:
    """Return the transforms this plugin contributes.

    Called once at start-up, once per implementing plugin (so each transform is credited to
    its plugin; a wrapper sees each plugin's answer). Return a list (or other iterable) of
    ``Transform``; the host orders them by ``(phase, name)``. Two transforms with one name, or
    an answer that is not an iterable of ``Transform``, stop the start-up.

    .. versionadded:: 0.1
    """


@hookspec
def syncpipe_register_namespace_mappers(ctx: SyncContext) -> Iterable[NamespaceMapper]:
    """Return the namespace mappers this plugin offers; the host uses the one configured by name.

    .. versionadded:: 0.1
    """


@hookspec
def syncpipe_select(
    key: ObjectKey, obj: RawObject, direction: Direction, ctx: SyncContext
) -> bool | None:
    """Give an opinion on whether this object takes part in syncing.

    Return ``False`` to exclude it (a veto: wins over any ``True``), ``True`` to include it,
    ``None`` for no opinion. An object nobody includes is not synced. Called for every change
    of every watched object, from worker threads: keep it fast and free of I/O; ``obj`` must
    not be modified. It must be pure: when an object is vetoed, each implementation may be
    asked again on its own to learn who vetoed. An exception rejects the object (an
    ``ObjectHookError`` naming the plugin), which is tried again at its next change or resync.

    .. versionadded:: 0.1
    """


@hookspec
def syncpipe_ignored_fields(
    resource: ResourceInfo, direction: Direction, ctx: SyncContext
) -> Iterable[str]:
    """Return JSON Pointers (``/spec/replicas``) the sink must neither set nor fight over.

    The union of all answers is used; called once per resource and direction (cached). Use it
    for fields another controller owns on the target side (an HPA's ``/spec/replicas``). An
    exception rejects the object being reconciled and is asked again for the next one.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def syncpipe_apply_action(
    action: Action, writer: ActionWriter, ctx: SyncContext
) -> RawObject | None:
    """Carry out one planned write and return its outcome; the first non-``None`` answer wins.

    The built-in implementation (``trylast``) writes through ``writer``; ``syncpipe plan``
    registers a ``tryfirst`` one that records the action instead. Wrappers
    (``wrapper=True``) see every write, e.g. to time it.

    .. versionadded:: 0.1
    """


@hookspec
def syncpipe_action_done(action: Action, outcome: RawObject | None, ctx: SyncContext) -> None:
    """A write was carried out; ``outcome`` is the object as the server answered (``None`` for
    a delete). Every implementation is called: one that raises is logged with its name and the
    others still run.

    .. versionadded:: 0.1
    """


@hookspec
def syncpipe_object_rejected(key: ObjectKey, error: Exception, ctx: SyncContext) -> None:
    """An object was rejected (invalid, conflict, a plugin failing on it); report it.

    Observer: one implementation that raises is logged with its name, the others still run.

    .. versionadded:: 0.1
    """


@hookspec
def syncpipe_startup(syncer: SyncerView) -> None:
    """The syncer process started (before the first sync); ``syncer`` is a read-only view.

    Observer: one implementation that raises is logged with its name, the others still run.

    .. versionadded:: 0.1
    """


@hookspec
def syncpipe_shutdown(syncer: SyncerView) -> None:
    """The syncer process is stopping (after in-flight writes were drained).

    Observer: one implementation that raises is logged with its name, the others still run.

    .. versionadded:: 0.1
    """
