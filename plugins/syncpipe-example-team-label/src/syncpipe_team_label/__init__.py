"""Add a ``example.com/team`` label to every object syncpipe writes downstream.

The team comes from ``--plugin-opt team-label.team=NAME`` (default ``edge``). Going up
(upsync) the label is removed again, so the transform is reversible; status return writes only
``.status`` and has nothing to undo here.
"""

from __future__ import annotations

from syncpipe.hooks import hookimpl
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.transforms import Transform
from syncpipe.model.objects import RawObject, labels_of, with_labels

LABEL = "example.com/team"


def add_team_label(obj: RawObject, ctx: SyncContext) -> RawObject:
    team = str(ctx.plugin_config("team-label").get("team", "edge"))
    return with_labels(obj, {LABEL: team})


def drop_team_label(obj: RawObject, ctx: SyncContext) -> RawObject:
    if LABEL not in labels_of(obj):
        return obj
    return with_labels(obj, {LABEL: None})


@hookimpl
def syncpipe_register_transforms() -> list[Transform]:
    return [Transform(name="team-label", forward=add_team_label, reverse=drop_team_label)]
