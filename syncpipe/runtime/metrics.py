"""Prometheus metrics of one syncer process (served on ``/metrics`` by ``runtime.health``).

Counters and histograms are updated on the paths that already know the numbers (the controller
times each reconcile, the writer hook counts writes); gauges read the live state when scraped
(queue depth, owned copies, watch restarts), so nothing is counted twice or kept in sync by
hand. Metric names follow Prometheus conventions with the ``syncpipe_`` prefix.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import prometheus_client as prom

from syncpipe.hooks import hookimpl

REGISTRY = prom.REGISTRY

RECONCILE_SECONDS = prom.Histogram(
    "syncpipe_reconcile_seconds",
    "Time to reconcile one object key, by direction and resource.",
    ["direction", "resource"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WRITES = prom.Counter(
    "syncpipe_writes_total", "Writes made, by side and verb.", ["side", "verb", "subresource"]
)
ERRORS = prom.Counter(
    "syncpipe_errors_total",
    "Reconcile failures, by controller and error class.",
    ["controller", "reason"],
)

_gauges: dict[str, prom.Gauge] = {}


# Children by label values, looked up once: ``labels()`` locks and builds a key on every call,
# and these are updated on every reconcile and every write.
@functools.lru_cache(maxsize=4096)
def reconcile_seconds(direction: str, resource: str) -> prom.Histogram:
    return RECONCILE_SECONDS.labels(direction, resource)


@functools.lru_cache(maxsize=256)
def writes(side: str, verb: str, subresource: str) -> prom.Counter:
    return WRITES.labels(side, verb, subresource)


def gauge(name: str, documentation: str, read: Callable[[], float]) -> None:
    """Register (once per process) a gauge whose value is read at scrape time."""
    metric = _gauges.get(name)
    if metric is None:
        metric = prom.Gauge(name, documentation)
        _gauges[name] = metric
    metric.set_function(read)


# The write counter's plugin name (registered by the live driver's pipeline only).
WRITE_COUNTER = "syncpipe.metrics"


class WriteCounter:
    """A plugin (``syncpipe_action_done``) counting every write by side, verb and subresource."""

    @hookimpl
    def syncpipe_action_done(self, action: object) -> None:
        side = getattr(getattr(action, "side", None), "value", "")
        writes(side, getattr(action, "verb", ""), getattr(action, "subresource", "")).inc()
