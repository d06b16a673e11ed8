"""``syncpipe config``: check SyncerConfig and EdgeSyncConfig files, or write one for manifests.

``syncpipe config validate FILE...`` parses every YAML document of every file, reports every
problem on its own line as ``FILE: doc N (Kind/name): message @ $.path`` (the format of
compilers and linters, so editors can jump to it), then merges what parsed into one
selection and reports what no single document shows: two documents with the same name, and
objects selected for both downsync and upsync. Exit status 1 when anything was reported.

Checks that need a cluster's discovery (is this resource namespaced?) are not made here;
the running syncer reports those.

``syncpipe config from-manifests FILE...`` writes the config selecting exactly the objects of
rendered manifests (``syncpipe.config.manifests`` does the work; this command reads the
files, asks a cluster's discovery only when a kind is unknown and a cluster was given, and
writes the result).
"""

from __future__ import annotations

from typing import IO

import click

from syncpipe import errors
from syncpipe.config import documents, manifests, mergedselection, names, syncerconfig
from syncpipe.config.documents import Place


@click.group("config")
def command() -> None:
    """Check SyncerConfig and EdgeSyncConfig files, or write one for a chart's manifests."""


@command.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.File("r", encoding="utf-8"))
def validate(files: tuple[IO[str], ...]) -> None:
    """Validate the configs in FILE... ("-" reads stdin); each file may hold many documents."""
    lines: list[str] = []
    configs: list[syncerconfig.AnyConfig] = []
    places: dict[str, Place] = {}
    for stream in files:
        name = "-" if stream.name == "<stdin>" else stream.name
        try:
            located = list(documents.located_objects(stream.read(), file=name))
        except errors.ConfigError as exc:
            lines.append(str(exc))
            continue
        for place, obj in located:
            try:
                config = syncerconfig.parse_config(obj)
            except errors.ConfigError as exc:
                lines.extend(place.line(msg, path) for path, msg in exc.problems)
                continue
            if config.ref in places:
                first = places[config.ref]
                lines.append(
                    place.line(
                        f"{config.ref} is also defined in {first.file} doc {first.doc}; "
                        "a cluster holds one object per name",
                        "$.metadata.name",
                    )
                )
                continue
            places[config.ref] = place
            configs.append(config)
    merged = mergedselection.Selection.from_configs(configs)
    for problem in merged.overlaps():
        lines.append(places[problem.config].line(problem.message, problem.path))
    if not configs and not lines:
        lines.append("no SyncerConfig or EdgeSyncConfig found")
    if lines:
        for line in lines:
            click.echo(line)
        raise click.exceptions.Exit(1)
    _print_summary(merged)


def _print_summary(merged: mergedselection.Selection) -> None:
    summary = mergedselection.summary(merged)
    configs = summary["configs"]
    click.echo(f"OK: {len(configs)} config(s): {', '.join(configs)}")
    click.echo(f"  downsync resources: {', '.join(summary['downsync']) or 'none'}")
    click.echo(f"  upsync resources:   {', '.join(summary['upsync']) or 'none'}")
    click.echo(f"  namespaces needed downstream: {', '.join(summary['namespaces']) or 'none'}")
    for selected_by_labels in summary["label_selectors"]:
        click.echo(f"  only objects labelled: {selected_by_labels}")
    if summary["conversions"]:
        click.echo(f"  conversions: {summary['conversions']} (kept, not applied yet)")


