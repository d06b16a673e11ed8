"""Micro-benchmark of the sink's diff core against the libraries it replaces.

Run: ``.venv/bin/python benchmarks/diff_micro.py``. Prints one table; no assertions (timings
depend on the machine: read the ratios, which are measured in the same run against the floor,
a plain ``a == b`` of two equal copies of the object).

The object is the sample Deployment of ``tests/data/sink``, as the API server serves it (server
defaults, managedFields, status) after syncpipe applied it (record annotation included). The
desired object is its upstream copy after the strip transform (its ``spec`` equals the live
one, the usual case for a synced copy); "manifest" rows use a user's manifest instead, which
equals no subtree of the served object (the worst case for the equality shortcuts). "one
change" is one changed container image, or one changed ConfigMap value.
"""

from __future__ import annotations

import copy
import json
import pathlib
import sys
import timeit
from collections.abc import Callable
from typing import Any

import deepdiff
import jsonpatch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from syncpipe.model import actions  # noqa: E402
from syncpipe.model.events import Side  # noqa: E402
from syncpipe.model.keys import ObjectKey  # noqa: E402
from syncpipe.model.resources import GroupVersionResource  # noqa: E402
from syncpipe.sink import diff, lastapplied, planner  # noqa: E402

DATA = ROOT / "tests" / "data" / "sink"
KEY = ObjectKey(GroupVersionResource("apps", "v1", "deployments"), "shop", "checkout")


def load(name: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return obj


def time_per_call(fn: Callable[[], object], *, budget: float = 0.4, repeats: int = 5) -> float:
    """Best-of-``repeats`` seconds per call, each repeat running about ``budget`` seconds."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(1, int(number * budget / 0.2))
    return min(timer.repeat(repeat=repeats, number=number)) / number


def main() -> None:
    desired = load("deployment-desired")
    served = load("deployment-live")
    patch = planner.plan(side=Side.DOWNSTREAM, key=KEY, desired=desired, live=served)
    assert isinstance(patch, actions.Patch)
    live = jsonpatch.apply_patch(served, list(patch.ops))  # as syncpipe leaves it
    live_copy = copy.deepcopy(live)
    owned = lastapplied.owned_fields_of(live)

    changed = copy.deepcopy(desired)
    changed["spec"]["template"]["spec"]["containers"][1]["image"] = "envoy:1.31.0"
    live_changed = copy.deepcopy(live)
    live_changed["spec"]["template"]["spec"]["containers"][1]["image"] = "envoy:1.31.0"

    def plan(want: dict[str, Any], on: dict[str, Any] | None = None) -> object:
        return planner.plan(
            side=Side.DOWNSTREAM, key=KEY, desired=want, live=live if on is None else on
        )

    # The worst case for the equality shortcuts: a user's manifest, which equals no subtree of
    # the served object because the server added defaults everywhere.
    manifest = load("deployment-manifest")
    patch = planner.plan(side=Side.DOWNSTREAM, key=KEY, desired=manifest, live=served)
    assert isinstance(patch, actions.Patch)
    live_manifest = jsonpatch.apply_patch(served, list(patch.ops))

    configmap: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "shop"},
        "data": {f"key-{i:03d}": f"value number {i}" for i in range(50)},
    }
    create = planner.plan(side=Side.DOWNSTREAM, key=KEY, desired=configmap, live=None)
    assert isinstance(create, actions.Create)
    live_configmap = {**create.body, "metadata": {**create.body["metadata"], "uid": "u"}}
    changed_configmap = {**configmap, "data": {**configmap["data"], "key-017": "changed"}}

    # Sanity: every contender sees the situation it is meant to see.
    assert diff.satisfies(desired, live)
    assert plan(desired) is None
    assert plan(manifest, live_manifest) is None
    assert plan(configmap, live_configmap) is None
    assert len(diff.three_way(changed, live, owned)) == 1
    assert len(diff.two_way(live, live_changed)) == 1

    cases: list[tuple[str, Callable[[], object]]] = [
        ("a == b (equal copies, floor)", lambda: live == live_copy),
        ("satisfies(desired, live)", lambda: diff.satisfies(desired, live)),
        ("three_way, no change", lambda: diff.three_way(desired, live, owned)),
        ("three_way, one change", lambda: diff.three_way(changed, live, owned)),
        ("record_of(desired) (field set + encode)", lambda: lastapplied.record_of(desired)),
        ("plan, no change (whole per-event cost)", lambda: plan(desired)),
        ("plan, one change", lambda: plan(changed)),
        ("satisfies, manifest (no equal subtree)", lambda: diff.satisfies(manifest, live_manifest)),
        ("plan, manifest, no change", lambda: plan(manifest, live_manifest)),
        ("plan, ConfigMap 50 keys, no change", lambda: plan(configmap, live_configmap)),
        ("plan, ConfigMap 50 keys, one change", lambda: plan(changed_configmap, live_configmap)),
        ("two_way, equal copies", lambda: diff.two_way(live, live_copy)),
        ("two_way, one change", lambda: diff.two_way(live, live_changed)),
        ("jsonpatch.make_patch, equal copies", lambda: jsonpatch.make_patch(live, live_copy)),
        ("jsonpatch.make_patch, one change", lambda: jsonpatch.make_patch(live, live_changed)),
        ("deepdiff.DeepDiff, one change", lambda: deepdiff.DeepDiff(live, live_changed)),
    ]

    size = len(json.dumps(live, separators=(",", ":")))
    desired_size = len(json.dumps(desired, separators=(",", ":")))
    print(f"Deployment: live {size} bytes, desired {desired_size} bytes (compact JSON)")
    print(f"{'case':<42} {'µs/call':>10} {'x floor':>9} {'calls/s':>11}")
    floor = None
    for name, fn in cases:
        seconds = time_per_call(fn, budget=0.1 if "deepdiff" in name else 0.4)
        floor = floor or seconds
        print(f"{name:<42} {seconds * 1e6:>10.2f} {seconds / floor:>9.1f} {1 / seconds:>11,.0f}")


if __name__ == "__main__":
    main()
