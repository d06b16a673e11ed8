"""Public test helpers for syncpipe and its plugin authors.

The pytest fixtures (``control_planes``, ``upstream``, ``downstream``, ``unique_name``, ...) live
in ``syncpipe.testing.pytest_plugin``, which pytest loads by itself through the ``pytest11``
entry point once syncpipe is installed. This module holds the plain helpers, importable without
pytest, and the offline plugin harness (``PipelineHarness``, see ``syncpipe.testing.harness``):
the real pipeline over manifests stated in the test, no clusters.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from syncpipe.model.resources import CRD_GVR

if TYPE_CHECKING:
    from syncpipe.testing.clusterstate import ClusterState
    from syncpipe.testing.harness import PipelineHarness
    from syncpipe.testing.manifests import manifests_of, select_everything
    from syncpipe.testing.planned import PassResult, Write

# The harness imports the whole pipeline: loaded on first use, not by every pytest run that
# loads this package's fixtures.
_LAZY = {
    "ClusterState": "syncpipe.testing.clusterstate",
    "PipelineHarness": "syncpipe.testing.harness",
    "manifests_of": "syncpipe.testing.manifests",
    "select_everything": "syncpipe.testing.manifests",
    "PassResult": "syncpipe.testing.planned",
    "Write": "syncpipe.testing.planned",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ClusterState",
    "PassResult",
    "PipelineHarness",
    "WaitTimeout",
    "Write",
    "create_established",
    "manifests_of",
    "select_everything",
    "wait_established",
    "wait_for",
]

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """``wait_for`` gave up; an AssertionError so pytest reports it as a test failure."""


def wait_for(
    predicate: Callable[[], T],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    message: str | Callable[[], str] = "",
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``predicate`` until it returns something truthy, and return that.

    Integration tests wait on the real API server this way instead of sleeping: the wait is as
    short as the system allows and the timeout only bounds a failure. Exceptions of the types in
    ``ignore`` count as "not yet" (e.g. a 404 before an object appears); others propagate at
    once, so a bug in the predicate fails fast instead of after ``timeout``. On timeout the
    error carries ``message`` (a callable is evaluated then, to describe the state at the end),
    the last value and the last ignored exception.
    """
    deadline = time.monotonic() + timeout
    last_value: object = None
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
        except ignore as exc:
            last_error = exc
        else:
            if value:
                return value
            last_value = value
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    text = message() if callable(message) else message
    detail = f"last value {last_value!r}"
    if last_error is not None:
        detail += f"; last error {type(last_error).__name__}: {last_error}"
    raise WaitTimeout(f"{text or 'condition not met'} (waited {timeout:g}s; {detail})")


def wait_established(rest: Any, name: str, *, timeout: float = 30.0) -> None:
    """Wait until the CRD ``name`` is ``Established`` on ``rest``'s server (a ``RestClient``)."""

    def established() -> bool:
        obj = rest.get_or_none(CRD_GVR, "", name) or {}
        conditions = (obj.get("status") or {}).get("conditions") or ()
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    wait_for(established, timeout=timeout, message=f"CRD {name} not established")


def create_established(rest: Any, *manifests: dict[str, Any], timeout: float = 30.0) -> None:
    """Create the CRDs ``manifests`` on ``rest``'s server and wait until each is established."""
    for manifest in manifests:
        rest.create(CRD_GVR, "", manifest)
        wait_established(rest, manifest["metadata"]["name"], timeout=timeout)
