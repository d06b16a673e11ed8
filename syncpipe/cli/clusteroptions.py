"""The options naming the two clusters, declared once for the commands that read both sides
(``plan``, ``explain``, ``record``): ``--upstream-kubeconfig``/``--upstream-context``,
``--downstream-kubeconfig``/``--downstream-context`` and ``--insecure-skip-tls-verify``,
passed to the command as one ``ClusterOptions`` argument named ``clusters``.

``syncpipe run`` declares its own: it also takes the original syncer's ``--from-``/``--to-``
spellings and reads its downstream side in-cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import click

from syncpipe.cli.pipelineoptions import option_group

if TYPE_CHECKING:
    from syncpipe.clients.rest import RestClient
    from syncpipe.model.events import Side

F = TypeVar("F", bound=Callable[..., Any])

UPSTREAM_ENV = "SYNCPIPE_UPSTREAM_KUBECONFIG"
DOWNSTREAM_ENV = "SYNCPIPE_DOWNSTREAM_KUBECONFIG"


@attrs.frozen(kw_only=True)
class ClusterOptions:
    """The values of the options ``cluster_options`` declares."""

    upstream_kubeconfig: str | None
    upstream_context: str | None
    downstream_kubeconfig: str | None
    downstream_context: str | None
    insecure_skip_tls_verify: bool

    @property
    def named(self) -> bool:
        """Whether either side's kubeconfig was given."""
        return bool(self.upstream_kubeconfig or self.downstream_kubeconfig)

    def accesses(self) -> dict[Side, tuple[str | None, str | None]]:
        """Each side as ``(kubeconfig, context)``; ``None``: the default kubeconfig."""
        from syncpipe.model.events import Side

        return {
            Side.UPSTREAM: (self.upstream_kubeconfig, self.upstream_context),
            Side.DOWNSTREAM: (self.downstream_kubeconfig, self.downstream_context),
        }

    def connect(self) -> dict[Side, RestClient]:
        """A client for each side."""
        from syncpipe.replay import capture

        return {
            side: capture.connect(
                kubeconfig, context, label=side.value, insecure=self.insecure_skip_tls_verify
            )
            for side, (kubeconfig, context) in self.accesses().items()
        }


def cluster_options(
    *,
    upstream_help: str = "Kubeconfig of the upstream (mailbox) side.",
    downstream_help: str = "Kubeconfig of the downstream (edge) side; default: $KUBECONFIG "
    "or ~/.kube/config.",
    upstream_required: bool = False,
    from_environment: bool = True,
) -> Callable[[F], F]:
    """Decorate a command with both sides' options, passed as ``clusters=``.

    ``from_environment``: the kubeconfigs may come from ``SYNCPIPE_UPSTREAM_KUBECONFIG`` and
    ``SYNCPIPE_DOWNSTREAM_KUBECONFIG`` as well, as ``syncpipe run``'s do."""
    options = (
        click.option(
            "--upstream-kubeconfig",
            envvar=UPSTREAM_ENV if from_environment else None,
            required=upstream_required,
            help=upstream_help,
        ),
        click.option(
            "--upstream-context", default=None, help="Context in the upstream kubeconfig."
        ),
        click.option(
            "--downstream-kubeconfig",
            envvar=DOWNSTREAM_ENV if from_environment else None,
            help=downstream_help,
        ),
        click.option(
            "--downstream-context", default=None, help="Context in the downstream kubeconfig."
        ),
        click.option(
            "--insecure-skip-tls-verify", is_flag=True, help="Do not verify servers' certificates."
        ),
    )
    return option_group(ClusterOptions, "clusters", options)
