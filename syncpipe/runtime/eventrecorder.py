"""Kubernetes Events for objects syncpipe could not sync, where users look: the mailbox side.

An Event is recorded on the upstream object the problem is about (for upsync: on the
downstream object), with reason ``SyncRejected``/``SyncConflict``/``SyncDenied`` and the
error's message. The syncer also posts Events on its configs (``post``): ``APIsNotServed``
when entries name resources not served, ``APIsServed`` once they all are. Repeats of the
same problem for the same object within ``DEDUP_SECONDS`` are dropped, so a hot failure
cannot flood the API server with Events.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable

from syncpipe import errors
from syncpipe.clients.rest import RestClient
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import GroupVersionResource

log = logging.getLogger(__name__)

EVENTS = GroupVersionResource("", "v1", "events")
DEDUP_SECONDS = 600.0
COMPONENT = "syncpipe"


def reason_for(exc: Exception) -> str:
    if isinstance(exc, errors.OwnershipConflict):
        return "SyncConflict"
    if isinstance(exc, errors.ApiForbidden | errors.ApiUnauthorized):
        return "SyncDenied"
    if isinstance(exc, errors.DeletionRefused):
        return "DeletionHeld"
    if getattr(exc, "managers", None):
        return "FieldFight"
    return "SyncRejected"


class EventRecorder:
    """Posts deduplicated Events about object keys to one API server."""

    def __init__(
        self,
        rest: RestClient,
        *,
        syncer_name: str,
        kind_of: Callable[[ObjectKey], str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rest = rest
        self._syncer_name = syncer_name
        self._kind_of = kind_of
        self._clock = clock
        self._lock = threading.Lock()
        self._recent: dict[tuple[ObjectKey, str], float] = {}

    def record(self, key: ObjectKey, exc: Exception) -> bool:
        """Post an Event for ``exc`` on ``key``; False when deduplicated or not possible."""
        return self.post(key, kind=self._kind_of(key), reason=reason_for(exc), message=str(exc))

    def post(
        self,
        key: ObjectKey,
        *,
        kind: str,
        reason: str,
        message: str,
        event_type: str = "Warning",
        uid: str = "",
    ) -> bool:
        """Post an Event about ``key`` (deduplicated like ``record``); ``uid`` lets
        ``kubectl describe`` find it."""
        message = message[:1000]
        now = self._clock()
        with self._lock:
            last = self._recent.get((key, message))
            if last is not None and now - last < DEDUP_SECONDS:
                return False
            self._recent[(key, message)] = now
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        namespace = key.namespace or "default"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{key.name[:50]}.", "namespace": namespace},
            "involvedObject": {
                "apiVersion": key.gvr.api_version,
                "kind": kind,
                "name": key.name,
                **({"namespace": key.namespace} if key.namespace else {}),
                **({"uid": uid} if uid else {}),
            },
            "reason": reason,
            "message": message,
            "type": event_type,
            "source": {"component": f"{COMPONENT}/{self._syncer_name}"},
            "reportingComponent": COMPONENT,
            "reportingInstance": self._syncer_name,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        try:
            self._rest.create(EVENTS, namespace, event)
        except errors.ApiError as err:
            log.debug("could not record an Event for %s: %s", key, err)
            return False
        return True
