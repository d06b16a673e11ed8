"""Stage 2: the pluggy surface. Plugin authors import ``hookimpl`` from here (or ``syncpipe``)."""

import pluggy

hookimpl = pluggy.HookimplMarker("syncpipe")

__all__ = ["hookimpl"]
