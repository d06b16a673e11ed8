"""``syncpipe`` entry point: the command group and its subcommands."""

from __future__ import annotations

import importlib
import os
import sys

import click

import syncpipe
from syncpipe import errors
from syncpipe.cli.run import ORIGINAL_SYNCER_FLAGS

# Subcommand modules, each exposing a click command or group named ``command``.
# Imported lazily by name so that a slow import (the Kubernetes client) is paid only by the
# subcommands that need it.
SUBCOMMANDS: dict[str, str] = {
    "config": "syncpipe.cli.config",
    "crds": "syncpipe.cli.crds",
    "demo": "syncpipe.cli.demo",
    "dev": "syncpipe.cli.dev",
    "explain": "syncpipe.cli.explain",
    "plan": "syncpipe.cli.plan",
    "plugins": "syncpipe.cli.plugins",
    "record": "syncpipe.cli.record",
    "replay": "syncpipe.cli.replay",
    "run": "syncpipe.cli.run",
    "syncer-gen": "syncpipe.cli.syncergen",
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SUBCOMMANDS:
            module = importlib.import_module(SUBCOMMANDS[cmd_name])
            command: click.Command = module.command
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        """A plugin that fails to load, configure or take its options, or a setting that cannot
        be used (a kubeconfig that cannot be loaded), ends any subcommand with one ``Error:``
        line naming it, not a traceback."""
        try:
            return super().invoke(ctx)
        except (errors.PluginError, errors.ConfigError) as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(syncpipe.__version__, prog_name="syncpipe")
def cli() -> None:
    """syncpipe: sync Kubernetes objects between a mailbox workspace and an edge cluster."""


def _as_original_syncer(args: list[str]) -> list[str]:
    """The original KubeStellar-Syncer binary takes its flags without a subcommand: an
    argument list that starts with one of them is ``syncpipe run``'s."""
    if args and args[0].split("=", 1)[0] in ORIGINAL_SYNCER_FLAGS:
        return ["run", *args]
    return args


def main() -> None:
    """Run the CLI; as ``kubectl-syncpipe`` (a kubectl plugin) it calls itself so in help."""
    program = os.path.basename(sys.argv[0]) if sys.argv else ""
    cli(
        args=_as_original_syncer(sys.argv[1:]),
        prog_name="kubectl syncpipe" if program == "kubectl-syncpipe" else None,
    )
