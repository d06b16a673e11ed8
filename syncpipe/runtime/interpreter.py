"""Interpreter settings of a syncer process: prompt thread handoffs, short collector pauses.

Every event crosses threads on its way to a write (watch → dispatch → worker) and every
thread shares one interpreter lock, so two process-wide settings decide how long an event
waits between the steps of a change measured in milliseconds:

* **Switch interval.** With CPython's default 5 ms, a busy thread delays every handoff by up
  to that much, which dominated single-change latency; 1 ms costs little throughput.
* **Frozen long-lived objects.** A full (oldest-generation) collection walks every tracked
  object and stops every thread while it does. Most of a syncer's objects live as long as the
  process: the imported modules (the ``kubernetes`` package alone is ~34 MB) and its
  composition, frozen at start, and what the initial sync built, frozen once it is done
  (``gc.freeze``: moved to a generation the collector never walks). In a ready syncer with
  1,000 cached ConfigMaps a side (~67,000 tracked objects), a full collection took 18 to
  37 ms on a loaded 2-core machine, and ~0 ms frozen. Frozen objects are still freed by
  reference counting when the last reference goes, which is how cached objects (plain JSON,
  no cycles) go; only a reference cycle among frozen objects outlives its use, until the
  objects are thawed.

Both are process-wide, so the live driver applies them when it starts (an embedding program
gets them with the syncer; the objects are thawed again when it stops, so a program that
runs several syncers one after the other, such as the test suite, collects the stopped
ones); the replay driver, on virtual time, needs neither.
"""

from __future__ import annotations

import gc
import sys

# The longest a thread keeps the interpreter lock while another thread is waiting for it.
SWITCH_INTERVAL_SECONDS = 0.001


def prefer_prompt_handoffs() -> None:
    """Shorten the switch interval to ``SWITCH_INTERVAL_SECONDS`` (never lengthen it)."""
    sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_SECONDS))


def freeze_long_lived_objects() -> None:
    """Take every object alive now out of the collector's walks (see the module docstring):
    call at points after which most of them live as long as the process.

    No collection first: it would stop every thread for as long as the one the freeze saves
    (a test process starts dozens of syncers), and the few reference cycles already garbage
    at start and at the end of the initial sync stay only until the syncer stops.
    """
    gc.freeze()


def thaw_frozen_objects() -> None:
    """Give frozen objects back to the collector (a stopped syncer's are garbage now)."""
    gc.unfreeze()
