"""Options and output shared by ``syncpipe replay`` and ``syncpipe plan``.

Both run the syncer's pipeline offline and print what it would write, so both take the
options of ``syncpipe run`` that change what the pipeline decides (syncer name, plugins,
namespace mapping, status return) and print the plan the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from syncpipe.cli.run import _parse_plugin_opts, settings_default, syncer_config_selector_option
from syncpipe.config.durations import Duration
from syncpipe.config.settings import Settings
from syncpipe.replay import render
from syncpipe.replay.plan import ReplayResult

F = TypeVar("F", bound=Callable[..., Any])


def pipeline_options(fn: F) -> F:
    """Decorate a command with the options that shape the pipeline's decisions."""
    options = [
        click.option(
            "--syncer-config",
            "syncer_configs",
            multiple=True,
            type=click.Path(exists=True, dir_okay=False),
            help="SyncerConfig/EdgeSyncConfig YAML file (repeatable); default: the configs "
            "found upstream.",
        ),
        click.option(
            "--syncer-name",
            default="syncpipe",
            show_default=True,
            help="The syncer whose ownership marks count (as `syncpipe run --syncer-name`).",
        ),
        syncer_config_selector_option,
        click.option(
            "--plugins-disable",
            "disabled",
            multiple=True,
            help="Disable a plugin by name (repeatable).",
        ),
        click.option(
            "--plugin-opt",
            multiple=True,
            help="PLUGIN.KEY=VALUE setting for a plugin (repeatable).",
        ),
        click.option(
            "--namespace-mapping",
            default="identity",
            show_default=True,
            help="As `syncpipe run --namespace-mapping`.",
        ),
        click.option(
            "--status-return/--no-status-return",
            default=True,
            show_default=True,
            help="Plan status writes back upstream.",
        ),
        click.option(
            "--status-settle",
            default=settings_default("status_settle_seconds"),
            show_default=True,
            type=Duration(),
            help="As `syncpipe run --status-settle`: the window that coalesces status changes.",
        ),
        click.option(
            "-o",
            "--output",
            type=click.Choice(["table", "json"]),
            default="table",
            show_default=True,
            help="A readable table, or JSON for programs.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def settings_from(
    *,
    syncer_name: str,
    syncer_config_selector: str,
    disabled: tuple[str, ...],
    plugin_opt: tuple[str, ...],
    namespace_mapping: str,
    status_return: bool,
    status_settle: float,
) -> Settings:
    """The ``Settings`` a live ``syncpipe run`` with the same options would have."""
    return Settings(
        syncer_name=syncer_name,
        syncer_config_selector=syncer_config_selector,
        status_return=status_return,
        status_settle_seconds=status_settle,
        namespace_mapping=namespace_mapping,
        disabled_plugins=disabled,
        plugin_settings=_parse_plugin_opts(plugin_opt),
    )


def print_plan(result: ReplayResult, *, output: str, title: str, source: Mapping[str, Any]) -> None:
    """Write the plan to stdout as a table or as JSON."""
    if output == "json":
        render.render_json(result, sys.stdout, source=source)
    else:
        render.render_table(result, sys.stdout, title=title)