def _config_name(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    problem = names.config_name_problem(value) if value is not None else None
    if problem:
        raise click.BadParameter(problem)
    return value


def _namespace(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    problem = (
        names.namespace_problem(value) if value != names.WILDCARD else "'*' is not one namespace"
    )
    if problem:
        raise click.BadParameter(problem)
    return value


@command.command("from-manifests")
@click.argument(
    "files", nargs=-1, required=True, metavar="FILE...", type=click.File("r", encoding="utf-8")
)
@click.option(
    "--legacy",
    is_flag=True,
    help="Write an EdgeSyncConfig, as the original's Helm converter did, not a SyncerConfig.",
)
@click.option(
    "--name",
    metavar="NAME",
    callback=_config_name,
    help=f"The config's metadata.name [default: the Helm release (label "
    f"{manifests.RELEASE_LABEL}) when the objects agree on one, else the first FILE's name, "
    f"else {manifests.FALLBACK_NAME}].",
)
@click.option(
    "-o",
    "--output",
    default="-",
    metavar="FILE",
    help="Where to write the config ('-' for stdout).",
    show_default=True,
)
@click.option(
    "-n",
    "--default-namespace",
    default=manifests.DEFAULT_NAMESPACE,
    show_default=True,
    metavar="NS",
    callback=_namespace,
    help="Namespace of namespaced objects that name none (where `kubectl apply -n NS` / "
    "`helm template -n NS` put them).",
)
@click.option(
    "--kubeconfig",
    metavar="FILE",
    help="Look up kinds that are neither built into Kubernetes nor defined by a CRD in the "
    "manifests in this cluster's discovery [default: no cluster is asked].",
)
@click.option(
    "--context",
    metavar="NAME",
    default=None,
    help="Context in that kubeconfig (also asks a cluster).",
)
def from_manifests(
    files: tuple[IO[str], ...],
    legacy: bool,
    name: str | None,
    output: str,
    default_namespace: str,
    kubeconfig: str | None,
    context: str | None,
) -> None:
    """Write the config that downsyncs exactly the objects of FILE... ("-" reads stdin).

    FILE holds rendered manifests, such as `helm template` output: multi-document YAML,
    Lists, comments. The SyncerConfig names every object: namespaced ones under
    namespacedObjects (by resource, namespace and name), cluster-scoped ones (CRDs
    included) under clusterScope by name, with the Namespace of every namespace used.
    Custom resources are selected by the resource their CRD defines. With --legacy the
    output is an EdgeSyncConfig as the original's Helm converter wrote it: the namespaces
    first, then each object by group, version, kind, name and namespace.

    Kinds map to resources without a cluster when they are built into Kubernetes or
    defined by a CRD in the manifests; any other kind is an error naming it, unless
    --kubeconfig or --context names a cluster whose discovery knows it.

    \b
    Example:
      helm template shop ./chart -n shop | syncpipe config from-manifests - -n shop -o shop.yaml
      syncpipe config validate shop.yaml && kubectl apply -f shop.yaml    # upstream
    """
    file_names = ["-" if f.name == "<stdin>" else f.name for f in files]
    try:
        objects = [
            obj
            for stream, file_name in zip(files, file_names, strict=True)
            for obj in manifests.read_manifest_objects(stream.read(), file=file_name)
        ]
        selected = _resolve(objects, default_namespace, kubeconfig, context)
    except errors.SyncpipeError as exc:
        raise click.ClickException(str(exc)) from exc
    if not selected:
        raise click.ClickException(f"no objects in {', '.join(file_names)}: nothing to select")
    config_name = name or manifests.default_config_name(objects, file_names)
    config: syncerconfig.AnyConfig = (
        manifests.edge_sync_config_selecting(selected, name=config_name)
        if legacy
        else manifests.syncer_config_selecting(selected, name=config_name)
    )
    with click.open_file(output, "w", encoding="utf-8") as out:
        out.write(manifests.render(config, files=file_names, count=len(selected)))
    if output != "-":
        namespaces = ", ".join(manifests.namespaces_of(selected)) or "none"
        click.echo(
            f"Wrote {config.ref} to {output}: {len(selected)} object(s), namespaces: {namespaces}",
            err=True,
        )


def _resolve(
    objects: list[manifests.ManifestObject],
    default_namespace: str,
    kubeconfig: str | None,
    context: str | None,
) -> tuple[manifests.SelectedObject, ...]:
    """Resolve kinds offline; ask the given cluster's discovery only if that is not enough."""
    try:
        return manifests.resolve(objects, default_namespace=default_namespace)
    except errors.ConfigError:
        if kubeconfig is None and context is None:
            raise
    from syncpipe.clients import discovery
    from syncpipe.clients.connect import ClusterAccess, load_configuration
    from syncpipe.clients.rest import RestClient

    access = ClusterAccess(kubeconfig=kubeconfig, context=context, label="cluster")
    rest = RestClient(load_configuration(access), label="cluster")
    try:
        served = discovery.discover(rest).resources
    finally:
        rest.close()
    return manifests.resolve(objects, default_namespace=default_namespace, served=served)
