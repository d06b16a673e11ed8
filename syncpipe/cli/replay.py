"""``syncpipe replay SNAPSHOT``: what the syncer would have done with a recorded session.

Runs the same pipeline as ``syncpipe run`` — the installed plugins and the built-in ones, the
same hooks, the same three-way diff and planner — over memory stores seeded from a snapshot
(``syncpipe record``), and prints every write it would make: creates, JSON patches, deletes,
status writes and upsyncs. Nothing is contacted; the output is byte-identical for the same
snapshot, configs and plugins.
"""

from __future__ import annotations

import time

import click

from syncpipe import errors
from syncpipe.cli import logs, planning
from syncpipe.cli.pipelineoptions import PipelineOptions


def _speed(value: str) -> float | None:
    if value == "max":
        return None
    try:
        speed = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither a number nor 'max'") from None
    if speed <= 0:
        raise click.BadParameter("must be positive")
    return speed


@click.command("replay")
@click.argument("snapshot", type=click.Path(exists=True, dir_okay=False))
@planning.plan_options
@click.option(
    "--speed",
    default="max",
    show_default=True,
    help="N: replay N times as fast as recorded (1 = real time); max: without waiting. "
    "The plan is the same at any speed.",
)
@click.option("-v", "--verbose", count=True, help="Log more (-vv for debug) on stderr.")
def command(
    pipeline: PipelineOptions,
    snapshot: str,
    syncer_configs: tuple[str, ...],
    output: str,
    speed: str,
    verbose: int,
) -> None:
    """Replay SNAPSHOT through the pipeline and print what the syncer would write."""
    settings = pipeline.settings()
    syncer_name = settings.syncer_name
    logs.setup(verbose=verbose, quiet=True)
    from syncpipe.replay import configs as config_files
    from syncpipe.replay.causality import causal_order
    from syncpipe.replay.engine import ReplayEngine
    from syncpipe.replay.snapshot import Snapshot

    factor = _speed(speed)
    try:
        recording = Snapshot(snapshot)
        configs = config_files.load_config_files(syncer_configs) if syncer_configs else None
        engine = ReplayEngine(
            header=recording.header,
            settings=settings,
            configs=configs,
            pace=None if factor is None else (lambda dt: time.sleep(dt / factor)),
        )
        result = engine.run(causal_order(recording.records()))
    except (errors.SnapshotFormatError, errors.ConfigError, errors.PluginError) as exc:
        raise click.ClickException(str(exc)) from exc
    header = recording.header
    planning.print_plan(
        result,
        output=output,
        title=f"syncpipe replay {click.format_filename(snapshot)} (recorded {header.recorded_at})",
        source={
            "snapshot": click.format_filename(snapshot),
            "recorded_at": header.recorded_at,
            "recorded_by": header.syncpipe_version,
            "servers": {
                side.value: info.server_version
                for side, info in sorted(header.sides.items(), key=lambda item: item[0].value)
            },
            "syncer_name": syncer_name,
        },
    )
