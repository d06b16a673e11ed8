"""The default ``syncpipe_apply_action``: hand the action to the target side's writer.

Registered ``trylast`` so a dry-run plugin (``syncpipe plan``) can answer first and nothing is
written.
"""

from __future__ import annotations

from typing import Any

from syncpipe.hooks import hookimpl


@hookimpl(trylast=True)
def syncpipe_apply_action(action: Any, writer: Any) -> Any:
    return writer.apply(action)
