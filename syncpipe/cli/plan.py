"""``syncpipe plan``: what the syncer would write now, between two live clusters.

Lists both sides once (the selected resources upstream; their copies downstream, with the
copies this syncer owns of everything else; the upsync resources downstream) and runs the
replay engine on that state: the same plugins, hooks, diff and planner as ``syncpipe run``.
Nothing is written anywhere; the output is the plan, as ``syncpipe replay`` prints it.
"""

from __future__ import annotations

import click

from syncpipe import errors
from syncpipe.cli import logs, planoutput
from syncpipe.cli.clusteroptions import ClusterOptions, cluster_options
from syncpipe.cli.pipelineoptions import PipelineOptions


@click.command("plan")
@cluster_options(upstream_required=True)
@planoutput.plan_options
@click.option(
    "--keep-secret-data",
    is_flag=True,
    help="Show Secrets' data in the plan (default: each value replaced by a keyed digest).",
)
@click.option("-v", "--verbose", count=True, help="Log more (-vv for debug) on stderr.")
def command(
    pipeline: PipelineOptions,
    clusters: ClusterOptions,
    syncer_configs: tuple[str, ...],
    output: str,
    keep_secret_data: bool,
    verbose: int,
) -> None:
    """Print what `syncpipe run` would write now, without writing anything."""
    settings = pipeline.settings()
    syncer_name = settings.syncer_name
    logs.setup(verbose=verbose, quiet=True)
    from syncpipe.replay import configs, live
    from syncpipe.replay.engine import ReplayEngine

    try:
        clients = clusters.connect()
        header, records = live.current_state(
            clients=clients,
            config_objects=configs.load_config_files(syncer_configs) if syncer_configs else None,
            syncer_name=syncer_name,
            keep_secret_data=keep_secret_data,
        )
        engine = ReplayEngine(
            header=header,
            settings=settings,
        )
        result = engine.run(records)
    except (errors.ConfigError, errors.ApiError, errors.PluginError) as exc:
        raise click.ClickException(str(exc)) from exc
    planoutput.print_plan(
        result,
        output=output,
        title=f"syncpipe plan (syncer {syncer_name}, at {header.recorded_at})",
        source={
            "planned_at": header.recorded_at,
            "servers": {
                side.value: info.server_version
                for side, info in sorted(header.sides.items(), key=lambda item: item[0].value)
            },
            "syncer_name": syncer_name,
        },
    )
