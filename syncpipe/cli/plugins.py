"""``syncpipe plugins``: what is installed and how it would run.

Assembles the plugin manager exactly as ``syncpipe run`` does (installed entry points, the
built-ins, ``--plugins-disable``, ``--plugin-opt`` checked against the declared options) and
lists the plugins with the hooks each implements, the transforms in the order they run and
the options with their values. Contacts no cluster.
"""

from __future__ import annotations

import sys
from typing import Any

import click
import orjson
from rich import box
from rich.markup import escape
from rich.table import Table

from syncpipe import builtin
from syncpipe.cli.pipelineoptions import (
    parse_plugin_opts,
    plugin_opt_option,
    plugins_disable_option,
)
from syncpipe.config.mergedselection import Selection
from syncpipe.hooks import manager
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.inventory import Inventory, inventory
from syncpipe.replay.render import console_for

UPWARD_ORDER_NOTE = (
    "Going up (upsync), reverse functions run with strip first and ownership last, the phases "
    "between in reverse order; on status return, status functions run in the reverse of the "
    "downward order."
)


@click.command("plugins")
@plugins_disable_option
@plugin_opt_option
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Readable tables, or JSON for programs.",
)
def command(disabled: tuple[str, ...], plugin_opt: tuple[str, ...], output: str) -> None:
    """List the installed plugins, their hooks, the transforms in run order and the options."""
    pm = manager.build(builtins=builtin.MODULES, disabled=disabled)
    ctx = SyncContext(
        syncer_name="syncpipe",
        selection=Selection.empty(),
        plugin_settings=parse_plugin_opts(plugin_opt),
    )
    hooks = manager.Hooks(pm=pm, ctx=ctx)
    hooks.configure()
    found = inventory(hooks)
    if output == "json":
        text = orjson.dumps(found.to_json(), option=orjson.OPT_INDENT_2, default=_jsonable)
        sys.stdout.write(text.decode() + "\n")
    else:
        print_tables(found)


def _jsonable(value: object) -> Any:
    return str(value)


def print_tables(found: Inventory) -> None:
    console = console_for(sys.stdout)
    plugins = Table(title="Plugins", box=box.SIMPLE_HEAD, title_justify="left")
    for column in ("plugin", "installed by", "hooks"):
        plugins.add_column(column)
    for plugin in found.plugins:
        plugins.add_row(
            escape(plugin.name),
            escape(plugin.distribution or "registered in code"),
            escape(", ".join(h.removeprefix("syncpipe_") for h in plugin.hooks)),
        )
    console.print(plugins)
    transforms = Table(
        title="Transforms, in the order they run downward",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    for column in ("#", "transform", "phase", "plugin", "runs", "applies to", "does"):
        transforms.add_column(column)
    for t in found.transforms:
        transforms.add_row(
            str(t.position),
            escape(t.name),
            t.phase,
            escape(t.plugin),
            ", ".join(t.directions),
            escape(t.applies_to),
            escape(t.description),
        )
    console.print(transforms)
    console.print(UPWARD_ORDER_NOTE)
    if not found.options:
        console.print("Options: no plugin declares any.")
        return
    options = Table(
        title="Options (--plugin-opt PLUGIN.OPTION=VALUE)",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    for column in ("plugin", "option", "type", "value", "default", "help"):
        options.add_column(column)
    for o in found.options:
        options.add_row(
            escape(o.plugin),
            escape(o.name),
            escape(o.type),
            escape(_shown(o.value) + ("" if o.given else " (default)")),
            escape(_shown(o.default)),
            escape(o.help),
        )
    console.print(options)


def _shown(value: object) -> str:
    return "-" if value is None else str(value)
