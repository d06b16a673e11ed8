"""Fakes for the source stage: a scripted ListerWatcher, a fake clock and a recording sleep.

A script is the whole conversation with the "server": the answers to successive ``list`` calls and
the streams of successive ``watch`` calls. Once the watch script is used up, ``watch`` calls
``on_exhausted`` (tests pass ``reflector.stop`` to run the loop synchronously) and then returns a
stream that blocks until closed — exactly what a quiet real watch does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from syncpipe.model.objects import RawObject
from syncpipe.model.resources import GroupVersionResource

CONFIGMAPS = GroupVersionResource("", "v1", "configmaps")

# A stream step: a (type, object) event, an exception to raise, or a callable run in between
# (e.g. to advance the fake clock while the watch is "healthy").
Step = tuple[str, RawObject] | BaseException | Callable[[], object]


def configmap(name: str, rv: str, *, namespace: str = "default", **data: str) -> RawObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": rv},
        "data": dict(data),
    }


def bookmark(rv: str) -> tuple[str, RawObject]:
    return ("BOOKMARK", {"kind": "ConfigMap", "metadata": {"resourceVersion": rv}})


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingSleep:
    """Returns at once, records the delay and advances the fake clock by it."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.delays: list[float] = []
        self._clock = clock

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self._clock is not None:
            self._clock.advance(seconds)


class FakeStream:
    def __init__(self, steps: list[Step], *, hang: bool = False) -> None:
        self.steps = steps
        self.hang = hang
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[tuple[str, RawObject]]:
        for step in self.steps:
            if self.closed.is_set():
                return
            if isinstance(step, BaseException):
                raise step
            if callable(step):
                step()
                continue
            yield step
        if self.hang:
            self.closed.wait()

    def close(self) -> None:
        self.closed.set()


class FakeListerWatcher:
    def __init__(
        self,
        *,
        lists: list[tuple[list[RawObject], str] | BaseException],
        watches: list[list[Step] | BaseException] | None = None,
    ) -> None:
        self.lists = list(lists)
        self.watches = list(watches or [])
        self.list_calls: list[str] = []
        self.watch_calls: list[dict[str, Any]] = []
        self.streams: list[FakeStream] = []
        self.on_exhausted: Callable[[], object] = lambda: None
        self.exhausted = threading.Event()

    def list(self, *, resource_version: str = "") -> tuple[list[RawObject], str]:
        self.list_calls.append(resource_version)
        if not self.lists:
            raise AssertionError("unexpected list call")
        answer = self.lists.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def watch(
        self, *, resource_version: str, timeout_seconds: int, allow_bookmarks: bool
    ) -> FakeStream:
        self.watch_calls.append(
            {
                "resource_version": resource_version,
                "timeout_seconds": timeout_seconds,
                "allow_bookmarks": allow_bookmarks,
            }
        )
        if not self.watches:
            self.exhausted.set()
            self.on_exhausted()
            stream = FakeStream([], hang=True)
        else:
            script = self.watches.pop(0)
            if isinstance(script, BaseException):
                raise script
            stream = FakeStream(script)
        self.streams.append(stream)
        return stream


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for another thread's work to show (never a timing assertion: fails only on hang)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.002)
