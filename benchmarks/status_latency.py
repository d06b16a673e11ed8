"""Status-return latency on a real pair of control planes, against a raw watch floor.

Run: ``.venv/bin/python benchmarks/status_latency.py [--updates 30] [--settle 500ms 50ms]``.
Prints a table (and ``--json FILE``); no assertions.

For each settle window: a CRD with a ``/status`` subresource is downsynced with one custom
resource; then, one at a time, a status is written downstream through ``/status`` and timed
until an upstream watch shows it. The floor is the same write made directly upstream, timed
until the same watch shows it (one write + one notification). The syncer's path is longer by
design: downstream watch → settle window → upstream patch → upstream watch.
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
    """Times when an upstream watch first shows a given ``status.seq``."""

    def __init__(self, rest: RestClient) -> None:
        self.seen: dict[str, float] = {}
        self._cond = threading.Condition()
        _, rv = rest.list(WIDGETS)
        self._stream = rest.watch(WIDGETS, resource_version=rv, timeout_seconds=600)
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        for _type, obj in self._stream:
            seq = str((obj.get("status") or {}).get("seq", ""))
            with self._cond:
                self.seen.setdefault(seq, time.monotonic())
                self._cond.notify_all()

    def wait_for(self, seq: str, timeout: float = 30.0) -> float:
        with self._cond:
            self._cond.wait_for(lambda: seq in self.seen, timeout=timeout)
            return self.seen[seq]

    def close(self) -> None:
        self._stream.close()


def write_status(rest: RestClient, seq: str) -> float:
    obj = rest.get(WIDGETS, "", "w")
    started = time.monotonic()
    rest.replace(WIDGETS, "", "w", {**obj, "status": {"seq": seq}}, subresource="status")
    return started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


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
            up.create(
                WIDGETS,
                "",
                {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": "w"}},
            )
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
            floor = []
            for i in range(args.updates):
                seq = f"floor-{i}"
                started = write_status(up, seq)
                floor.append((watch.wait_for(seq) - started) * 1000)
            results["floor_ms"] = {"p50": statistics.median(floor), "p99": percentile(floor, 0.99)}
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
                    samples = []
                    for i in range(args.updates):
                        seq = f"s{settle}-{i}"
                        started = write_status(down, seq)
                        samples.append((watch.wait_for(seq) - started) * 1000)
                finally:
                    syncer.stop(timeout=10)
                    down.delete(WIDGETS, "", "w")
                    wait(lambda: down.get_or_none(WIDGETS, "", "w") is None)
                p50, p99 = statistics.median(samples), percentile(samples, 0.99)
                results[f"settle_{settle}"] = {
                    "p50_ms": p50,
                    "p99_ms": p99,
                    "ratio_p50": p50 / results["floor_ms"]["p50"],
                    "p50_minus_settle_ms": p50 - settle * 1000,
                }
            watch.close()
        finally:
            planes.stop()
    floor_ms = results["floor_ms"]
    print(
        f"floor (write upstream, upstream watch): p50 {floor_ms['p50']:.1f} ms, "
        f"p99 {floor_ms['p99']:.1f} ms"
    )
    for settle in args.settle:
        r = results[f"settle_{settle}"]
        print(
            f"status return, settle {format_duration(settle)}: p50 {r['p50_ms']:.1f} ms, "
            f"p99 {r['p99_ms']:.1f} ms, ratio p50 {r['ratio_p50']:.1f} "
            f"(p50 minus settle {r['p50_minus_settle_ms']:.1f} ms)"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
