"""The stable surface for plugin authors: import everything a plugin needs from here.

    from syncpipe.plugin import PluginOption, SyncContext, Transform, hookimpl, with_labels

What this module exports is syncpipe's plugin API, versioned by ``API_VERSION``
(``MAJOR.MINOR``): a minor version adds (a hook, a hook argument, a context field, a helper)
and never breaks a plugin written for an earlier minor version; anything removed or changed
incompatibly bumps the major version, after a release in which the old form still works and
warns (``DeprecationWarning``). Everything else in the package is internal and may change in
any release. The hooks and their contracts are in ``syncpipe.hooks.specs``; CONTRIBUTING.md
("Write a plugin") is the guide.
"""

from __future__ import annotations

from syncpipe.config.durations import Duration
from syncpipe.config.mergedselection import Selection
from syncpipe.errors import ObjectHookError, PluginError, PluginOptionError, TransformError
from syncpipe.hooks import hookimpl
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.loading import ENTRY_POINT_GROUP
from syncpipe.hooks.namespacemapper import NamespaceMapper
from syncpipe.hooks.options import PluginOption
from syncpipe.hooks.transforms import Phase, Transform, TransformFn, every_resource
from syncpipe.hooks.view import SyncerView
from syncpipe.model.actions import Action, ActionWriter, Create, Delete, Patch
from syncpipe.model.events import Direction, Side
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import (
    RawObject,
    annotations_of,
    labels_of,
    meta,
    name_of,
    namespace_of,
    with_annotations,
    with_labels,
    with_metadata,
    without_fields,
)
from syncpipe.model.resources import GroupVersionResource, ResourceInfo

API_VERSION = "1.0"

__all__ = [
    "API_VERSION",
    "ENTRY_POINT_GROUP",
    "Action",
    "ActionWriter",
    "Create",
    "Delete",
    "Direction",
    "Duration",
    "GroupVersionResource",
    "NamespaceMapper",
    "ObjectHookError",
    "ObjectKey",
    "Patch",
    "Phase",
    "PluginError",
    "PluginOption",
    "PluginOptionError",
    "RawObject",
    "ResourceInfo",
    "Selection",
    "Side",
    "SyncContext",
    "SyncerView",
    "Transform",
    "TransformError",
    "TransformFn",
    "annotations_of",
    "every_resource",
    "hookimpl",
    "labels_of",
    "meta",
    "name_of",
    "namespace_of",
    "with_annotations",
    "with_labels",
    "with_metadata",
    "without_fields",
]
