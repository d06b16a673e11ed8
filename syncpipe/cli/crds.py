"""``syncpipe crds``: print the CustomResourceDefinitions of the configuration APIs.

The output is a multi-document YAML stream for ``syncpipe crds | kubectl apply -f -``.
"""

from __future__ import annotations

import click

from syncpipe.config import crds


@click.command("crds")
@click.option(
    "--only",
    type=click.Choice(sorted(crds.CRD_FILES)),
    help="Print just this CRD (default: all of them).",
)
def command(only: str | None) -> None:
    """Print the SyncerConfig and EdgeSyncConfig CRDs as YAML, ready for kubectl apply."""
    click.echo(crds.crds_yaml(only), nl=False)
