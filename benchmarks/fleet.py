"""Fleet benchmark: N syncer processes, one upstream (N mailboxes), one downstream (N edges).

Run: ``.venv/bin/python benchmarks/fleet.py --syncers N [--rest 5m] [--json FILE]``.
It starts its own upstream/downstream control planes (``syncpipe.devenv.pair``), measures,
prints one table, writes the numbers as JSON when asked, and stops every process it started
(also on Ctrl-C or an error). No assertions: read the figures per syncer.

The shape, as KubeStellar gives each edge its own mailbox: edge ``edge-007`` has the upstream
namespace ``app-007`` holding the same small workload as every other edge (2 Deployments,
2 headless Services, 3 ConfigMaps and one ``Widget``, a custom resource of a namespaced CRD with
a ``/status`` subresource installed on both sides), and its own SyncerConfig ``edge-007``
labelled ``fleet.syncpipe.io/edge=edge-007`` selecting that namespace. Its syncer is a
``python -m syncpipe run`` process with ``--syncer-name edge-007``,
``--syncer-config-selector fleet.syncpipe.io/edge=edge-007`` and
``--namespace-mapping prefix:edge-007-``, so its copies land in ``edge-007-app-007``
downstream and no two syncers share an object on either side.

Every syncer runs as its own ServiceAccount (``fleet-syncers/edge-007`` on each side), and
both API servers audit exactly those accounts (``fleet_audit.py``): requests and open watches
are counted per syncer by the servers that served them, discovery included, without the
controller managers' traffic or the benchmark's own requests (it uses the admin).

1. **start-up storm**: all N started at once -> time until every edge has every object
   (downstream watches on the workload's label), per-edge completion, upstream and downstream
   requests by verb, CPU of every control-plane process and of the syncers meanwhile.
2. **at rest** (``--rest``, default 5m), after the control planes went quiet: upstream and
   downstream requests per minute per syncer by verb (and the busiest syncer's), open watches
   per syncer on each side at the end of the window, syncer CPU and RSS per process
   (``/proc``).
3. **fleet-wide rollout**: the same template change (an annotation of Deployment ``web-0``'s
   pod template) written upstream to every edge's copy at once -> per edge, the time from its
   upstream write returning to its downstream copy carrying it (p50/p99/max), the time until
   the last edge has it, and the syncers' upstream requests until then and until the control
   planes are quiet again (the status the edges' Deployment controllers write comes back).
4. **status fan-in**: every edge's ``Widget`` copy gets a status change downstream (PATCH
   ``/status``) at once -> per edge until the upstream object carries it, until all N did,
   and the upstream writes it took.
5. **KubeStellar-0.14-style poller** (syncers stopped): ``fleet_poller.py`` does per edge what
   the original did every 15 s, in threads of this process, into its own downstream
   namespaces; its at-rest requests per edge per minute beside syncpipe's.

``--syncer-config-selector`` is detected from ``python -m syncpipe run --help``. Without it
every syncer would merge every edge's SyncerConfig, so the benchmark then refuses N > 1
(``MAX_SYNCERS_WITHOUT_SELECTOR``).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import logging
import os
import pathlib
import re
import shlex
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import fleet_audit as fa  # noqa: E402
from fleet_poller import EdgePoller, PollerFleet  # noqa: E402
from fleet_report import SIDES, report  # noqa: E402
from fleet_setup import (  # noqa: E402
    DEPLOYMENTS,
    OBJECTS_PER_EDGE,
    RESOURCES,
    SELECTOR_FLAG,
    WIDGET_NAMES,
    WIDGETS,
    WORKLOAD_LABEL,
    WRITERS,
    Edge,
    Identities,
    SyncerFleet,
    prepare,
    rss_bytes,
    selector_supported,
)
from live import DEPLOY, ArrivalWatch, ProcessClock, percentile, rest_for, wait  # noqa: E402

from syncpipe.clients.rest import RestClient  # noqa: E402
from syncpipe.devenv import assets, pair  # noqa: E402
from syncpipe.devenv.controlplane import ControlPlane  # noqa: E402

ROLLOUT_ANNOTATION = "fleet.syncpipe.io/rollout"
ROLLOUT_DEPLOYMENT = DEPLOYMENTS[0]
STATUS_WIDGET = WIDGET_NAMES[0]
POLL_INTERVAL = 15.0  # KubeStellar-Syncer 0.14's main loop
OWN = "benchmark process"
# Without --syncer-config-selector every syncer merges every edge's SyncerConfig (N x N copies,
# N status writers per object): harmless for one. Raised only to try the benchmark's own
# machinery before syncpipe has the flag, never for figures.
MAX_SYNCERS_WITHOUT_SELECTOR = 1


# -- measuring ---------------------------------------------------------------------------------

Snaps = dict[str, fa.Snapshot]


class Meter:
    """Both API servers' audit logs: what the syncers (or the pollers) asked each for."""

    def __init__(self, logs: dict[str, fa.AuditLog]) -> None:
        self.logs = logs

    def snap(self) -> Snaps:
        at = time.perf_counter()
        return {side: self.logs[side].snapshot(at) for side in SIDES}

    @staticmethod
    def served(before: Snaps, after: Snaps) -> dict[str, fa.Counts]:
        return {side: fa.served_between(before[side], after[side]) for side in SIDES}


