"""What the syncer's own writes to its copies returned, until the copies' cache shows it.

A copy's cache follows a watch, which lags the writes made to the copy: right after a write
the cache still shows the version the write replaced, and reconciling from it would make
the same write again. So each write to a copy is remembered with the versions it replaced,
and while the cache shows one of them the live copy is the last write's result.

The versions replaced form a chain: when the watch is down (the target's API server
restarted, the watch is in backoff) several writes to one copy go by before the cache moves,
each planned on the previous write's result; when the watch comes back it may replay them
all, one event per version (a watch resumed from the resourceVersion it had, still inside
the server's history window). Every version of the chain is ours and older than the last
result, so none of them may cause a write. A version outside the chain is somebody else's
change (or a relist) and ends the record.

Only the worker holding a copy's key writes it (one record per key at a time), but the
watch's dispatch thread ends records on echoes: the compound steps take a lock.
"""

from __future__ import annotations

import threading

import attrs

from syncpipe.model.keys import ObjectKey
from syncpipe.model.objects import RawObject, resource_version_of

# The most versions a record keeps: beyond that the oldest are forgotten, which costs at most
# one repeated write should the watch replay that far back.
MAX_CHAIN = 64


@attrs.frozen
class OwnWrite:
    """The last write to one copy: ``replaced`` the versions (``None``: absent) the cache may
    still show instead of ``result`` (``None``: the copy was deleted), oldest first."""

    replaced: tuple[str | None, ...]
    result: RawObject | None

    @property
    def result_version(self) -> str | None:
        return resource_version_of(self.result) if self.result is not None else None


def _version(obj: RawObject | None) -> str | None:
    return resource_version_of(obj) if obj is not None else None


class OwnWrites:
    """The records of the writes to each copy (see the module docstring)."""

    def __init__(self) -> None:
        self._records: dict[ObjectKey, OwnWrite] = {}
        self._lock = threading.Lock()

    def wrote(self, key: ObjectKey, before: RawObject | None, result: RawObject | None) -> None:
        """A write to ``key``'s copy, planned on ``before``, returned ``result``."""
        before_version = _version(before)
        replaced: tuple[str | None, ...] = (before_version,)
        with self._lock:
            previous = self._records.get(key)
            if previous is not None and previous.result_version == before_version:
                replaced = (*previous.replaced, before_version)[-MAX_CHAIN:]
            self._records[key] = OwnWrite(replaced=replaced, result=result)

    def live(self, key: ObjectKey, cached: RawObject | None) -> RawObject | None:
        """The live copy: ``cached``, unless the cache still shows a version our writes
        replaced, in which case the last write's result."""
        record = self._records.get(key)
        if record is None:
            return cached
        if _version(cached) in record.replaced:
            return record.result
        with self._lock:
            if self._records.get(key) is record:  # not a newer write's record
                del self._records[key]
        return cached

    def is_echo(self, key: ObjectKey, copy: RawObject) -> bool:
        """Whether ``copy`` is exactly what the last write to it returned (its watch echo).

        When the chain began with the copy absent (a create), the echo also ends the record:
        the cache now holds the copy, and kept longer the record would hide a later deletion
        of the copy (cache ``None`` is a version the chain replaced). Otherwise the record
        stays until a reconcile finds the cache moved on: a replay may still show an older
        version (a recorded event arriving after the replay's own write)."""
        record = self._records.get(key)
        if record is None or record.result is None:
            return False
        version = resource_version_of(copy)
        if not version or version != record.result_version:
            return False
        if None in record.replaced:
            with self._lock:
                if self._records.get(key) is record:
                    del self._records[key]
        return True
