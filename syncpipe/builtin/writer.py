"""The default ``syncpipe_apply_action``: hand the action to the target side's writer.

Registered ``trylast`` so a dry-run plugin (``syncpipe plan``) can answer first and nothing is
written.
"""

from __future__ import annotations

from syncpipe.hooks import hookimpl
from syncpipe.model.actions import Action, ActionWriter
from syncpipe.model.objects import RawObject


@hookimpl(trylast=True)
def syncpipe_apply_action(action: Action, writer: ActionWriter) -> RawObject | None:
    return writer.apply(action)
