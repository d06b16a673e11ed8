"""Namespace prerequisites on the target side: the namespaces creates need, made sure of once.

What a namespace must be is decided by ``sink/reconcileplan.py`` (``NamespacePrerequisite``,
``namespace_body``, ``namespace_conflict``); this module does the I/O and remembers what it
learnt so that many workers creating objects in one namespace check it once:

- under a namespace mapping (downsync), a namespace is verified once before the first create
  into it (it must carry the locator of its upstream namespace; a missing one is created);
- otherwise a namespace is created only when a create finds it missing (``ensure``);
- a missing namespace whose source Namespace is selected too is created as that Namespace's
  desired copy, the very create its own reconcile makes (``reconcileplan.namespace_create``):
  one write whichever reconcile runs first; others are created bare (implicit namespaces);
- workers that all find one missing at once create it once; one found missing again later
  (someone deleted it) is created anew after ``NAMESPACE_RECHECK_SECONDS``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs

from syncpipe import errors
from syncpipe.hooks.context import SyncContext
from syncpipe.model.actions import Action, Create
from syncpipe.model.events import Direction
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject
from syncpipe.sink import reconcileplan
from syncpipe.sink.reconcileplan import NamespacePrerequisite

log = logging.getLogger(__name__)

# A namespace ensured within this many seconds is not created again by another worker.
NAMESPACE_RECHECK_SECONDS = 5.0


@attrs.define(eq=False)
class TargetNamespaces:
    """The target namespaces one flow made sure of."""

    direction: Direction
    # Reads one object from the target side's server (not a cache).
    get: Callable[[ObjectKey], RawObject | None]
    # Writes one action through the hooks (``Flow._apply``).
    apply: Callable[[Action], Any]
    ctx: Callable[[], SyncContext]
    # The desired copy of the named source-side Namespace when it is selected (None: it is not).
    selected_copy: Callable[[str], RawObject | None] = lambda _name: None
    # Writes the create of such a copy as the Namespace's own reconcile would (``Flow._apply``
    # remembering the result until the cache has it); default: ``apply``.
    create_copy: Callable[[Create], Any] | None = None
    _verified: set[str] = attrs.field(factory=set)
    _created: dict[str, float] = attrs.field(factory=dict)
    _locks: dict[str, threading.Lock] = attrs.field(factory=dict)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    def prepare(self, prerequisite: NamespacePrerequisite) -> None:
        """Before a create: under a mapping, make sure the namespace is ours (once)."""
        if not prerequisite.mapped or prerequisite.name in self._verified:
            return
        existing = self.get(reconcileplan.namespace_key(prerequisite.name))
        if existing is None:
            self.ensure(prerequisite)
        else:
            conflict = reconcileplan.namespace_conflict(prerequisite, existing, verifying=True)
            if conflict:
                raise errors.OwnershipConflict(conflict)
        self._verified.add(prerequisite.name)

    def ensure(self, prerequisite: NamespacePrerequisite) -> None:
        """Create a missing target namespace: as its selected source Namespace's desired copy,
        else bare and marked ours; an existing one is used as it is, except under a mapping
        where one without our locator is a collision: reported, never adopted."""
        with self._lock:
            namespace_lock = self._locks.setdefault(prerequisite.name, threading.Lock())
        with namespace_lock:  # one create per namespace, not one per waiting worker
            self._ensure_locked(prerequisite)

    def _ensure_locked(self, prerequisite: NamespacePrerequisite) -> None:
        name = prerequisite.name
        created = self._created.get(name)
        if created is not None and time.monotonic() - created < NAMESPACE_RECHECK_SECONDS:
            return
        source = prerequisite.source_namespace
        body, is_copy = reconcileplan.namespace_create(
            prerequisite,
            selected=self.selected_copy(source) if source else None,
            upsync=self.direction is Direction.UP,
            ctx=self.ctx(),
        )
        key = reconcileplan.namespace_key(name)
        create = Create(side=self.direction.target, key=key, body=body)
        write = self.create_copy if is_copy and self.create_copy is not None else self.apply
        try:
            write(create)
            log.info("%s: created namespace %s", self.direction.value, name)
        except errors.ApiAlreadyExists:
            existing = self.get(key) if prerequisite.mapped else None
            conflict = reconcileplan.namespace_conflict(
                prerequisite, existing or {}, verifying=False
            )
            if conflict:
                raise errors.OwnershipConflict(conflict) from None
        self._created[name] = time.monotonic()
