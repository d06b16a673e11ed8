"""The event handlers of the pipeline's informers: what an event queues, and where.

Each is built once per informer (never per event) and runs on the informer's dispatch
thread (live) or synchronously (replay): no locks, no allocations beyond the queue's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from syncpipe.model.events import Direction, Event, EventType
from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import ResourceInfo
from syncpipe.runtime import routing
from syncpipe.runtime.flow import Flow
from syncpipe.runtime.statuspacing import StatusPacer

Handler = Callable[[Event], None]


class Queue(Protocol):
    """A work queue of keys (``runtime.workqueue.WorkQueue``, or a replay's scheduled one)."""

    def add(self, key: ObjectKey) -> None: ...

    def add_after(self, key: ObjectKey, delay: float) -> None:
        """Queue ``key`` in ``delay`` seconds of the driver's clock (at once if ``<= 0``)."""
        ...


def on_source(direction: Direction, flow: Flow, queue: Queue) -> Handler:
    """A source object changed: note it (inferred deletes count for the deletion guard) and
    queue its key where the change may need a write."""

    def handle(event: Event) -> None:
        if event.type is EventType.BOOKMARK:
            return
        flow.note_source_event(
            event.key,
            inferred_delete=event.type is EventType.DELETED and event.final_state_unknown,
        )
        if routing.needs_reconcile(direction, event):
            queue.add(event.key)

    return handle


def on_upstream_namespace(queue: Queue) -> Handler:
    """An upstream Namespace is gone: its copy may go now (downsync decides)."""

    def handle(event: Event) -> None:
        if event.type is EventType.DELETED:
            queue.add(event.key)

    return handle


def on_owned_copy(
    direction: Direction,
    info: ResourceInfo,
    *,
    flow: Flow,
    queue: Queue,
    status_queue: Queue,
    pacer: StatusPacer,
    status_return: bool,
    on_namespaced_delete: Callable[[], None],
) -> Handler:
    """An owned copy changed: reconcile its source's key unless the change is our own write
    coming back; return its status (paced); note that its namespace may be empty now."""
    status_on = routing.copies_return_status(direction, info, enabled=status_return)
    collects_namespaces = direction is Direction.DOWN and info.namespaced

    def handle(event: Event) -> None:
        if event.type is EventType.BOOKMARK or event.obj is None:
            return
        key = flow.source_key_of_copy(event.obj, event.key)
        if key is None:
            return
        echo = event.type in (EventType.ADDED, EventType.MODIFIED) and flow.is_own_echo(
            event.key, event.obj
        )
        if not echo and routing.needs_reconcile(direction, event):
            queue.add(key)
        if status_on and routing.target_needs_status_return(event):
            status_queue.add_after(key, pacer.delay(key))
        if collects_namespaces and event.type is EventType.DELETED:
            on_namespaced_delete()

    return handle
