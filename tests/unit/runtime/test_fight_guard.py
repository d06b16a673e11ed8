"""The fight guard: a copy patched too often backs off, doubling, and names the other writer."""

import pytest

from syncpipe.model.keys import ObjectKey
from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime.safety import FIGHT_PATCHES, FieldFight, FightGuard

KEY = ObjectKey(GroupVersionResource("", "v1", "configmaps"), "ns", "cm")
LIVE = {
    "metadata": {
        "managedFields": [
            {"manager": "syncpipe", "operation": "Update"},
            {"manager": "fighter", "operation": "Update"},
        ]
    }
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_patches_below_the_threshold_pass_and_the_next_one_backs_off_naming_the_fighter():
    clock = Clock()
    guard = FightGuard(clock)
    for _ in range(FIGHT_PATCHES):
        guard.check(KEY, LIVE)
        clock.now += 1
    with pytest.raises(FieldFight) as caught:
        guard.check(KEY, LIVE)
    assert caught.value.managers == ("fighter",)
    assert caught.value.delay == 5.0
    # While backing off, checks are refused with the remaining delay.
    clock.now += 2
    with pytest.raises(FieldFight) as waiting:
        guard.check(KEY, LIVE)
    assert waiting.value.delay == pytest.approx(3.0)


def test_the_backoff_doubles_while_the_fight_goes_on_and_resets_after_a_quiet_window():
    clock = Clock()
    guard = FightGuard(clock)
    delays = []
    for _ in range(3):
        for _ in range(FIGHT_PATCHES):
            guard.check(KEY, LIVE)
            clock.now += 0.1
        with pytest.raises(FieldFight) as caught:
            guard.check(KEY, LIVE)
        delays.append(caught.value.delay)
        clock.now += caught.value.delay
    assert delays == [5.0, 10.0, 20.0]
    clock.now += 61
    guard.check(KEY, LIVE)  # quiet for a window: allowed again, counting from scratch


def test_a_new_source_version_is_an_update_not_a_fight():
    clock = Clock()
    guard = FightGuard(clock)
    for version in range(3 * FIGHT_PATCHES):
        guard.check(KEY, LIVE, source_version=str(version))
        clock.now += 0.1
