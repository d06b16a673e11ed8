"""Offline benchmark: the pipeline replaying recorded fleets, against floors from the same run.

Run: ``.venv/bin/python benchmarks/offline.py`` (sizes 1k, 10k and 100k objects; ~5 minutes,
~4 GB of memory at 100k) or ``--sizes 1k,10k`` for a quick look; ``--json FILE`` writes the
numbers. Snapshots come from ``benchmarks/generate.py``: the 1k one is in the repository, the
others are generated once into ``benchmarks/data/cache/``. Each size is measured in a fresh
process, so its memory numbers start clean. No assertions: read the ratios.

What is measured per size, on one core, synchronously (the replay engine: the live flows,
hook chain, three-way diff and planner, with writes going to the memory store):

* **single-field stream**: on a fresh engine holding the initial lists, ``SINGLE_FIELD_EVENTS``
  upstream edits that each change one existing value (a ConfigMap's data value, else a label
  value) of a different object, one record per step: the events/s target is about these. In
  the recorded stream the same kinds of events also pay for the delayed work (status return
  after its settle window) that comes due between them, so they are reported apart;
* **throughput**: the change stream after the initial lists, one record at a time through
  ``ReplayEngine.step`` (which reconciles until quiescent, including the reconciles the
  syncer's own writes trigger): events/s overall and for single-field changes (a label value,
  a ConfigMap value), and per-event latency (p50/p99 of ``step``);
* **floor**: the same stream's records parsed from their JSON line, deep-copied and compared
  with the previous version of their object — what any syncer must at least do per event;
* **bytes**: per patch planned for an upstream change, the patch's JSON bytes against the
  object's (target: a one-field change costs ≤ 5 % of the object);
* **naive**: the original syncer's way — a full-object PUT on every change and, every 15 s,
  a PUT of every selected object plus a status PUT of every object with status — counted
  (writes, bytes) over the stream's virtual duration, against what syncpipe planned;
* **memory**: after the initial lists, what the syncer holds — allocations whose innermost
  syncpipe frame is the syncer's (informer caches, flows, queues, engine state), not the
  memory stores standing in for the API servers nor the snapshot reader — per cached object
  and against the JSON bytes of the objects in its caches (target: at most 2x); the whole
  replay's ``tracemalloc`` total and RSS growth are shown beside it;
* **growth**: the per-event time and per-object memory of each size against the 1k ones
  (linear growth keeps both near 1).
"""

from __future__ import annotations

import argparse
import copy
import gc
import gzip
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time
import tracemalloc
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from benchmarks import generate  # noqa: E402
from syncpipe.model.actions import Create, Patch  # noqa: E402
from syncpipe.model.events import Direction, Side  # noqa: E402
from syncpipe.model.objects import RawObject  # noqa: E402
from syncpipe.replay.snapshot import Record, RecordType, Snapshot  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000}
POLL_SECONDS = 15.0  # the original syncer's tick
TARGET_EVENTS_PER_SECOND = 20_000
TARGET_PATCH_SHARE = 0.05
TARGET_MEMORY_RATIO = 2.0


def snapshot_path(size: str) -> pathlib.Path:
    """The snapshot of ``size``: kept in the repository (1k) or generated once (cached)."""
    if size == "1k":
        return DATA / "fleet-1k.jsonl.gz"
    path = DATA / "cache" / f"fleet-{size}.jsonl.gz"
    if not path.exists():
        print(f"generating {path.name} (once) ...", file=sys.stderr)
        partial = path.with_suffix(".partial")
        generate.generate(SIZES[size], 1, partial)
        partial.rename(path)  # an interrupted generation leaves no truncated snapshot behind
    return path


# Memory is attributed by the innermost syncpipe frame that allocated it: the syncer's caches
# and bookkeeping (informer stores, flows, queues, engine state) against what only a replay
# has — the memory stores standing in for the API servers, the snapshot reader, the plan.
TRACE_DEPTH = 16  # frames kept per allocation: enough to reach a syncpipe frame
NOT_THE_SYNCER = (
    "/syncpipe/replay/memstore.py",
    "/syncpipe/replay/patching.py",
    "/syncpipe/replay/snapshot.py",
    "/syncpipe/replay/result.py",
)


