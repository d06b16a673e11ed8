"""``syncpipe run``: the syncer process between an upstream and a downstream cluster."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time

import click

from syncpipe.cli import logs
from syncpipe.cli.clusteroptions import DOWNSTREAM_ENV, UPSTREAM_ENV
from syncpipe.cli.pipelineoptions import PipelineOptions, pipeline_options, settings_default
from syncpipe.config.durations import Duration


def klog_verbosity(level: int) -> int:
    """syncpipe's ``-v`` count for klog's ``--v=N`` (the original syncer's deployment runs 3).

    0 → INFO; 1-3 → INFO with detail (``-v``); 4-5 → DEBUG (``-vv``); 6 and more → DEBUG with
    every HTTP request (``-vvv``), as ``kubectl -v=6`` shows requests.
    """
    if level <= 0:
        return 0
    if level <= 3:
        return 1
    return 2 if level <= 5 else 3


# The original KubeStellar-Syncer's flags that `syncpipe run` accepts as they are: a
# Deployment written for the original runs syncpipe by swapping its image.
ORIGINAL_SYNCER_FLAGS = (
    "--from-kubeconfig",
    "--from-context",
    "--to-kubeconfig",
    "--to-context",
    "--sync-target-name",
    "--sync-target-uid",
    "--qps",
    "--burst",
    "--v",
)
# The original binary's burst, used when --qps is given without --burst.
DEFAULT_BURST = 20


@click.command("run")
@click.option(
    "--upstream-kubeconfig",
    "--from-kubeconfig",
    "upstream_kubeconfig",
    envvar=UPSTREAM_ENV,
    help="Kubeconfig of the upstream (mailbox) side (the original's --from-kubeconfig).",
)
@click.option(
    "--upstream-context",
    "--from-context",
    "upstream_context",
    default=None,
    help="Context in the upstream kubeconfig (the original's --from-context).",
)
@click.option(
    "--downstream-kubeconfig",
    "--to-kubeconfig",
    "downstream_kubeconfig",
    envvar=DOWNSTREAM_ENV,
    help="Kubeconfig of the downstream (edge) side; default: $KUBECONFIG, ~/.kube/config, "
    "or the pod's ServiceAccount (the original's --to-kubeconfig).",
)
@click.option(
    "--downstream-context",
    "--to-context",
    "downstream_context",
    default=None,
    help="Context in the downstream kubeconfig (the original's --to-context).",
)
@pipeline_options
@click.option(
    "--sync-target-name",
    default=None,
    help="The original's name of the edge cluster: the syncer's name when --syncer-name is "
    "not given.",
)
@click.option(
    "--sync-target-uid",
    default="",
    help="The original's sync target UID: logged and reported in the SyncerConfig status.",
)
@click.option(
    "--qps",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Client-side limit of requests per second to each side (0: none). The original "
    "syncer's default was 30.",
)
@click.option(
    "--burst",
    default=None,
    type=click.IntRange(min=1),
    help=f"Requests at once above --qps [default: {DEFAULT_BURST}].",
)
@click.option(
    "--discovery-interval",
    default=settings_default("discovery_interval"),
    show_default=True,
    type=Duration(allow_zero=False),
    help="Time between safety sweeps of API discovery (CRD and APIService events are "
    "followed at once).",
)
@click.option(
    "--write-concurrency",
    default=8,
    show_default=True,
    type=int,
    help="Writes in flight to each side at most.",
)
@click.option(
    "--source",
    "source_mode",
    type=click.Choice(["watch", "poll"]),
    default="watch",
    show_default=True,
    help="list+watch informers, or polling lists for servers where watch does not work.",
)
@click.option(
    "--poll-interval",
    default=settings_default("poll_interval"),
    show_default=True,
    type=Duration(allow_zero=False),
    help="Time between lists with --source poll.",
)
@click.option(
    "--health-address",
    default="",
    help="Serve /healthz, /readyz and /metrics here (e.g. 0.0.0.0:8080); off when empty.",
)
@click.option(
    "--leader-elect/--no-leader-elect",
    default=False,
    show_default=True,
    help="Hold a Lease downstream before writing, so replicas never write at once.",
)
@click.option(
    "--leader-election-namespace",
    envvar="POD_NAMESPACE",
    default="default",
    show_default=True,
    help="Namespace of the Lease (default: $POD_NAMESPACE, else default).",
)
@click.option(
    "--insecure-skip-tls-verify",
    is_flag=True,
    help="Do not verify servers' certificates (loud; for tests only).",
)
@click.option("-v", "--verbose", count=True, help="More detail (-vv for debug).")
@click.option(
    "--v",
    "klog_level",
    default=0,
    type=click.IntRange(min=0),
    help="klog's verbosity, as the original syncer took it: 1-3 is -v, 4-5 -vv, 6+ -vvv.",
)
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def command(
    pipeline: PipelineOptions,
    upstream_kubeconfig: str | None,
    upstream_context: str | None,
    downstream_kubeconfig: str | None,
    downstream_context: str | None,
    sync_target_name: str | None,
    sync_target_uid: str,
    qps: float,
    burst: int | None,
    discovery_interval: float,
    write_concurrency: int,
    source_mode: str,
    poll_interval: float,
    health_address: str,
    leader_elect: bool,
    leader_election_namespace: str,
    insecure_skip_tls_verify: bool,
    verbose: int,
    klog_level: int,
    log_format: str,
) -> None:
    """Sync objects selected by the upstream SyncerConfigs down, and status/upsync back up.

    The original KubeStellar-Syncer's flags work too (--from-kubeconfig, --to-kubeconfig,
    --sync-target-name, --sync-target-uid, --qps, --burst, --v), also without the word
    `run`: `syncpipe --from-kubeconfig=... --sync-target-name=...`.
    """
    logs.setup(verbose=max(verbose, klog_verbosity(klog_level)), json_format=log_format == "json")
    from syncpipe.runtime import wiring

    if not upstream_kubeconfig:
        raise click.UsageError("--upstream-kubeconfig (or --from-kubeconfig) is required")
    settings = pipeline.settings(
        name_fallback=sync_target_name,
        sync_target_uid=sync_target_uid,
        discovery_interval=discovery_interval,
        write_concurrency=write_concurrency,
        source_mode=source_mode,
        poll_interval=poll_interval,
    )
    syncer_name = settings.syncer_name
    syncer = wiring.build_syncer(
        settings=settings,
        upstream_kubeconfig=upstream_kubeconfig,
        upstream_context=upstream_context,
        downstream_kubeconfig=downstream_kubeconfig,
        downstream_context=downstream_context,
        insecure=insecure_skip_tls_verify,
        qps=qps,
        burst=burst or DEFAULT_BURST,
    )
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        if stop.is_set():
            sys.exit(1)  # a second signal: stop now
        logging.getLogger("syncpipe").info("signal %d: draining and stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log = logging.getLogger("syncpipe")
    log.info(
        "syncpipe %s starting%s%s",
        syncer_name,
        f" (sync target uid {sync_target_uid})" if sync_target_uid else "",
        f"; client-side limit {qps:g} requests/s, bursts of {burst or DEFAULT_BURST}, per side"
        if qps
        else "",
    )
    syncer.register_gauges()
    elector = None
    if leader_elect:
        elector = wiring.leader_elector(syncer, namespace=leader_election_namespace)
    server = None
    if health_address:
        from syncpipe.runtime.health import HealthServer

        def ready() -> bool:
            return syncer.serving() and (elector is None or elector.is_leader.is_set())

        server = HealthServer(health_address, ready=ready, alive=syncer.alive)
        server.start()
        log.info("health and metrics on %s", health_address)
    if elector is not None:
        campaign = threading.Thread(target=elector.wait_until_leader, daemon=True)
        campaign.start()
        log.info("leader election: waiting for lease %s/%s", elector.namespace, elector.name)
        while campaign.is_alive() and not stop.wait(0.5):
            pass
        if stop.is_set():
            elector.stop()
            if server is not None:
                server.stop()
            return
        threading.Thread(target=elector.keep_renewing, daemon=True).start()
    syncer.start()
    announced = False
    quiet = log_format == "json"
    last_progress = 0.0
    lost = False
    try:
        while not stop.wait(1.0):
            if elector is not None and elector.lost.is_set():
                log.error("leadership lost: stopping so that only the new leader writes")
                lost = True
                break
            if announced:
                continue
            if syncer.ready.is_set():
                for direction, resources in syncer.describe().items():
                    log.info("syncing %s: %s", direction, ", ".join(resources) or "nothing")
                p = syncer.progress()
                log.info(
                    "initial sync done: %d objects seen, %d copies owned, %d writes",
                    p["seen"],
                    p["owned"],
                    p["writes"],
                )
                announced = True
            elif not quiet and time.monotonic() - last_progress >= 2.0:
                p = syncer.progress()
                log.info(
                    "initial sync: %d objects seen, %d copies owned, %d queued, %d writes",
                    p["seen"],
                    p["owned"],
                    p["queued"],
                    p["writes"],
                )
                last_progress = time.monotonic()
    finally:
        started = time.monotonic()
        syncer.stop()
        if elector is not None:
            elector.stop()
            elector.release()
        if server is not None:
            server.stop()
        log.info("stopped in %.1fs", time.monotonic() - started)
    if lost:
        sys.exit(1)
