"""Options and output shared by ``syncpipe replay`` and ``syncpipe plan``.

Both run the syncer's pipeline offline and print what it would write, so both take the
options of ``syncpipe run`` that change what the pipeline decides (one declaration,
``cli.pipelineoptions``) and print the plan the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from syncpipe.cli.pipelineoptions import pipeline_options
from syncpipe.replay import render
from syncpipe.replay.plan import ReplayResult

F = TypeVar("F", bound=Callable[..., Any])


def plan_options(fn: F) -> F:
    """Decorate a command with the pipeline-shaping options of ``syncpipe run`` (passed as
    ``pipeline=``, see ``cli.pipelineoptions``), the configs to plan with and the output form."""
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
    return pipeline_options(fn)


def print_plan(result: ReplayResult, *, output: str, title: str, source: Mapping[str, Any]) -> None:
    """Write the plan to stdout as a table or as JSON."""
    if output == "json":
        render.render_json(result, sys.stdout, source=source)
    else:
        render.render_table(result, sys.stdout, title=title)
