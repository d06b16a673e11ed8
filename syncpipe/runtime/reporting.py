"""What the live syncer tells about itself: rejected objects (Events, hooks), unreadable
sources, notices about the APIs a config names, and each SyncerConfig's conditions.

The conditions are a pure function of facts (``runtime.conditions``); this module gathers
the facts from the pipeline and from what it was told.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from syncpipe import errors
from syncpipe.clients.rest import RestClient
from syncpipe.config import configapi
from syncpipe.config.settings import Settings
from syncpipe.model.events import Direction
from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject
from syncpipe.runtime import conditions
from syncpipe.runtime.availability import ConfigNotice
from syncpipe.runtime.events import EventRecorder
from syncpipe.runtime.pipeline import Pipeline

log = logging.getLogger(__name__)

# The config object of a key, from the syncer's config informers (None: not there now).
ConfigLookup = Callable[[ObjectKey], RawObject | None]


class Reporting:
    """The live syncer's reports (see the module docstring)."""

    def __init__(
        self,
        *,
        settings: Settings,
        upstream: RestClient,
        downstream: RestClient,
        pipeline: Pipeline,
        config_object: ConfigLookup,
    ) -> None:
        self._pipeline = pipeline
        self._config_object = config_object
        self._events_up = EventRecorder(
            upstream, syncer_name=settings.syncer_name, kind_of=pipeline.kind_of
        )
        self._events_down = EventRecorder(
            downstream, syncer_name=settings.syncer_name, kind_of=pipeline.kind_of
        )
        # Rejected keys (as text) and why; a key that reconciles cleanly again is dropped.
        self.rejected: dict[str, str] = {}

    def report_rejected(self, key: ObjectKey, exc: Exception) -> None:
        """An object failed for good: remember it, tell the plugins, post an Event on it."""
        self.rejected[str(key)] = str(exc)
        flows = self._pipeline.flows
        self._pipeline.hooks.object_rejected(key=key, error=exc)
        recorder = self._events_up if key.gvr in flows[Direction.DOWN].sources else None
        if recorder is None and key.gvr in flows[Direction.UP].sources:
            recorder = self._events_down
        if recorder is not None:
            recorder.record(key, exc)

    def clear_rejected(self, key: ObjectKey) -> None:
        """A key that reconciled cleanly is no longer a problem to report."""
        if self.rejected:
            self.rejected.pop(str(key), None)

    def source_errors(self) -> list[str]:
        """Sources that cannot read their side now (RBAC revoked, token expired)."""
        found = []
        for flow in self._pipeline.flows.values():
            for gvr, state in list(flow.sources.items()):
                error = getattr(state.informer, "last_error", None)
                if isinstance(error, errors.ApiForbidden | errors.ApiUnauthorized):
                    found.append(f"{flow.direction.source.value} {gvr}: {error}")
        return found

    def config_event(self, notice: ConfigNotice) -> None:
        """Log ``notice`` and post it as an Event on its config (if the config is still there)."""
        kind, _, name = notice.ref.partition("/")
        if notice.event_type == "Warning":
            log.warning("%s: %s", notice.ref, notice.message)
        else:
            log.info("%s: %s", notice.ref, notice.message)
        gvr = configapi.CONFIG_KINDS.get(kind)
        key = None if gvr is None else ObjectKey(gvr, "", name)
        obj = None if key is None else self._config_object(key)
        if key is None or obj is None:
            return  # a config deleted meanwhile: nothing to tell
        self._events_up.post(
            key,
            kind=kind,
            uid=str((obj.get("metadata") or {}).get("uid", "")),
            reason=notice.reason,
            message=notice.message,
            event_type=notice.event_type,
        )

    def conditions_for(self, name: str) -> list[dict[str, str]]:
        """SyncerConfig ``name``'s conditions now."""
        pipeline = self._pipeline
        guard = pipeline.guard
        facts = conditions.ConfigFacts(
            config_problems=pipeline.config_problems.get(name, ()),
            unreadable=self.source_errors(),
            rejected=sorted(self.rejected.items())[: conditions.SHOWN_PER_REASON],
            selection_problems=pipeline.selection_problems,
            unserved=pipeline.apis.for_config(f"SyncerConfig/{name}"),
            held_deletions=len(guard.held) if guard.tripped else None,
            held_vetoed_by=guard.vetoes_held() if guard.tripped else (),
        )
        return conditions.conditions(facts)