@dataclass
class Bench:
    """What every phase uses: admin clients, the meter, the control planes' CPU clock."""

    up: RestClient
    down: RestClient
    meter: Meter
    clock: ProcessClock
    edges: list[Edge]
    timeout: float
    ports: dict[str, int]  # side -> its API server's port
    apiserver_pids: dict[str, int]

    @property
    def n(self) -> int:
        return len(self.edges)

    def apiserver_rss_mb(self) -> dict[str, float]:
        return {side: round(rss_bytes(pid) / 2**20, 1) for side, pid in self.apiserver_pids.items()}


def sleep_watching(fleet: SyncerFleet, seconds: float) -> None:
    """Sleep ``seconds``, checking every few seconds that no syncer has died."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        fleet.check_alive()
        time.sleep(min(5.0, left))


def wait_arrivals(watch: ArrivalWatch, count: int, timeout: float, fleet: SyncerFleet) -> float:
    """``watch.wait_count``, checking every few seconds that no syncer has died."""
    deadline = time.monotonic() + timeout
    while True:
        fleet.check_alive()
        try:
            return watch.wait_count(count, timeout=min(5.0, max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            if time.monotonic() >= deadline:
                raise


def at_once(edges: Sequence[Edge], write: Callable[[Edge], object]) -> dict[str, float]:
    """``write`` for every edge from ``WRITERS`` threads; when each returned (perf_counter)."""

    def timed(edge: Edge) -> float:
        write(edge)
        return time.perf_counter()

    with concurrent.futures.ThreadPoolExecutor(max_workers=WRITERS) as pool:
        futures = {edge.name: pool.submit(timed, edge) for edge in edges}
        return {name: future.result() for name, future in futures.items()}


@contextlib.contextmanager
def watching(watches: Sequence[ArrivalWatch]) -> Iterator[None]:
    try:
        yield
    finally:
        for watch in watches:
            watch.close()


def wait_ready(fleet: SyncerFleet, timeout: float) -> float:
    """Wait until every syncer says it is ready; the seconds it took."""
    started = time.monotonic()
    while waiting := fleet.not_ready():
        fleet.check_alive()
        if time.monotonic() - started > timeout:
            raise TimeoutError(
                f"{len(waiting)} syncers not ready after {timeout:g}s: {waiting[:5]}"
            )
        time.sleep(0.5)
    return time.monotonic() - started


def summarize_seconds(samples: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(1000 * statistics.median(samples), 1),
        "p99_ms": round(1000 * percentile(list(samples), 99), 1),
        "max_ms": round(1000 * max(samples), 1),
    }


def traffic(served: dict[str, fa.Counts], per: float = 1.0, syncers: int = 1) -> dict[str, Any]:
    """Per side: total, by verb and by request, times ``per`` (e.g. 60 / window for a rate) and
    divided by ``syncers`` (an average syncer's); and the busiest syncer's own total."""
    scale = per / syncers
    return {
        side: {
            "total": round(scale * sum(served[side].values()), 2),
            "by_verb": fa.by_verb(served[side], scale),
            "detail": fa.by_request(served[side], scale),
            "busiest_syncer": round(per * max(fa.by_syncer(served[side]).values(), default=0), 2),
        }
        for side in SIDES
    }


def measure_startup(bench: Bench, fleet: SyncerFleet) -> dict[str, Any]:
    """Phase 1: every syncer started at once, until every edge has every object."""
    fleet_namespaces = {e.downstream_ns for e in bench.edges}

    def copy_key(event_type: str, obj: dict[str, Any]) -> str | None:
        ns = obj["metadata"].get("namespace", "")
        if event_type != "ADDED" or ns not in fleet_namespaces:
            return None
        return f"{ns}/{obj['metadata']['name']}"

    selector = f"{WORKLOAD_LABEL}=1"
    watches = {
        gvr: ArrivalWatch(bench.down, gvr, "", selector, copy_key).start() for gvr in RESOURCES
    }
    with watching(list(watches.values())):
        quiet = bench.clock.wait_quiet()
        apiserver_rss = bench.apiserver_rss_mb()
        before = bench.meter.snap()
        cpu_before = bench.clock.read()
        started = time.perf_counter()
        fleet.start()
        launched = time.perf_counter() - started
        last = max(
            wait_arrivals(watch, bench.n * OBJECTS_PER_EDGE[gvr], bench.timeout, fleet)
            for gvr, watch in watches.items()
        )
        cpu = bench.clock.used(cpu_before, bench.clock.read())
        syncer_cpu = fleet.cpu()
        after = bench.meter.snap()
    arrivals = [(key, at) for watch in watches.values() for key, at in watch.arrivals.items()]
    per_edge = [
        max(at for key, at in arrivals if key.startswith(edge.downstream_ns + "/")) - started
        for edge in bench.edges
    ]
    return {
        "waited_for_quiet_seconds": round(quiet, 1),
        "launch_seconds": round(launched, 2),
        "seconds_until_every_edge_has_everything": round(last - started, 2),
        "per_edge_seconds": summarize_seconds(per_edge),
        "requests": traffic(Meter.served(before, after)),
        "cpu_seconds": {**cpu, "syncers (all)": round(sum(syncer_cpu.values()), 2)},
        "apiserver_rss_mb_before": apiserver_rss,
        # The benchmark's own downstream watches: resumed after breaking, and arrivals first
        # seen in a relist after a 410 (counted at the relist: an upper bound on their time).
        "arrival_watch_resumes": sum(w.restarts for w in watches.values()),
        "arrivals_from_relist": sum(w.relisted for w in watches.values()),
    }


def open_watches(snaps: Snaps, syncers: int) -> dict[str, Any]:
    """Per side: watches open per syncer (mean, busiest) and by resource (mean)."""
    out: dict[str, Any] = {}
    for side in SIDES:
        per_syncer: dict[str, int] = {}
        per_resource: dict[str, int] = {}
        for (syncer, resource), count in snaps[side].watches.items():
            per_syncer[syncer] = per_syncer.get(syncer, 0) + count
            per_resource[resource] = per_resource.get(resource, 0) + count
        out[side] = {
            "mean": round(sum(per_syncer.values()) / syncers, 2),
            "busiest_syncer": max(per_syncer.values(), default=0),
            "by_resource": {r: round(c / syncers, 2) for r, c in sorted(per_resource.items())},
        }
    return out


def per_process(values: dict[str, int], scale: float = 1.0) -> dict[str, float]:
    return {
        "mean": round(scale * statistics.mean(values.values()), 4),
        "max": round(scale * max(values.values()), 4),
    }


def measure_rest(
    bench: Bench, fleet: SyncerFleet, seconds: float, apiserver_rss_before: dict[str, float]
) -> dict[str, Any]:
    """Phase 2: a window at rest, once every syncer is ready (its start-up janitor done) and
    the control planes went quiet."""
    ready_wait = wait_ready(fleet, bench.timeout)
    quiet = bench.clock.wait_quiet()
    before = bench.meter.snap()
    cpu_before = fleet.cpu()
    sleep_watching(fleet, seconds)
    after = bench.meter.snap()
    cpu = {name: used - cpu_before[name] for name, used in fleet.cpu().items()}
    rss = fleet.rss()
    apiserver_rss = bench.apiserver_rss_mb()
    window = after["upstream"].at - before["upstream"].at
    return {
        "waited_for_every_syncer_ready_seconds": round(ready_wait, 1),
        "waited_for_quiet_seconds": round(quiet, 1),
        "window_seconds": round(window, 1),
        "requests_per_minute_per_syncer": traffic(
            Meter.served(before, after), 60.0 / window, bench.n
        ),
        "open_watches_per_syncer": open_watches(after, bench.n),
        # HTTP/1.1 (urllib3): every open watch holds a connection of its own
        "tcp_connections_per_syncer": {
            side: per_process(fleet.connections(bench.ports[side])) for side in SIDES
        },
        "syncer_cpu_cores": {
            "mean": round(statistics.mean(cpu.values()) / window, 4),
            "max": round(max(cpu.values()) / window, 4),
        },
        "syncer_rss_mb": per_process(rss, 1 / 2**20),
        "apiserver_rss_mb": apiserver_rss,
        "apiserver_rss_mb_growth_per_syncer": {
            side: round((apiserver_rss[side] - apiserver_rss_before[side]) / bench.n, 2)
            for side in SIDES
        },
    }


def measure_spread(
    bench: Bench,
    fleet: SyncerFleet,
    watch: ArrivalWatch,
    write: Callable[[Edge], object],
    arrival_key: Callable[[Edge], str],
) -> dict[str, Any]:
    """One write per edge at once; per edge, from its write returning to ``watch`` seeing
    ``arrival_key(edge)``; the syncers' requests until the control planes are quiet again."""
    with watching([watch]):
        quiet = bench.clock.wait_quiet()
        before = bench.meter.snap()
        started = time.perf_counter()
        returned = at_once(bench.edges, write)
        last = wait_arrivals(watch, bench.n, bench.timeout, fleet)
        until_all = bench.meter.snap()
        settled = bench.clock.wait_quiet()
        after = bench.meter.snap()
    latencies = [watch.arrivals[arrival_key(e)] - returned[e.name] for e in bench.edges]
    served = Meter.served(before, after)
    return {
        "waited_for_quiet_seconds": round(quiet, 1),
        "per_edge": summarize_seconds(latencies),
        "seconds_until_every_edge": round(last - started, 3),
        "seconds_until_quiet_again": round(after["upstream"].at - started, 1),
        "waited_for_quiet_after_seconds": round(settled, 1),
        "requests_until_every_edge": traffic(Meter.served(before, until_all)),
        "requests_until_quiet": traffic(served),
        "upstream_writes": fa.writes(served["upstream"]),
    }


def measure_rollout(bench: Bench, fleet: SyncerFleet, seq: str) -> dict[str, Any]:
    """Phase 3: the same template change to every edge's Deployment upstream at once."""
    by_ns = {e.downstream_ns for e in bench.edges}

    def rolled_out(event_type: str, obj: dict[str, Any]) -> str | None:
        metadata = obj["metadata"]
        template = ((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}
        if (
            event_type in ("ADDED", "MODIFIED")
            and metadata.get("namespace") in by_ns
            and metadata["name"] == ROLLOUT_DEPLOYMENT
            and (template.get("annotations") or {}).get(ROLLOUT_ANNOTATION) == seq
        ):
            return str(metadata["namespace"])
        return None

    patch = {"spec": {"template": {"metadata": {"annotations": {ROLLOUT_ANNOTATION: seq}}}}}
    watch = ArrivalWatch(bench.down, DEPLOY, "", f"{WORKLOAD_LABEL}=1", rolled_out).start()
    return measure_spread(
        bench,
        fleet,
        watch,
        lambda e: bench.up.merge_patch(DEPLOY, e.upstream_ns, ROLLOUT_DEPLOYMENT, patch),
        lambda e: e.downstream_ns,
    )


def measure_fan_in(bench: Bench, fleet: SyncerFleet, seq: str) -> dict[str, Any]:
    """Phase 4: a status change on every edge's Widget copy at once, until all are upstream."""
    by_ns = {e.upstream_ns for e in bench.edges}

    def returned(event_type: str, obj: dict[str, Any]) -> str | None:
        ns = obj["metadata"].get("namespace")
        phase = (obj.get("status") or {}).get("phase")
        if event_type == "MODIFIED" and ns in by_ns and phase == seq:
            return str(ns)
        return None

    watch = ArrivalWatch(bench.up, WIDGETS, "", f"{WORKLOAD_LABEL}=1", returned).start()
    status = {"status": {"phase": seq}}
    return measure_spread(
        bench,
        fleet,
        watch,
        lambda e: bench.down.merge_patch(
            WIDGETS, e.downstream_ns, STATUS_WIDGET, status, subresource="status"
        ),
        lambda e: e.upstream_ns,
    )


def measure_poller(
    bench: Bench, identities: Identities, seconds: float, always: bool
) -> dict[str, Any]:
    """Phase 5: KubeStellar-0.14-style pollers (``fleet_poller``), each with its edge's
    identity and clients, at rest after two ticks each."""
    clients = [identities.clients(e) for e in bench.edges]
    pollers = [
        EdgePoller(up, down, e.upstream_ns, e.poller_ns, RESOURCES, always_write=always)
        for (up, down), e in zip(clients, bench.edges, strict=True)
    ]
    fleet = PollerFleet(pollers, POLL_INTERVAL).start()
    try:
        warm_up = 3 * POLL_INTERVAL + bench.timeout
        wait(lambda: fleet.min_ticks() >= 2, warm_up, "two ticks of every poller", 1.0)
        before = bench.meter.snap()
        ticks_before = fleet.ticks()
        time.sleep(seconds)
        after = bench.meter.snap()
        ticks = fleet.ticks() - ticks_before
    finally:
        fleet.stop()
        for up, down in clients:
            up.close()
            down.close()
    window = after["upstream"].at - before["upstream"].at
    served = Meter.served(before, after)
    stats = [p.stats for p in pollers]
    per_tick = traffic(served, 1.0 / max(1, ticks))  # ticks: every edge's
    for side in SIDES:
        del per_tick[side]["busiest_syncer"]  # a sum over edges: not one edge's per tick
    return {
        "writes": "always (the original)" if always else "when changed",
        "window_seconds": round(window, 1),
        "ticks_in_window": ticks,
        "late_ticks": sum(s.late_ticks for s in stats),
        "tick_seconds_p50": round(statistics.median(t for s in stats for t in s.tick_seconds), 3),
        "failed_requests": sum(s.failed_requests for s in stats),
        "requests_per_minute_per_edge": traffic(served, 60.0 / window, bench.n),
        "requests_per_tick_per_edge": per_tick,
        # What the original's 15 s cadence costs, even where these threads fell behind it.
        "requests_per_minute_per_edge_at_15s": {
            side: round(per_tick[side]["total"] * 60.0 / POLL_INTERVAL, 1) for side in SIDES
        },
    }


# -- the run -----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    meminfo = pathlib.Path("/proc/meminfo").read_text()
    found = re.search(r"^MemTotal:\s+(\d+) kB", meminfo, re.MULTILINE)
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(int(found.group(1)) / 2**20, 1) if found else None,
        "python": sys.version.split()[0],
    }


def port_of(url: str) -> int:
    port = urllib.parse.urlsplit(url).port
    if port is None:
        raise ValueError(f"no port in {url}")
    return port


def apiserver_log(plane: ControlPlane) -> pathlib.Path:
    """Where ``syncpipe.devenv`` appends the API server's output (and so its audit events)."""
    return plane.workdir / "logs" / "kube-apiserver.log"


def run(args: argparse.Namespace) -> dict[str, Any]:
    use_selector = selector_supported()
    if args.syncers > MAX_SYNCERS_WITHOUT_SELECTOR and not use_selector:
        raise SystemExit(
            f"Error: this syncpipe's `run` has no {SELECTOR_FLAG}: every syncer would merge "
            "every edge's SyncerConfig; only --syncers 1 can run without it"
        )
    edges = [Edge.numbered(i) for i in range(1, args.syncers + 1)]
    results: dict[str, Any] = {
        "parameters": {
            "syncers": args.syncers,
            "rest_seconds": args.rest,
            "poller_rest_seconds": args.poller_rest,
            "poller_writes": args.poller_writes,
            "syncer_args": args.syncer_args,
            "objects_per_edge": sum(OBJECTS_PER_EDGE.values()),
        },
        "machine": machine(),
        "syncer_config_selector": use_selector,
    }
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="syncpipe-fleet-") as tmp:
        workdir = pathlib.Path(tmp)
        policy = workdir / "audit-policy.json"
        policy.write_text(json.dumps(fa.POLICY))
        planes = pair.start_pair(
            assets=assets.ensure_assets(),
            workdir=workdir,
            apiserver_args=fa.apiserver_args(policy),
        )
        results["control_planes_start_seconds"] = round(time.monotonic() - started, 1)
        up = rest_for(planes.upstream.admin_kubeconfig, "upstream")
        down = rest_for(planes.downstream.admin_kubeconfig, "downstream")
        fleet: SyncerFleet | None = None
        try:
            n = len(edges)
            print(f"0/5 {n} edges of {sum(OBJECTS_PER_EDGE.values())} objects upstream ...")
            plane_of = {"upstream": planes.upstream, "downstream": planes.downstream}
            identities = Identities.create([planes.upstream, planes.downstream], edges)
            prepare(up, down, edges)
            logs = {
                "upstream": fa.AuditLog(apiserver_log(planes.upstream)),
                "downstream": fa.AuditLog(apiserver_log(planes.downstream)),
            }
            bench = Bench(
                up=up,
                down=down,
                meter=Meter(logs),
                clock=ProcessClock(planes, own=OWN),
                edges=edges,
                timeout=args.timeout,
                ports={side: port_of(plane.server) for side, plane in plane_of.items()},
                apiserver_pids={
                    side: next(
                        p.pid for p in plane.describe().processes if p.name == "kube-apiserver"
                    )
                    for side, plane in plane_of.items()
                },
            )
            fleet = SyncerFleet(
                edges,
                identities,
                args.logs or workdir / "syncers",
                use_selector,
                shlex.split(args.syncer_args),
            )
            print(f"1/5 start-up storm: {n} syncers at once ...")
            results["startup"] = measure_startup(bench, fleet)
            print(f"2/5 at rest for {args.rest:g} s ...")
            results["at_rest"] = measure_rest(
                bench, fleet, args.rest, results["startup"]["apiserver_rss_mb_before"]
            )
            print("3/5 fleet-wide rollout ...")
            results["rollout"] = measure_rollout(bench, fleet, "rollout-1")
            print("4/5 status fan-in ...")
            results["status_fan_in"] = measure_fan_in(bench, fleet, "fan-in-1")
            fleet.stop()
            print(f"5/5 KubeStellar-0.14-style pollers, {args.poller_rest:g} s at rest ...")
            results["poller"] = measure_poller(
                bench, identities, args.poller_rest, args.poller_writes == "always"
            )
        finally:
            if fleet is not None:
                fleet.stop()
            up.close()
            down.close()
            planes.stop()
    results["total_seconds"] = round(time.monotonic() - started, 1)
    return results


DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)?$")


def duration(text: str) -> float:
    """``90``, ``90s``, ``5m`` or ``1h`` -> seconds."""
    found = DURATION.match(text.strip())
    if not found:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 60s, 5m)")
    return float(found.group(1)) * {"s": 1, "m": 60, "h": 3600}[found.group(2) or "s"]


def main() -> None:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--syncers", type=int, default=1, help="edges, one syncer process each (N)")
    parser.add_argument("--rest", type=duration, default=300.0, help="at-rest window (default 5m)")
    parser.add_argument(
        "--poller-rest", type=duration, default=120.0, help="the poller's window (default 2m)"
    )
    parser.add_argument(
        "--poller-writes",
        choices=("changed", "always"),
        default="changed",
        help="the poller PUTs only what differs (default) or everything, as the original",
    )
    parser.add_argument(
        "--timeout", type=duration, default=600.0, help="longest wait of one phase (default 10m)"
    )
    parser.add_argument(
        "--syncer-args", default="", help="more `syncpipe run` flags, e.g. '--qps 30 --burst 20'"
    )
    parser.add_argument("--logs", type=pathlib.Path, help="keep the syncers' logs here")
    parser.add_argument("--json", type=pathlib.Path, help="write the results here")
    args = parser.parse_args()
    if args.syncers < 1:
        parser.error("--syncers must be at least 1")
    try:
        results = run(args)
    except KeyboardInterrupt:
        print("interrupted: every process this benchmark started is stopped", file=sys.stderr)
        raise SystemExit(130) from None
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
