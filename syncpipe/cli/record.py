"""``syncpipe record``: capture a live session into a snapshot for ``syncpipe replay``.

Records the initial list of every collection the syncer would look at (the selected
resources, namespaces, CRDs, the configs) and then every watch event with its arrival time,
from one side (``--kubeconfig``/``--side``) or both at once (``--upstream-kubeconfig`` and
``--downstream-kubeconfig``), until ``--duration`` has passed or a signal (Ctrl-C) arrives.
The snapshot format is described in ``syncpipe.replay.snapshot`` and the README.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import click

from syncpipe import errors
from syncpipe.cli import logs
from syncpipe.cli.clusteroptions import ClusterOptions, cluster_options
from syncpipe.config.durations import Duration, format_duration


def _check_sides(kubeconfig: str | None, side: str | None, clusters: ClusterOptions) -> None:
    both = clusters.named
    if kubeconfig and both:
        raise click.UsageError(
            "give --kubeconfig (one side) or --upstream-/--downstream-kubeconfig, not both"
        )
    if both and not (clusters.upstream_kubeconfig and clusters.downstream_kubeconfig):
        raise click.UsageError(
            "recording both sides needs --upstream-kubeconfig and --downstream-kubeconfig"
        )
    if not both and not side:
        raise click.UsageError(
            "with --kubeconfig, say which side it is: --side upstream|downstream"
        )


@click.command("record")
@click.option("--kubeconfig", help="Kubeconfig of the one side to record (with --side).")
@click.option("--context", default=None, help="Context in --kubeconfig.")
@click.option(
    "--side",
    type=click.Choice(["upstream", "downstream"]),
    help="Which side --kubeconfig is.",
)
@cluster_options(
    upstream_help="Record both sides: the upstream (mailbox) side.",
    downstream_help="Record both sides: the downstream (edge) side.",
    from_environment=False,
)
@click.option(
    "--syncer-config",
    "syncer_configs",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Record what these SyncerConfig files select (repeatable).",
)
@click.option(
    "--all-selected",
    is_flag=True,
    help="Record what the SyncerConfigs upstream select (followed as they change).",
)
@click.option(
    "--duration",
    type=Duration(allow_zero=False),
    help="Stop after this long (e.g. 30s, 5m, 1h30m).",
)
@click.option("--until-signal", is_flag=True, help="Stop on Ctrl-C or SIGTERM (the default).")
@click.option(
    "--keep-secret-data",
    is_flag=True,
    help="Write Secrets' data as it is (default: each value replaced by a keyed digest).",
)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="The snapshot file to write (gzip'd JSON Lines, e.g. session.jsonl.gz).",
)
@click.option("-v", "--verbose", count=True, help="More detail (-vv for debug).")
def command(
    kubeconfig: str | None,
    context: str | None,
    side: str | None,
    clusters: ClusterOptions,
    syncer_configs: tuple[str, ...],
    all_selected: bool,
    duration: float | None,
    until_signal: bool,
    keep_secret_data: bool,
    output: str,
    verbose: int,
) -> None:
    """Record a live session (initial lists, then watch events) into a snapshot file."""
    logs.setup(verbose=verbose)
    _check_sides(kubeconfig, side, clusters)
    if bool(syncer_configs) == all_selected:
        raise click.UsageError("give either --syncer-config FILE... or --all-selected")
    if duration is not None and until_signal:
        raise click.UsageError("give either --duration or --until-signal")
    from syncpipe.model.events import Side
    from syncpipe.replay import capture, configs
    from syncpipe.replay.recorder import Recorder

    accesses = {Side(side): (kubeconfig, context)} if kubeconfig else clusters.accesses()
    if all_selected and Side.UPSTREAM not in accesses:
        raise click.UsageError(
            "--all-selected reads the SyncerConfigs upstream: record the upstream side too, "
            "or give --syncer-config"
        )
    stop = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        clients = {
            s: capture.connect(path, ctx, label=s.value, insecure=clusters.insecure_skip_tls_verify)
            for s, (path, ctx) in accesses.items()
        }
        recorder = Recorder(
            target=output,
            clients=clients,
            config_objects=configs.load_config_files(syncer_configs) if syncer_configs else None,
            keep_secret_data=keep_secret_data,
        )
        deadline = None if duration is None else time.monotonic() + duration
        click.echo(
            f"recording {', '.join(s.value for s in clients)} into {output} "
            + (f"for {format_duration(duration)}" if duration is not None else "until Ctrl-C"),
            err=True,
        )
        written = recorder.run_until(
            lambda: stop.is_set() or (deadline is not None and time.monotonic() >= deadline)
        )
    except (errors.ConfigError, errors.ApiError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {written} records to {output}", err=True)
