"""Build a Syncer from kubeconfig locations (where the runtime meets ``clients.connect``)."""

from __future__ import annotations

import pluggy

from syncpipe.builtin import ownership
from syncpipe.clients.connect import ClusterAccess, load_configuration
from syncpipe.clients.rest import RestClient
from syncpipe.config.settings import Settings
from syncpipe.runtime.leader import LeaderElector
from syncpipe.runtime.ratelimit import RequestThrottle
from syncpipe.runtime.syncer import Syncer


def build_syncer(
    *,
    settings: Settings,
    upstream_kubeconfig: str,
    upstream_context: str | None = None,
    downstream_kubeconfig: str | None = None,
    downstream_context: str | None = None,
    insecure: bool = False,
    qps: float = 0.0,
    burst: int = 0,
    pm: pluggy.PluginManager | None = None,
) -> Syncer:
    """A syncer between two kubeconfigs' servers (not started).

    ``qps`` > 0 limits each side's client to that many requests per second on average, with
    bursts of ``burst`` (at least 1): the original syncer's ``--qps``/``--burst``. ``0``: no
    client-side limit (the API servers' own flow control still applies). ``pm``: the plugin
    manager to use instead of the default one (tests register plugins in-process).
    """
    up = load_configuration(
        ClusterAccess(
            kubeconfig=upstream_kubeconfig,
            context=upstream_context,
            insecure_skip_tls_verify=insecure,
            label="upstream",
        )
    )
    down = load_configuration(
        ClusterAccess(
            kubeconfig=downstream_kubeconfig,
            context=downstream_context,
            allow_in_cluster=True,
            insecure_skip_tls_verify=insecure,
            label="downstream",
        )
    )

    def throttle() -> RequestThrottle | None:
        return RequestThrottle(qps=qps, burst=max(1, burst)) if qps > 0 else None

    return Syncer(
        settings=settings,
        upstream=RestClient(up, label="upstream", throttle=throttle()),
        downstream=RestClient(down, label="downstream", throttle=throttle()),
        pm=pm,
    )


def leader_elector(syncer: Syncer, *, namespace: str) -> LeaderElector:
    """The elector for ``syncer``: Lease ``syncpipe-<owner label>`` on the downstream side."""
    name = f"syncpipe-{ownership.owner_label_value(syncer.settings.syncer_name)}"[:63].rstrip("-.")
    return LeaderElector(syncer.downstream, namespace=namespace, name=name)
