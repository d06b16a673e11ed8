"""``syncpipe demo``: the whole loop on a local pair of control planes, in one command.

Starts an upstream and a downstream control plane (built from Debian's packages on first use),
installs the SyncerConfig CRDs, applies an example workload and SyncerConfig upstream, runs
the syncer between them and shows the objects arriving downstream and the Deployment's status
coming back upstream. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

import click
import yaml

from syncpipe.cli import logs
from syncpipe.config.durations import Duration

NAMESPACE = "demo"


def _apply(rest: Any, docs: list[dict[str, Any]]) -> None:
    from syncpipe import errors
    from syncpipe.config import configapi
    from syncpipe.model.resources import GroupVersionResource

    plural = {
        "Namespace": "namespaces",
        "ConfigMap": "configmaps",
        "Deployment": "deployments",
        "SyncerConfig": configapi.SYNCER_CONFIGS.resource,
        "CustomResourceDefinition": "customresourcedefinitions",
    }
    for doc in docs:
        group, _, version = doc["apiVersion"].rpartition("/")
        gvr = GroupVersionResource(group, version, plural[doc["kind"]])
        with contextlib.suppress(errors.ApiAlreadyExists):
            rest.create(gvr, doc["metadata"].get("namespace", ""), doc)


@click.command("demo")
@click.option("--workdir", type=click.Path(path_type=Path), default=None, help="Keep files here.")
@click.option(
    "--duration",
    type=Duration(),
    default="0s",
    show_default=True,
    help="Stop after this long (e.g. 90s, 5m); 0s: on Ctrl-C.",
)
def command(workdir: Path | None, duration: float) -> None:
    """Run syncpipe between two local control planes and watch objects arrive."""
    logs.setup(verbose=0)
    from syncpipe.clients.connect import ClusterAccess, load_configuration
    from syncpipe.clients.rest import RestClient
    from syncpipe.config import crds
    from syncpipe.config.settings import Settings
    from syncpipe.devenv import assets, pair
    from syncpipe.model.resources import GroupVersionResource
    from syncpipe.runtime import wiring

    work = workdir or Path(tempfile.mkdtemp(prefix="syncpipe-demo-"))
    click.echo("syncpipe demo: finding (or building, once) the Kubernetes binaries ...")
    found = assets.ensure_assets(progress=lambda line: click.echo(f"  {line}"))
    click.echo("starting the upstream and downstream control planes ...")
    planes = pair.start_pair(assets=found, workdir=work)
    try:
        click.echo(
            f"  upstream   {planes.upstream.server}  kubeconfig {planes.upstream.admin_kubeconfig}"
        )
        click.echo(
            f"  downstream {planes.downstream.server}  "
            f"kubeconfig {planes.downstream.admin_kubeconfig}"
        )

        def rest_for(plane: Any) -> RestClient:
            access = ClusterAccess(kubeconfig=str(plane.admin_kubeconfig), label=plane.name)
            return RestClient(load_configuration(access), label=plane.name)

        up, down = rest_for(planes.upstream), rest_for(planes.downstream)
        _apply(up, list(crds.all_crd_manifests()))
        time.sleep(2.0)  # let the CRDs become established
        workload = resources.files("syncpipe.examples").joinpath("demo-workload.yaml").read_text()
        _apply(up, [d for d in yaml.safe_load_all(workload) if d])
        click.echo(
            "applied upstream: Namespace demo, ConfigMap greeting, Deployment web, "
            "SyncerConfig demo"
        )
        settings = Settings(syncer_name="demo", discovery_interval=5.0)
        syncer = wiring.build_syncer(
            settings=settings,
            upstream_kubeconfig=str(planes.upstream.admin_kubeconfig),
            downstream_kubeconfig=str(planes.downstream.admin_kubeconfig),
        )
        syncer.start()
        logging.getLogger("syncpipe").setLevel(logging.WARNING)
        seen: set[str] = set()
        started = time.monotonic()
        deployments = GroupVersionResource("apps", "v1", "deployments")
        configmaps = GroupVersionResource("", "v1", "configmaps")
        namespaces = GroupVersionResource("", "v1", "namespaces")
        click.echo("syncer running; Ctrl-C to stop")
        try:
            while not duration or time.monotonic() - started < duration:
                checks = {
                    "Namespace demo": down.get_or_none(namespaces, "", NAMESPACE),
                    "ConfigMap demo/greeting": down.get_or_none(configmaps, NAMESPACE, "greeting"),
                    "Deployment demo/web": down.get_or_none(deployments, NAMESPACE, "web"),
                }
                for what, obj in checks.items():
                    if obj is not None and what not in seen:
                        seen.add(what)
                        click.echo(
                            f"  [{time.monotonic() - started:5.1f}s] downstream: {what} arrived"
                        )
                upstream_web = up.get_or_none(deployments, NAMESPACE, "web") or {}
                status = upstream_web.get("status") or {}
                if status and "status" not in seen:
                    seen.add("status")
                    click.echo(
                        f"  [{time.monotonic() - started:5.1f}s] upstream: "
                        "Deployment demo/web status returned (observedGeneration "
                        f"{status.get('observedGeneration')}, "
                        f"replicas {status.get('replicas', 0)})"
                    )
                time.sleep(0.5)
        except KeyboardInterrupt:
            click.echo("stopping ...")
        finally:
            syncer.stop(timeout=10)
    finally:
        planes.stop()
        click.echo("stopped everything the demo started")
