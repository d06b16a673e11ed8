"""The answer to "does this object take part in syncing?", with who vetoed it."""

from __future__ import annotations

import attrs


@attrs.frozen
class SelectionVerdict:
    """The combined ``syncpipe_select`` opinions on one object.

    ``selected`` is ``False`` when a plugin vetoed (answered ``False``) or nobody included the
    object; ``vetoed_by`` names the plugins that answered ``False``, in pluggy's call order
    (empty when nobody vetoed).
    """

    selected: bool
    vetoed_by: tuple[str, ...] = ()


SELECTED = SelectionVerdict(selected=True)
NOT_INCLUDED = SelectionVerdict(selected=False)