def _syncer_share(snapshot: tracemalloc.Snapshot) -> int:
    """Bytes held by allocations whose innermost syncpipe frame is the syncer's.

    Grouped by traceback first (a few thousand distinct ones against millions of traces at
    100k objects, where a loop over the traces themselves takes longer than the replay)."""
    total = 0
    for statistic in snapshot.statistics("traceback"):
        for frame in reversed(statistic.traceback):  # innermost first
            if "/syncpipe/" not in frame.filename:
                continue
            if not frame.filename.endswith(NOT_THE_SYNCER):
                total += statistic.size
            break
    return total


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def _size(obj: Any) -> int:
    return len(orjson.dumps(obj))


def _time_memory_store_writes(engine: Any) -> list[float]:
    """Time spent in the memory store carrying writes out: the API server's share, not the
    syncer's (a live syncer only waits for it). Collected in the returned list."""
    spent: list[float] = []
    for writer in engine.writers.values():
        apply = writer.apply

        def timed(action: Any, apply: Any = apply) -> Any:
            begin = time.process_time()
            try:
                return apply(action)
            finally:
                spent.append(time.process_time() - begin)

        writer.apply = timed
    return spent


# The dedicated single-field stream: this many label-value or data-value edits, one per
# virtual millisecond, spread over the fleet's selected objects after the recorded stream.
SINGLE_FIELD_EVENTS = 5_000


def measure_single_field(path: pathlib.Path) -> tuple[list[float], int]:
    """Per-event time (without the memory store's writes) of ``SINGLE_FIELD_EVENTS`` single-
    field edits on a fresh engine holding the snapshot's initial lists; and the writes made."""
    engine = generate.new_engine(Snapshot(path).header)
    initial = []
    for record in Snapshot(path).records():
        if record.t > 0.0:
            break
        initial.append(record)
    engine.step(initial)
    stream = _single_field_stream(engine, SINGLE_FIELD_EVENTS)
    server = _time_memory_store_writes(engine)
    writes_before = len(engine.result().writes)
    own: list[float] = []
    gc.collect()
    for record in stream:
        server_before = len(server)
        begin = time.process_time()
        engine.step([record])
        own.append(time.process_time() - begin - sum(server[server_before:]))
    return own, len(engine.result().writes) - writes_before


def _single_field_stream(engine: Any, count: int) -> list[Record]:
    """``count`` upstream edits that each change exactly one existing field's value: a
    ConfigMap's first data value, else the value of the object's first label. Each record is
    a new version (resourceVersion bumped) of an object the engine holds upstream."""
    api = engine.apis[Side.UPSTREAM]
    candidates: list[tuple[Any, RawObject]] = []
    flow = engine.flows[Direction.DOWN]
    for gvr in sorted(flow.sources, key=str):
        if gvr.resource in ("namespaces", "customresourcedefinitions"):
            continue
        for obj in api.objects(gvr):
            if (obj.get("kind") == "ConfigMap" and obj.get("data")) or obj["metadata"].get(
                "labels"
            ):
                candidates.append((gvr, obj))
    start = engine.now + 60.0
    rv = int(api.resource_version) + 1_000_000
    records = []
    for i in range(count):
        gvr, obj = candidates[(i * 7919) % len(candidates)]  # a stride that visits them all
        meta = dict(obj["metadata"], resourceVersion=str(rv + i))
        new = dict(obj, metadata=meta)
        if obj.get("kind") == "ConfigMap" and obj.get("data"):
            first = next(iter(obj["data"]))
            new["data"] = dict(obj["data"], **{first: f"value-{i}"})
        else:
            first = next(iter(meta["labels"]))
            meta["labels"] = dict(meta["labels"], **{first: f"value-{i}"})
        records.append(
            Record(
                t=start + i / 1000.0,
                side=Side.UPSTREAM,
                type=RecordType.MODIFIED,
                gvr=gvr,
                object=new,
            )
        )
    return records


def classify(record: Record, previous: RawObject | None) -> str:
    """Which kind of change a stream record is (for per-kind throughput)."""
    if record.type is RecordType.DELETED:
        return "delete"
    if record.side is Side.DOWNSTREAM:
        return "status churn"
    if previous is None or record.object is None:
        return "no-op edit"
    new = record.object
    if new.get("spec") != previous.get("spec"):
        return "rollout"
    if new.get("data") != previous.get("data"):
        return "one field (data)"
    if new["metadata"].get("labels") != previous["metadata"].get("labels"):
        before = previous["metadata"].get("labels") or {}
        after = new["metadata"].get("labels") or {}
        return "one field (label)" if before.keys() == after.keys() else "new label key"
    return "no-op edit"


