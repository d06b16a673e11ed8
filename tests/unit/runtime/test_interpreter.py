"""The syncer process's interpreter settings: prompt handoffs, long-lived objects frozen."""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Iterator

import pytest

from syncpipe.runtime import interpreter


@pytest.fixture
def restored_interpreter() -> Iterator[None]:
    interval = sys.getswitchinterval()
    yield
    sys.setswitchinterval(interval)
    gc.unfreeze()


@pytest.mark.usefixtures("restored_interpreter")
def test_the_switch_interval_is_shortened_and_never_lengthened() -> None:
    sys.setswitchinterval(0.005)
    interpreter.prefer_prompt_handoffs()
    # The interpreter keeps whole microseconds.
    assert sys.getswitchinterval() == pytest.approx(interpreter.SWITCH_INTERVAL_SECONDS, abs=1e-6)
    sys.setswitchinterval(0.0005)
    interpreter.prefer_prompt_handoffs()
    assert sys.getswitchinterval() == pytest.approx(0.0005, abs=1e-6)


class Node:
    """A reference-cycle-capable object the collector tracks."""

    def __init__(self) -> None:
        self.other: Node | None = None


def tracked(obj: object) -> bool:
    """Whether ``obj`` is in a generation the collector walks (frozen ones are in none)."""
    return any(o is obj for o in gc.get_objects())


@pytest.mark.usefixtures("restored_interpreter")
def test_frozen_objects_are_out_of_the_collectors_walks_until_thawed() -> None:
    alive = Node()
    interpreter.freeze_long_lived_objects()
    assert gc.get_freeze_count() > 0
    assert not tracked(alive)
    interpreter.thaw_frozen_objects()
    assert gc.get_freeze_count() == 0
    assert tracked(alive)


@pytest.mark.usefixtures("restored_interpreter")
def test_a_frozen_cycle_dropped_later_is_collected_once_thawed() -> None:
    a, b = Node(), Node()
    a.other, b.other = b, a
    dropped = weakref.ref(a)
    interpreter.freeze_long_lived_objects()
    del a, b  # a stopped syncer's composition: unreachable, but frozen
    gc.collect()
    assert dropped() is not None
    interpreter.thaw_frozen_objects()
    gc.collect()
    assert dropped() is None
