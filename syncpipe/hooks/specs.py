"""Every extension point of syncpipe, each a documented contract.

Hook names start with ``syncpipe_``; the entry-point group is ``syncpipe.plugins``. All hooks
are synchronous, fast and free of I/O: a plugin that needs outside data loads it in
``syncpipe_configure`` and caches it. Pluggy passes an implementation only the arguments it
names, so new arguments can be added to a spec without breaking existing plugins.
"""

# mypy: disable-error-code="empty-body"

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pluggy

from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.namespaces import NamespaceMapper
from syncpipe.hooks.transforms import Transform
from syncpipe.model.events import Direction
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import ResourceInfo

PROJECT = "syncpipe"
hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec(historic=True)
def syncpipe_configure(ctx: SyncContext) -> None:
    """Settings are final: read what the plugin needs from ``ctx`` (e.g. ``ctx.plugin_config``).

    Called once at start-up, and replayed to plugins registered later.

    .. versionadded:: 0.1
    """


@hookspec
def syncpipe_register_transforms(ctx: SyncContext) -> Iterable[Transform]:
    """Return the transforms this plugin contributes.

    Called once at start-up. Results are concatenated; the host orders them by
    ``(phase, configured position, name)``. Two transforms with one name are an error.

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
    not be modified.

    .. versionadded:: 0.1
    """


@hookspec
def syncpipe_ignored_fields(
    resource: ResourceInfo, direction: Direction, ctx: SyncContext
) -> Iterable[str]:
    """Return JSON Pointers (``/spec/replicas``) the sink must neither set nor fight over.

    The union of all answers is used; called once per resource and direction (cached). Use it
    for fields another controller owns on the target side (an HPA's ``/spec/replicas``).

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def syncpipe_apply_action(action: Any, writer: Any, ctx: SyncContext) -> Any:
    """Carry out one planned write and return its outcome; the first non-``None`` answer wins.

    The built-in implementation (``trylast``) writes through ``writer``; ``syncpipe plan``
    registers a ``tryfirst`` one that records the action instead. Wrappers
    (``wrapper=True``) see every write, e.g. to time it.

    .. versionadded:: 0.1
    """


@hookspec
def syncpipe_action_done(action: Any, outcome: Any, ctx: SyncContext) -> None:
    """A write was carried out. Every implementation is called; exceptions are logged only.

    .. versionadded:: 0.1
    """


@hookspec
def syncpipe_object_rejected(key: ObjectKey, error: Exception, ctx: SyncContext) -> None:
    """An object failed for good (invalid, conflict, transform error); report it.

    .. versionadded:: 0.1
    """


@hookspec
def syncpipe_startup(syncer: Any) -> None:
    """The syncer process started (before the first sync). ``syncer`` is the running Syncer.

    .. versionadded:: 0.1
    """


@hookspec
def syncpipe_shutdown(syncer: Any) -> None:
    """The syncer process is stopping (after in-flight writes were drained).

    .. versionadded:: 0.1
    """
