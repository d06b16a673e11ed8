"""``syncpipe explain KIND NAMESPACE/NAME``: why an object is (not) what it is on the other side.

Runs the pipeline offline, as ``syncpipe plan`` (both live clusters listed once) or ``syncpipe
replay`` (``--snapshot FILE``) do, then follows one object through it: the configs that
select it (or the entries that came closest, or the plugin that vetoed it), each transform's
effect in order, the fields left to others, and the writes planned for it and its copy.
Nothing is written anywhere.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

import click

from syncpipe import errors
from syncpipe.cli import logs, planoutput
from syncpipe.cli.clusteroptions import ClusterOptions, cluster_options
from syncpipe.cli.pipelineoptions import PipelineOptions

if TYPE_CHECKING:
    from syncpipe.clients.rest import RestClient


@click.command("explain")
@click.argument("kind")
@click.argument("name")
@click.option(
    "--direction",
    type=click.Choice(["down", "up"]),
    default="down",
    show_default=True,
    help="down: an upstream object and its copy downstream (downsync, status return); "
    "up: a downstream object and its copy upstream (upsync).",
)
@click.option(
    "--snapshot",
    type=click.Path(exists=True, dir_okay=False),
    help="Explain from a recording (`syncpipe record`) instead of the live clusters.",
)
@cluster_options(
    upstream_help="Kubeconfig of the upstream (mailbox) side (required without --snapshot)."
)
@planoutput.plan_options
@click.option("-v", "--verbose", count=True, help="Log more (-vv for debug) on stderr.")
def command(
    pipeline: PipelineOptions,
    kind: str,
    name: str,
    direction: str,
    snapshot: str | None,
    clusters: ClusterOptions,
    syncer_configs: tuple[str, ...],
    output: str,
    verbose: int,
) -> None:
    """Explain what the syncer does with one object: KIND NAMESPACE/NAME (KIND NAME when
    cluster-scoped), e.g. `syncpipe explain deployment shop/web`."""
    logs.setup(verbose=verbose, quiet=True)
    if snapshot is None and not clusters.upstream_kubeconfig:
        raise click.UsageError("--upstream-kubeconfig is required (or explain a --snapshot FILE)")
    from syncpipe.model.events import Direction, Side
    from syncpipe.model.objects import RawObject
    from syncpipe.replay import configs, explain, explain_render, live
    from syncpipe.replay.engine import ReplayEngine
    from syncpipe.replay.snapshot import Record, Snapshot

    way = Direction.DOWN if direction == "down" else Direction.UP
    settings = pipeline.settings()
    syncer_name = settings.syncer_name
    try:
        config_objects = configs.load_config_files(syncer_configs) if syncer_configs else None
        clients: dict[Side, RestClient] = {}
        records: Iterable[Record]
        if snapshot is not None:
            recording = Snapshot(snapshot)
            header, records = recording.header, recording.records()
        else:
            clients = clusters.connect()
            header, records = live.current_state(
                clients=clients, config_objects=config_objects, syncer_name=syncer_name
            )
            config_objects = None  # the header carries them
        engine = ReplayEngine(header=header, settings=settings, configs=config_objects)
        given: dict[explain.CopyKey, RawObject] = {}
        short = name.rpartition("/")[2]
        result = engine.run(
            explain.keeping_copies(records, side=way.target, name=short, into=given)
        )
        served = engine.apis[way.source].served
        key = explain.object_key(explain.resolve_kind(served, kind), name)
        fallback: RawObject | None = None
        if way.source in clients:  # not listed when no config selects its resource
            fallback = clients[way.source].get_or_none(key.gvr, key.namespace, key.name)
        explanation = explain.explain(
            engine, result, direction=way, key=key, fallback=fallback, given_copies=given
        )
    except (
        errors.SnapshotFormatError,
        errors.ConfigError,
        errors.ApiError,
        errors.PluginError,
        explain.ExplainError,
    ) as exc:
        raise click.ClickException(str(exc)) from exc
    if output == "json":
        sys.stdout.write(explain_render.render_json(explanation) + "\n")
    else:
        sys.stdout.write(explain_render.render_text(explanation) + "\n")
