"""Add a ``example.com/team`` label to every object syncpipe writes downstream.

The team comes from ``--plugin-opt team-label.team=NAME`` (default ``edge``), a declared option:
syncpipe checks it at start-up and ``syncpipe plugins`` lists it. Going up (upsync) the label
is removed again, so the transform is reversible; status return writes only ``.status`` and
has nothing to undo here.
"""

from __future__ import annotations

from syncpipe.plugin import (
    PluginOption,
    RawObject,
    SyncContext,
    Transform,
    hookimpl,
    labels_of,
    with_labels,
)

PLUGIN = "team-label"
LABEL = "example.com/team"


def add_team_label(obj: RawObject, ctx: SyncContext) -> RawObject:
    """Set the team label to the ``team`` option."""
    return with_labels(obj, {LABEL: ctx.plugin_config(PLUGIN)["team"]})


def drop_team_label(obj: RawObject, ctx: SyncContext) -> RawObject:
    """Remove the team label again."""
    if LABEL not in labels_of(obj):
        return obj
    return with_labels(obj, {LABEL: None})


@hookimpl
def syncpipe_declare_options() -> list[PluginOption]:
    return [PluginOption(name="team", default="edge", help=f"the value of the {LABEL} label")]


@hookimpl
def syncpipe_register_transforms() -> list[Transform]:
    return [Transform(name="team-label", forward=add_team_label, reverse=drop_team_label)]
