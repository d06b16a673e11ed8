"""Status-return latency on a real pair of control planes, against a raw watch floor.

Run: ``.venv/bin/python benchmarks/status_latency.py [--updates 30] [--settle 500ms 50ms]``.
Prints a table (and ``--json FILE``); no assertions.

For each settle window: a CRD with a ``/status`` subresource is downsynced with one custom
resource; then, one at a time and a settle window apart (each change of a quiet object), a
status is written downstream through ``/status``. Every time is ``time.monotonic()`` taken
in a watch thread as the event is decoded (``StatusWatch``), or just before a write is sent.

The **floor** is a status write made directly upstream (on ``floor``, an object the syncer
does not select), from before the write until the upstream watch shows it: one write + one
notification, the least any status return costs once the status exists. One floor sample on
either side is taken before each change, so floors and changes see the same load (the
machine is shared, and its load drifts over minutes); the floor taken before the syncer
starts is printed too. Three ratios, each of a p50 to the floor's p50 (the samples are in
the JSON):

* **from visible** (what the target is judged on): from the moment the change is visible
  downstream — the benchmark's own downstream watch decodes its event; the syncer's watch
  gets the same event from the same server at the same time — until the upstream watch
  shows the status: the syncer's own part (decode, handler, pacing, queue, worker, plan,
  transforms) plus one write and one notification, like for like with the floor.
* **end to end**: from before the benchmark's downstream write until the upstream watch
  shows it. The path holds two hops (the change downstream and its watch, then the syncer's
  write upstream and its watch), so it is also given
* **to both hops**: the end-to-end p50 against the floor plus the downstream hop, measured
  the same way (and in turn too) on an object the syncer does not select downstream.

The syncer runs in this process, so its watches and the benchmark's share one interpreter
lock: the benchmark's upstream watch sees an event ~0.4 ms after the syncer's own, for the
floor's events (the syncer watches the ``floor`` object too) as for the changes. A change
within the settle window of the previous one waits for the window's end (the burst below,
not the isolated changes).

Then a burst: ``--burst`` status changes written downstream within one second, evenly
spaced; once the last one is upstream and a settle window passed, the upstream watch's
events of the burst are the status writes it cost.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import tempfile
import threading
import time
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from syncpipe.clients.connect import ClusterAccess, load_configuration
from syncpipe.clients.rest import RestClient
from syncpipe.config import crds
from syncpipe.config.durations import duration_argument, format_duration
from syncpipe.config.settings import Settings
from syncpipe.devenv import assets, pair
from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime import wiring

CRDS = GroupVersionResource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
SYNCER_CONFIGS = GroupVersionResource("edge.kubestellar.io", "v2alpha1", "syncerconfigs")
GROUP = "bench.example.com"
WIDGETS = GroupVersionResource(GROUP, "v1", "widgets")
# The object of the floor's writes on either side: the syncer selects only ``w``.
FLOOR_OBJECT = "floor"


def rest_for(kubeconfig: pathlib.Path, label: str) -> RestClient:
    return RestClient(
        load_configuration(ClusterAccess(kubeconfig=str(kubeconfig), label=label)), label=label
    )


def wait(predicate: Any, timeout: float = 60.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:  # noqa: BLE001 - not served yet
            value = None
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError("condition not met")


def established(rest: RestClient, name: str) -> bool:
    obj = rest.get(CRDS, "", name)
    return any(
        c["type"] == "Established" and c["status"] == "True"
        for c in (obj.get("status") or {}).get("conditions") or ()
    )


class StatusWatch:
    """Times when a watch first shows a given ``status.seq``: ``time.monotonic()`` taken in the
    watch thread as soon as the event is decoded (the syncer's reflector decodes the same
    way, ``RestClient.watch``)."""

    def __init__(self, rest: RestClient) -> None:
        self.seen: dict[str, float] = {}
        self.events: list[str] = []
        self._cond = threading.Condition()
        _, rv = rest.list(WIDGETS)
        self._stream = rest.watch(WIDGETS, resource_version=rv, timeout_seconds=600)
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        for _type, obj in self._stream:
            decoded = time.monotonic()
            seq = str((obj.get("status") or {}).get("seq", ""))
            with self._cond:
                self.events.append(seq)
                self.seen.setdefault(seq, decoded)
                self._cond.notify_all()

    def wait_for(self, seq: str, timeout: float = 30.0) -> float:
        with self._cond:
            self._cond.wait_for(lambda: seq in self.seen, timeout=timeout)
            return self.seen[seq]

    def close(self) -> None:
        self._stream.close()


def write_status(rest: RestClient, seq: str, name: str = "w") -> float:
    obj = rest.get(WIDGETS, "", name)
    started = time.monotonic()
    rest.replace(WIDGETS, "", name, {**obj, "status": {"seq": seq}}, subresource="status")
    return started


def hop_samples(
    rest: RestClient, watch: StatusWatch, prefix: str, count: int, name: str
) -> list[float]:
    """Milliseconds from each status write on ``rest`` until ``watch`` shows it."""
    samples = []
    for i in range(count):
        seq = f"{prefix}-{i}"
        started = write_status(rest, seq, name)
        samples.append((watch.wait_for(seq) - started) * 1000)
    return samples


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(samples: list[float]) -> dict[str, float]:
    return {"p50": statistics.median(samples), "p99": percentile(samples, 0.99)}


def isolated_samples(
    up: RestClient,
    down: RestClient,
    up_watch: StatusWatch,
    down_watch: StatusWatch,
    *,
    prefix: str,
    count: int,
    settle: float,
) -> dict[str, list[float]]:
    """Milliseconds per isolated status change of ``w`` downstream until the upstream watch
    shows it, from the downstream write (``end_to_end``) and from the downstream watch's event
    (``from_visible``); each change is preceded by a floor sample on either side (``floor``,
    ``downstream_hop``: a status write on the unselected ``floor`` object and its watch
    event), so all see the same load."""
    samples: dict[str, list[float]] = {
        "end_to_end": [],
        "from_visible": [],
        "floor": [],
        "downstream_hop": [],
    }
    for i in range(count):
        time.sleep(settle)  # quiet: each change is a quiet object's first
        seq = f"{prefix}-{i}"
        samples["floor"] += hop_samples(up, up_watch, f"{seq}-floor", 1, FLOOR_OBJECT)
        samples["downstream_hop"] += hop_samples(down, down_watch, f"{seq}-hop", 1, FLOOR_OBJECT)
        started = write_status(down, seq)
        upstream = up_watch.wait_for(seq)
        visible = down_watch.wait_for(seq)
        samples["end_to_end"].append((upstream - started) * 1000)
        samples["from_visible"].append((upstream - visible) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=30)
    parser.add_argument(
        "--settle",
        type=duration_argument,
        metavar="DURATION",
        nargs="+",
        default=[0.5, 0.05],
        help="status settle windows to measure, e.g. 500ms 50ms (default 500ms 50ms)",
    )
    parser.add_argument("--burst", type=int, default=20, help="status changes in one second")
    parser.add_argument("--json", type=pathlib.Path)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        planes = pair.start_pair(assets=assets.ensure_assets(), workdir=pathlib.Path(tmp))
        try:
            up = rest_for(planes.upstream.admin_kubeconfig, "upstream")
            down = rest_for(planes.downstream.admin_kubeconfig, "downstream")
            for manifest in crds.all_crd_manifests():
                up.create(CRDS, "", manifest)
            crd = {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": f"widgets.{GROUP}"},
                "spec": {
                    "group": GROUP,
                    "scope": "Cluster",
                    "names": {"plural": "widgets", "kind": "Widget", "singular": "widget"},
                    "versions": [
                        {
                            "name": "v1",
                            "served": True,
                            "storage": True,
                            "subresources": {"status": {}},
                            "schema": {
                                "openAPIV3Schema": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                }
                            },
                        }
                    ],
                },
            }
            up.create(CRDS, "", crd)
            wait(lambda: established(up, f"widgets.{GROUP}"))
            wait(lambda: established(up, "syncerconfigs.edge.kubestellar.io"))
            for name in ("w", FLOOR_OBJECT):
                body = {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": name}}
                up.create(WIDGETS, "", body)
            up.create(
                SYNCER_CONFIGS,
                "",
                {
                    "apiVersion": "edge.kubestellar.io/v2alpha1",
                    "kind": "SyncerConfig",
                    "metadata": {"name": "bench"},
                    "spec": {
                        "clusterScope": [
                            {
                                "group": "apiextensions.k8s.io",
                                "resource": "customresourcedefinitions",
                                "apiVersion": "v1",
                                "objects": [f"widgets.{GROUP}"],
                            },
                            {
                                "group": GROUP,
                                "resource": "widgets",
                                "apiVersion": "v1",
                                "objects": ["w"],
                            },
                        ]
                    },
                },
            )
            watch = StatusWatch(up)
            floor = hop_samples(up, watch, "floor", args.updates, FLOOR_OBJECT)
            results["floor_ms"] = summary(floor)
            down_watch: StatusWatch | None = None
            for settle in args.settle:
                syncer = wiring.build_syncer(
                    settings=Settings(syncer_name=f"bench-{settle}", status_settle_seconds=settle),
                    upstream_kubeconfig=str(planes.upstream.admin_kubeconfig),
                    downstream_kubeconfig=str(planes.downstream.admin_kubeconfig),
                )
                syncer.start()
                try:
                    wait(lambda: down.get_or_none(WIDGETS, "", "w"))
                    wait(syncer.ready.is_set)
                    if down_watch is None:
                        # The downstream floor object (one the syncer does not select) and
                        # watch: the CRD is served downstream once the syncer copied it.
                        body = {"apiVersion": f"{GROUP}/v1", "kind": "Widget"}
                        down.create(WIDGETS, "", {**body, "metadata": {"name": FLOOR_OBJECT}})
                        down_watch = StatusWatch(down)
                    isolated = isolated_samples(
                        up,
                        down,
                        watch,
                        down_watch,
                        prefix=f"s{settle}",
                        count=args.updates,
                        settle=settle,
                    )
                    time.sleep(settle)
                    burst = [f"b{settle}-{i}" for i in range(args.burst)]
                    began = time.monotonic()
                    for i, seq in enumerate(burst):
                        time.sleep(max(0.0, began + i / args.burst - time.monotonic()))
                        write_status(down, seq)
                    watch.wait_for(burst[-1])
                    time.sleep(settle * 2)  # any write still to come
                    burst_writes = sum(1 for seq in list(watch.events) if seq in burst)
                finally:
                    syncer.stop(timeout=10)
                    down.delete(WIDGETS, "", "w")
                    wait(lambda: down.get_or_none(WIDGETS, "", "w") is None)
                end_to_end, visible = (
                    summary(isolated["end_to_end"]),
                    summary(isolated["from_visible"]),
                )
                floor_in_turn = summary(isolated["floor"])
                downstream_hop = summary(isolated["downstream_hop"])
                both_hops = floor_in_turn["p50"] + downstream_hop["p50"]
                results[f"settle_{settle}"] = {
                    "floor_in_turn_ms": floor_in_turn,
                    "downstream_hop_in_turn_ms": downstream_hop,
                    "from_visible_ms": visible,
                    "from_visible_ratio_p50": visible["p50"] / floor_in_turn["p50"],
                    "end_to_end_ms": end_to_end,
                    "end_to_end_ratio_p50": end_to_end["p50"] / floor_in_turn["p50"],
                    "end_to_end_ratio_p50_to_both_hops": end_to_end["p50"] / both_hops,
                    "burst_changes": args.burst,
                    "burst_upstream_writes": burst_writes,
                    "samples_ms": isolated,
                }
            watch.close()
            if down_watch is not None:
                down_watch.close()
        finally:
            planes.stop()
    floor_ms = results["floor_ms"]
    print(
        f"floor before the syncer (write upstream, upstream watch): p50 {floor_ms['p50']:.1f} ms, "
        f"p99 {floor_ms['p99']:.1f} ms"
    )
    for settle in args.settle:
        r = results[f"settle_{settle}"]
        floor, visible, end_to_end = r["floor_in_turn_ms"], r["from_visible_ms"], r["end_to_end_ms"]
        print(
            f"status return, settle {format_duration(settle)}: "
            f"floor in turn p50 {floor['p50']:.1f} ms, p99 {floor['p99']:.1f} ms "
            f"(downstream p50 {r['downstream_hop_in_turn_ms']['p50']:.1f} ms); "
            f"from visible downstream p50 {visible['p50']:.1f} ms, p99 {visible['p99']:.1f} ms, "
            f"ratio p50 {r['from_visible_ratio_p50']:.2f}; "
            f"end to end p50 {end_to_end['p50']:.1f} ms, p99 {end_to_end['p99']:.1f} ms, "
            f"ratio p50 {r['end_to_end_ratio_p50']:.2f} "
            f"(to both hops {r['end_to_end_ratio_p50_to_both_hops']:.2f}); "
            f"{r['burst_changes']} changes in 1 s: {r['burst_upstream_writes']} upstream writes"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