def measure(path: pathlib.Path) -> dict[str, Any]:
    """Everything for one snapshot, in this process (run it in a fresh one)."""
    engine = generate.new_engine(Snapshot(path).header)
    snapshot = Snapshot(path)
    records = snapshot.records()

    # -- memory: the initial lists into the caches ---------------------------------------------
    gc.collect()
    rss_before = rss_bytes()
    tracemalloc.start(TRACE_DEPTH)
    base, _ = tracemalloc.get_traced_memory()
    initial: list[Record] = []
    first_change: Record | None = None
    for record in records:
        if record.t > 0.0:
            first_change = record
            break
        initial.append(record)
    started = time.process_time()
    engine.step(initial)
    initial_seconds = time.process_time() - started
    initial_count = len(initial)
    del initial
    gc.collect()
    traced, _ = tracemalloc.get_traced_memory()
    syncer_bytes = _syncer_share(tracemalloc.take_snapshot())
    tracemalloc.stop()
    rss_after = rss_bytes()
    cached = [o for side in Side for o in engine.apis[side]]
    cached_json = sum(_size(o) for o in cached)
    objects = len(cached)
    in_caches = [o for informer in engine.informers() for o in informer.store.list()]
    syncer_cached_json = sum(_size(o) for o in in_caches)
    initial_writes = len(engine.result().writes)

    # -- the change stream ---------------------------------------------------------------------
    stream = [first_change] if first_change is not None else []
    stream.extend(records)
    server = _time_memory_store_writes(engine)
    kinds: list[str] = []
    latencies: list[float] = []
    own: list[float] = []  # per event, without the memory store's share
    gc.collect()
    started = time.process_time()
    for record in stream:
        api = engine.apis[record.side]
        meta = (record.object or {}).get("metadata") or {}
        previous = api.get_or_none(record.gvr, meta.get("namespace", ""), meta.get("name", ""))
        kinds.append(classify(record, previous))
        writes_before = len(server)
        begin = time.process_time()
        engine.step([record])
        latencies.append(time.process_time() - begin)
        own.append(latencies[-1] - sum(server[writes_before:]))
    engine.finish()
    stream_seconds = sum(latencies)
    by_kind: dict[str, list[float]] = {}
    for kind, latency in zip(kinds, own, strict=True):
        by_kind.setdefault(kind, []).append(latency)
    result = engine.result()
    writes = list(result.writes[initial_writes:])

    # -- bytes: patches against the objects they change -----------------------------------------
    shares: dict[str, list[float]] = {"status": [], "spec": [], "metadata/data": []}
    sent = 0
    for write in writes:
        action = write.action
        if isinstance(action, Patch):
            size = _size(list(action.ops))
            sent += size
            if write.object_bytes:
                paths = {op["path"].split("/")[1] for op in action.ops}
                bucket = (
                    "status"
                    if action.subresource
                    else "spec"
                    if "spec" in paths
                    else "metadata/data"
                )
                shares[bucket].append(size / write.object_bytes)
        elif isinstance(action, Create):
            sent += _size(action.body)

    # -- floor: parse + deep copy + equality on the same records --------------------------------
    lines = []
    with gzip.open(path, "rb") as raw:
        for line in raw:
            if b'"t":0.0,' not in line[:12] and line.startswith(b'{"t":'):
                lines.append(line)
    latest: dict[tuple[str, str, str, str], Any] = {}
    gc.collect()
    started = time.process_time()
    for line in lines:
        data = orjson.loads(line)
        obj = data.get("object") or {}
        meta = obj.get("metadata") or {}
        key = (data["side"], data["gvr"], meta.get("namespace", ""), meta.get("name", ""))
        copied = copy.deepcopy(obj)
        _ = copied == latest.get(key)
        latest[key] = copied
    floor_seconds = time.process_time() - started

    # -- naive: full PUT per change, every object (and every status) every poll -----------------
    selected = [o for o in engine.apis[Side.UPSTREAM] if o.get("kind") not in ("SyncerConfig",)]
    with_status = [o for o in selected if o.get("status")]
    duration = max((r.t for r in stream), default=0.0)
    ticks = int(duration // POLL_SECONDS)
    poll_bytes = sum(_size({k: v for k, v in o.items() if k != "status"}) for o in selected)
    status_bytes = sum(_size(o) for o in with_status)
    change_bytes = 0
    change_writes = 0
    for record in stream:
        if record.object is None or record.type is RecordType.DELETED:
            continue
        change_writes += 1
        change_bytes += _size(record.object)
    naive_writes = change_writes + ticks * (len(selected) + len(with_status))
    naive_bytes = change_bytes + ticks * (poll_bytes + status_bytes)

    syncpipe_writes = len(writes)
    summary = result.summary()
    del engine, result, writes, cached
    gc.collect()
    single_own, single_writes = measure_single_field(path)
    mixed_single = by_kind.get("one field (data)", []) + by_kind.get("one field (label)", [])
    return {
        "snapshot": path.name,
        "objects_cached": objects,
        "initial_records": initial_count,
        "initial_seconds": initial_seconds,
        "initial_writes": initial_writes,
        "events": len(stream),
        "stream_seconds": stream_seconds,
        "events_per_second": len(stream) / stream_seconds,
        "server_seconds": sum(server),
        "pipeline_events_per_second": len(stream) / (stream_seconds - sum(server)),
        "single_field_events": len(single_own),
        "single_field_events_per_second": len(single_own) / sum(single_own),
        "single_field_p50_us": percentile(single_own, 0.5) * 1e6,
        "single_field_writes": single_writes,
        "mixed_single_field_events_per_second": (
            len(mixed_single) / sum(mixed_single) if mixed_single else 0.0
        ),
        "latency_p50_us": percentile(own, 0.5) * 1e6,
        "latency_p99_us": percentile(own, 0.99) * 1e6,
        "per_kind": {
            kind: {
                "events": len(values),
                "events_per_second": len(values) / sum(values),
                "p50_us": percentile(values, 0.5) * 1e6,
            }
            for kind, values in sorted(by_kind.items())
        },
        "floor_events_per_second": len(lines) / floor_seconds,
        "patch_share_median": {k: statistics.median(v) if v else None for k, v in shares.items()},
        "patch_share_p90": {k: percentile(v, 0.9) if v else None for k, v in shares.items()},
        "syncpipe_writes": syncpipe_writes,
        "syncpipe_bytes": sent,
        "summary": summary,
        "naive_writes": naive_writes,
        "naive_bytes": naive_bytes,
        "virtual_seconds": duration,
        "traced_bytes": traced - base,
        "rss_bytes": rss_after - rss_before,
        "cached_json_bytes": cached_json,
        "traced_per_1k_objects": (traced - base) / objects * 1000,
        "rss_per_1k_objects": (rss_after - rss_before) / objects * 1000,
        "engine_memory_ratio": (traced - base) / cached_json,
        "syncer_bytes": syncer_bytes,
        "syncer_cached_objects": len(in_caches),
        "syncer_cached_json_bytes": syncer_cached_json,
        "syncer_bytes_per_1k_objects": syncer_bytes / max(1, len(in_caches)) * 1000,
        "memory_ratio": syncer_bytes / syncer_cached_json,
        "us_per_event": (stream_seconds - sum(server)) / len(stream) * 1e6,
    }


def _mb(value: float) -> str:
    return f"{value / 1e6:.1f} MB"


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(title: str, header: list[str], rows: list[str]) -> list[str]:
    return ["", title, "", _row(*header), _row(*["---"] * len(header)), *rows]


def _share(result: dict[str, Any], kind: str) -> str:
    median = result["patch_share_median"][kind]
    if median is None:
        return "-"
    return f"{median:.1%} / {result['patch_share_p90'][kind]:.1%}"


def report(results: dict[str, dict[str, Any]]) -> str:
    """The tables of the README (markdown)."""
    rows = []
    for size, r in results.items():
        single = r["single_field_events_per_second"]
        mixed_single = r["mixed_single_field_events_per_second"]
        rows.append(
            _row(
                size,
                f"{r['objects_cached']:,}",
                f"{r['events']:,}",
                f"{r['pipeline_events_per_second']:,.0f}",
                f"{r['events_per_second']:,.0f}",
                f"{single:,.0f} ({_met(single >= TARGET_EVENTS_PER_SECOND)}), "
                f"p50 {r['single_field_p50_us']:,.0f} us",
                f"{mixed_single:,.0f}",
                f"{r['latency_p50_us']:,.0f} / {r['latency_p99_us']:,.0f} us",
                f"{r['floor_events_per_second']:,.0f}",
                f"{r['floor_events_per_second'] / r['pipeline_events_per_second']:.1f}x",
            )
        )
    lines = _table(
        "## throughput (one core, synchronous)",
        [
            "size",
            "cached objects",
            "events",
            "events/s",
            "events/s with the memory store's writes",
            "single-field stream: events/s (target 20,000)",
            "single-field events within the recorded stream, events/s",
            "p50 / p99 per event",
            "floor events/s",
            "floor / pipeline",
        ],
        rows,
    )
    kinds = sorted({k for r in results.values() for k in r["per_kind"]})
    rows = []
    for size, r in results.items():
        cells = []
        for kind in kinds:
            k = r["per_kind"].get(kind)
            cells.append(f"{k['events_per_second']:,.0f}/s, {k['p50_us']:,.0f} us" if k else "-")
        rows.append(_row(size, *cells))
    lines += _table("per kind of change (events/s, p50):", ["size", *kinds], rows)
    rows = []
    for size, r in results.items():
        ok = (r["patch_share_median"]["metadata/data"] or 0) <= TARGET_PATCH_SHARE
        writes_ratio = r["naive_writes"] / max(1, r["syncpipe_writes"])
        bytes_ratio = r["naive_bytes"] / max(1, r["syncpipe_bytes"])
        rows.append(
            _row(
                size,
                f"{_share(r, 'metadata/data')} ({_met(ok)})",
                _share(r, "spec"),
                _share(r, "status"),
                f"{r['syncpipe_writes']:,}",
                f"{r['naive_writes']:,} ({writes_ratio:.0f}x)",
                _mb(r["syncpipe_bytes"]),
                f"{_mb(r['naive_bytes'])} ({bytes_ratio:.0f}x)",
            )
        )
    lines += _table(
        "## bytes: patch / object (median / p90), and the naive syncer",
        [
            "size",
            "label/data patches (target 5 %)",
            "spec (rollout) patches",
            "status patches",
            "syncpipe writes",
            "naive writes",
            "syncpipe bytes",
            "naive bytes",
        ],
        rows,
    )
    rows = []
    for size, r in results.items():
        ok = r["memory_ratio"] <= TARGET_MEMORY_RATIO
        rows.append(
            _row(
                size,
                f"{r['syncer_cached_objects']:,}",
                _mb(r["syncer_cached_json_bytes"]),
                _mb(r["syncer_bytes"]),
                f"{r['syncer_bytes_per_1k_objects'] / 1000:,.0f} B",
                f"{r['memory_ratio']:.2f}x ({_met(ok)})",
                f"{_mb(r['traced_bytes'])} ({r['engine_memory_ratio']:.1f}x)",
                _mb(r["rss_bytes"]),
            )
        )
    lines += _table(
        "## memory after the initial lists",
        [
            "size",
            "objects in the syncer's caches",
            "their JSON",
            "syncer (tracemalloc)",
            "per cached object",
            "syncer / JSON (target 2x)",
            "whole replay incl. the API-server doubles (x their JSON)",
            "RSS growth",
        ],
        rows,
    )
    base = results.get("1k")
    if base and len(results) > 1:
        rows = []
        for size, r in results.items():
            init = r["initial_seconds"] / r["initial_records"] * 1e6
            init_base = base["initial_seconds"] / base["initial_records"] * 1e6
            memory = r["syncer_bytes_per_1k_objects"] / base["syncer_bytes_per_1k_objects"]
            rows.append(
                _row(
                    size,
                    f"{r['us_per_event']:,.0f}",
                    f"{r['us_per_event'] / base['us_per_event']:.2f}",
                    f"{r['syncer_bytes_per_1k_objects'] / 1000:,.0f} B",
                    f"{memory:.2f}",
                    f"{init:,.1f}",
                    f"{init / init_base:.2f}",
                )
            )
        lines += _table(
            "## growth against 1k (1.00 = linear)",
            [
                "size",
                "us per event",
                "x 1k",
                "memory per object",
                "x 1k",
                "initial lists, us per record",
                "x 1k",
            ],
            rows,
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="1k,10k,100k", help="comma-separated: 1k, 10k, 100k")
    parser.add_argument("--json", type=pathlib.Path, help="also write the numbers here")
    parser.add_argument("--measure", type=pathlib.Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    results: dict[str, dict[str, Any]] = {}
    for size in args.sizes.split(","):
        path = snapshot_path(size)
        print(f"measuring {size} ({path.name}) ...", file=sys.stderr)
        done = subprocess.run(
            [sys.executable, __file__, "--measure", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        results[size] = json.loads(done.stdout)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
