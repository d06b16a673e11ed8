"""``syncpipe syncer-gen NAME``: register an edge cluster (also ``kubectl syncpipe syncer-gen``).

Run it with a kubeconfig for the mailbox workspace (upstream). It creates or updates the
syncer's identity and least-privilege RBAC there, and writes the manifest that installs the
syncer in the edge cluster. See ``syncpipe.bootstrap`` for what is made and why.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from syncpipe.bootstrap import identity, manifest, rbac
from syncpipe.cli.pipelineoptions import syncer_config_selector_option
from syncpipe.config.durations import Duration
from syncpipe.config.settings import DEFAULT_MAX_NAMESPACED_WATCHES


def _upsync_resource(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[rbac.GroupResource, ...]:
    parsed = []
    for value in values:
        try:
            parsed.append(rbac.GroupResource.parse(value))
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from exc
    return tuple(parsed)


def _syncer_name(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    problem = identity.name_problem(value)
    if problem:
        raise click.BadParameter(problem)
    return value


def _replicas(_ctx: click.Context, _param: click.Parameter, value: int) -> int:
    if value < 0:
        raise click.BadParameter("cannot be negative")
    return value


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by the owner only: the manifest holds a token."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    path.chmod(0o600)


@click.command("syncer-gen")
@click.argument("name", callback=_syncer_name)
@click.option(
    "--syncer-image", required=True, help="Container image of syncpipe for the edge cluster."
)
@click.option(
    "-o",
    "--output-file",
    required=True,
    help="Where to write the edge cluster's manifest ('-' for stdout).",
)
@click.option(
    "--kubeconfig",
    help="Kubeconfig of the mailbox workspace (upstream) [default: as kubectl: $KUBECONFIG, "
    "~/.kube/config].",
)
@click.option("--context", default=None, help="Context in that kubeconfig.")
@click.option(
    "--upstream-namespace",
    default="default",
    show_default=True,
    help="Upstream namespace of the syncer's ServiceAccount and token Secret.",
)
@click.option(
    "-n",
    "--downstream-namespace",
    default="",
    help="Edge-cluster namespace of the syncer [default: the syncer id].",
)
@click.option(
    "--upstream-server",
    default="",
    help="Server URL the syncer uses to reach upstream [default: the kubeconfig's, path kept].",
)
@click.option("--namespace-mapping", default="", help="Namespace mapper passed to `syncpipe run`.")
@syncer_config_selector_option
@click.option(
    "--upsync-resource",
    multiple=True,
    callback=_upsync_resource,
    metavar="GROUP/RESOURCE",
    help="Also grant upsync writes on this resource (repeatable), besides those the "
    "SyncerConfigs name; core group as /configmaps.",
)
@click.option(
    "--read-all",
    is_flag=True,
    help="Grant upstream read on every resource except Secrets, so SyncerConfigs may change "
    "later without re-running syncer-gen.",
)
@click.option(
    "--downstream-admin",
    is_flag=True,
    help="Grant the syncer every verb on every resource in the edge cluster (as the original).",
)
@click.option(
    "--replicas",
    default=1,
    show_default=True,
    type=int,
    callback=_replicas,
    help="Replicas of the syncer Deployment; more than 1 turns leader election on.",
)
@click.option(
    "--leader-elect/--no-leader-elect",
    default=None,
    help="Run the syncer with leader election (a Lease in its namespace) [default: on when "
    "--replicas > 1]; on with 1 replica lets the Deployment be scaled up later.",
)
@click.option(
    "--max-namespaced-watches",
    default=DEFAULT_MAX_NAMESPACED_WATCHES,
    show_default=True,
    type=click.IntRange(min=0),
    help="As `syncpipe run`'s (passed on when not the default): a downsynced resource "
    "selected in at most this many named namespaces is read there only, through a Role in "
    "each (0: ClusterRole only).",
)
@click.option(
    "--timeout",
    default="1m",
    show_default=True,
    type=Duration(allow_zero=False),
    help="How long to wait for the token controller and for CRDs to be established.",
)
def command(
    name: str,
    syncer_image: str,
    output_file: str,
    kubeconfig: str | None,
    context: str | None,
    upstream_namespace: str,
    downstream_namespace: str,
    upstream_server: str,
    namespace_mapping: str,
    syncer_config_selector: str,
    upsync_resource: tuple[rbac.GroupResource, ...],
    read_all: bool,
    downstream_admin: bool,
    replicas: int,
    leader_elect: bool | None,
    max_namespaced_watches: int,
    timeout: float,
) -> None:
    """Register edge cluster NAME: identity and RBAC upstream, and its syncer manifest.

    Run with a kubeconfig for the mailbox workspace. Creates or updates there, idempotently:
    a ServiceAccount, a least-privilege ClusterRole (derived from the SyncerConfigs present
    now) and its binding, and a token Secret. Then writes the edge cluster's manifest
    (Namespace, ServiceAccount, upstream kubeconfig Secret, ClusterRole and binding,
    Deployment) to apply with `kubectl apply -f`.
    """
    from syncpipe import errors
    from syncpipe.bootstrap import generate
    from syncpipe.clients.connect import ClusterAccess, load_configuration
    from syncpipe.clients.rest import RestClient

    def report(line: str) -> None:
        click.echo(line, err=True)

    if leader_elect is None:
        leader_elect = replicas > manifest.MAX_REPLICAS_WITHOUT_ELECTION
    elif not leader_elect and replicas > manifest.MAX_REPLICAS_WITHOUT_ELECTION:
        raise click.BadParameter(
            "more than 1 replica needs leader election: two syncers with one identity would "
            "write the same objects at once",
            param_hint="--replicas/--no-leader-elect",
        )

    options = generate.Options(
        name=name,
        max_namespaced_watches=max_namespaced_watches,
        image=syncer_image,
        upstream_namespace=upstream_namespace,
        downstream_namespace=downstream_namespace,
        upstream_server=upstream_server,
        namespace_mapping=namespace_mapping,
        syncer_config_selector=syncer_config_selector,
        upsync_resources=upsync_resource,
        read_all=read_all,
        downstream_admin=downstream_admin,
        replicas=replicas,
        leader_election=leader_elect,
        timeout=timeout,
    )
    try:
        config = load_configuration(
            ClusterAccess(kubeconfig=kubeconfig or None, context=context, label="upstream")
        )
        rest = RestClient(config, label="upstream")
        try:
            result = generate.generate(rest, options, report=report)
        finally:
            rest.close()
    except (errors.SyncpipeError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc

    if output_file == "-":
        sys.stdout.write(result.manifest)
        return
    _write_private(Path(output_file), result.manifest)
    syncer_id = result.identity.id
    report(
        f"\nWrote the edge cluster's manifest to {output_file} for namespace "
        f'"{result.namespace}" (it holds a token: keep it private). Apply it with\n\n'
        f'  KUBECONFIG=<edge-cluster-kubeconfig> kubectl apply -f "{output_file}"\n\n'
        "and verify that the syncer pod runs with\n\n"
        f'  KUBECONFIG=<edge-cluster-kubeconfig> kubectl get deployment -n "{result.namespace}" '
        f"{syncer_id}\n"
        f'  KUBECONFIG=<edge-cluster-kubeconfig> kubectl rollout status -n "{result.namespace}" '
        f"deployment/{syncer_id}"
    )
