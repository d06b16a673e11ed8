"""Carry out sink actions against one API server (the ``ObjectWriter`` the sink declares)."""

from __future__ import annotations

import logging
import threading

from syncpipe.clients.rest import RestClient
from syncpipe.model.actions import Action, Create, Delete, Patch
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject

log = logging.getLogger(__name__)


class ClusterWriter:
    """Writes to one side; returns the object as the server answered (``None`` for deletes).

    ``max_in_flight`` bounds the writes under way at once, whichever workers make them: the
    write concurrency is a promise to the API server, while the reconciles around the writes
    (hook chain, planning, cache reads) may run on more threads than that, so that the
    writes in flight do not drop while workers are busy computing.
    """

    def __init__(self, rest: RestClient, *, max_in_flight: int | None = None) -> None:
        self.rest = rest
        self._slots = threading.BoundedSemaphore(max_in_flight) if max_in_flight else None

    def apply(self, action: Action) -> RawObject | None:
        if self._slots is None:
            return self._write(action)
        with self._slots:
            return self._write(action)

    def _write(self, action: Action) -> RawObject | None:
        key = action.key
        if isinstance(action, Create):
            return self.rest.create(key.gvr, key.namespace, action.body)
        if isinstance(action, Patch):
            return self.rest.json_patch(
                key.gvr, key.namespace, key.name, action.ops, subresource=action.subresource
            )
        if isinstance(action, Delete):
            self.rest.delete(key.gvr, key.namespace, key.name, uid=action.uid)
            return None
        raise TypeError(f"unknown action {action!r}")

    def get(self, key: ObjectKey) -> RawObject | None:
        """The live object, read from the server (not a cache): used after a 409."""
        return self.rest.get_or_none(key.gvr, key.namespace, key.name)
