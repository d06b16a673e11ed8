"""The two control planes syncpipe syncs between: ``upstream`` and ``downstream``.

They differ in their controllers, mirroring KubeStellar: the upstream is a mailbox workspace,
where nothing runs workloads, so it only gets the controllers that keep the API itself sane
(service accounts, namespace deletion, garbage collection, aggregated ClusterRoles); the
downstream is an edge cluster and gets every default controller except those that need nodes or
a cloud, so a Deployment written there grows a ReplicaSet and a status as on a real cluster.

Both start concurrently: most of a cold start is each API server's own bootstrap, which does
not get faster by waiting for the other one.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import attrs

from syncpipe.devenv import controlplane, flags
from syncpipe.devenv.assets import Assets
from syncpipe.devenv.nodeconfig import NODE_ADDRESS

UPSTREAM_CONTROLLERS = (
    "serviceaccount-token",
    "serviceaccount",
    "namespace",
    "garbagecollector",
    "clusterrole-aggregation",
)
DOWNSTREAM_CONTROLLERS = (
    "*",
    "-nodeipam",
    "-nodelifecycle",
    "-cloud-node-lifecycle",
    "-route",
    "-service",
)
# With a node: its lifecycle controller lifts the "not-ready" taint the kubelet registers with.
DOWNSTREAM_CONTROLLERS_WITH_NODE = tuple(c for c in DOWNSTREAM_CONTROLLERS if c != "-nodelifecycle")


@attrs.define(eq=False)
class ControlPlanePair:
    """The started ``upstream`` and ``downstream`` control planes; ``stop`` stops both."""

    upstream: controlplane.ControlPlane
    downstream: controlplane.ControlPlane

    def stop(self) -> None:
        """Stop both; safe to call again."""
        try:
            self.upstream.stop()
        finally:
            self.downstream.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_pair(
    *,
    assets: Assets,
    workdir: Path | None = None,
    watch_cache_sizes: Sequence[str] = (),
    apiserver_args: Sequence[str] = (),
    stop_at_exit: bool = True,
    for_node: bool = False,
) -> ControlPlanePair:
    """Start upstream and downstream concurrently and return them once both are ready.

    With ``workdir`` each gets the subdirectory of its name (kept after ``stop``, with the
    logs); without it each uses a temporary directory. If either fails to start, the other is
    stopped too and the first error is raised. ``for_node``: both API servers listen on the
    node's bridge address instead of loopback (pods reach them there; the bridge must exist),
    and the downstream runs the node lifecycle controller (``node.Node`` is started separately).
    """
    address = NODE_ADDRESS if for_node else flags.LOOPBACK
    downstream_controllers = (
        DOWNSTREAM_CONTROLLERS_WITH_NODE if for_node else DOWNSTREAM_CONTROLLERS
    )
    planes = {
        name: controlplane.ControlPlane(
            name,
            assets=assets,
            workdir=None if workdir is None else workdir / name,
            controllers=controllers,
            watch_cache_sizes=watch_cache_sizes,
            apiserver_args=apiserver_args,
            address=address,
        )
        for name, controllers in (
            ("upstream", UPSTREAM_CONTROLLERS),
            ("downstream", downstream_controllers),
        )
    }
    pair = ControlPlanePair(upstream=planes["upstream"], downstream=planes["downstream"])
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="start")
    try:
        futures = [pool.submit(p.start, stop_at_exit=stop_at_exit) for p in planes.values()]
        concurrent.futures.wait(futures)
    except BaseException:
        # Ctrl-C while waiting: stopping makes both starts fail fast instead of finishing.
        pair.stop()
        raise
    finally:
        pool.shutdown(wait=True)
    for future in futures:
        error = future.exception()
        if error is not None:
            pair.stop()
            raise error
    return pair
