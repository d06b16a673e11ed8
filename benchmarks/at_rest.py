"""What a converged syncer costs each API server at rest, counted by the servers themselves.

Run: ``.venv/bin/python benchmarks/at_rest.py [--window 300] [--json FILE]``. Prints a table
(and ``--json FILE``); no assertions. About ``window`` + 1 minute.

Both control planes run with an audit log (``--audit-policy-file``, level ``Metadata``), so
every request the syncer makes — discovery, lists, watches, heartbeats, Events — is counted by
the API server that served it, not by the syncer's own bookkeeping. Requests are told apart
by their user agent (the syncer's ``syncpipe/<version>``) and their time (the benchmark's own
client makes none inside the window); a request is counted once, at the time it was received,
however many stages the audit log records for it (a watch has two, both written when it
ends: so the log is read after the syncer stopped).

The scenario is the issue's: one SyncerConfig selecting 4 namespaces x 4 resources
(ConfigMaps, Secrets, Services, Deployments, two objects each), a syncer started with the
defaults, waited for until it is ready and its writes stopped; then ``--window`` seconds of
rest are counted, per minute and by verb, upstream and downstream (``discovery`` is a GET of
``/api`` or ``/apis/...``). The syncer's own request counters for the same window are printed
beside them as a cross-check.

Then the time until an object of a CRD created while the syncer runs is copied, twice: the
config already selects every resource of a group and the CRDs named ``gadget<i>s`` (the
syncer copies such a CRD first), not those named ``widget<i>s`` (installed on both sides by
someone else, as a platform would); ``--new-apis`` CRDs of each kind are created one after
the other, and one object of each, whose copy is waited for downstream (a new API is
followed by events or by the next discovery sweep). Median and maximum are reported.

With ``--others N``, N ConfigMaps no config selects are created first, spread over
``--other-namespaces`` namespaces (default: one per ten objects), as a plain mailbox API
serving many edges holds them, each edge's objects in its own namespaces: the syncer's caches
should hold its selection, not them. The objects it caches are reported by part (source
caches, owned copies, upstream Namespaces), with the process's resident memory (the syncer
runs inside the benchmark's process).

``count_requests`` and ``audit_args`` are reusable by other benchmarks.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import datetime
import json
import pathlib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from benchmarks.status_latency import established, rest_for, wait
from syncpipe.clients.rest import RestClient
from syncpipe.config import crds
from syncpipe.config.settings import Settings
from syncpipe.devenv import assets, controlplane, pair
from syncpipe.model.resources import GroupVersionResource
from syncpipe.runtime import wiring
from syncpipe.testing import manifests

CRDS = GroupVersionResource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
SYNCER_CONFIGS = GroupVersionResource("edge.kubestellar.io", "v2alpha1", "syncerconfigs")
NAMESPACES = GroupVersionResource("", "v1", "namespaces")
CONFIGMAPS = GroupVersionResource("", "v1", "configmaps")
SECRETS = GroupVersionResource("", "v1", "secrets")
SERVICES = GroupVersionResource("", "v1", "services")
DEPLOYMENTS = GroupVersionResource("apps", "v1", "deployments")
GROUP = "rest.example.com"
# Custom resources appear while the syncer runs: the CRDs of ``gadget<i>s`` are selected (the
# syncer copies them first), those of ``widget<i>s`` are installed on both sides by someone else.
SYNCED_KIND = "Gadget"
INSTALLED_KIND = "Widget"
SYNCER_AGENT = "syncpipe/"
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [{"level": "Metadata"}],
}


def audit_args(workdir: pathlib.Path, name: str) -> list[str]:
    """kube-apiserver flags writing every request's metadata to ``workdir/<name>-audit.log``."""
    policy = workdir / "audit-policy.json"
    policy.write_text(json.dumps(AUDIT_POLICY))
    return [
        f"--audit-policy-file={policy}",
        f"--audit-log-path={workdir / f'{name}-audit.log'}",
        "--audit-log-maxsize=1000",
    ]


def _timestamp(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def verb_of(event: dict[str, Any]) -> str:
    """The audit verb, with discovery (a GET of no object) named ``discovery``."""
    if event.get("objectRef") is None and event.get("verb") == "get":
        uri = str(event.get("requestURI", ""))
        if uri.startswith(("/api", "/apis")):
            return "discovery"
        return "get-nonresource"
    return str(event.get("verb", ""))


def count_requests(
    audit_log: pathlib.Path,
    *,
    since: float,
    until: float,
    user_agent_prefix: str = SYNCER_AGENT,
) -> dict[str, int]:
    """Requests received in ``[since, until)`` (epoch seconds) from that user agent, by verb."""
    seen: set[str] = set()
    counts: collections.Counter[str] = collections.Counter()
    for line in audit_log.read_text().splitlines():
        event = json.loads(line)
        if not str(event.get("userAgent", "")).startswith(user_agent_prefix):
            continue
        audit_id = event["auditID"]
        if audit_id in seen:
            continue
        received = _timestamp(event["requestReceivedTimestamp"])
        if since <= received < until:
            seen.add(audit_id)
            counts[verb_of(event)] += 1
    return dict(sorted(counts.items()))


def start_audited_pair(
    workdir: pathlib.Path,
) -> tuple[pair.ControlPlanePair, dict[str, pathlib.Path]]:
    """The usual upstream/downstream pair, each API server writing its own audit log."""
    found = assets.ensure_assets()
    planes = {}
    for name, controllers in (
        ("upstream", pair.UPSTREAM_CONTROLLERS),
        ("downstream", pair.DOWNSTREAM_CONTROLLERS),
    ):
        planes[name] = controlplane.ControlPlane(
            name,
            assets=found,
            workdir=workdir / name,
            controllers=controllers,
            apiserver_args=audit_args(workdir, name),
        )
    started = pair.ControlPlanePair(upstream=planes["upstream"], downstream=planes["downstream"])
    try:
        for plane in planes.values():
            plane.start()
    except BaseException:
        started.stop()
        raise
    logs = {name: workdir / f"{name}-audit.log" for name in planes}
    return started, logs


def workload(namespace: str, index: int) -> Iterable[tuple[GroupVersionResource, dict[str, Any]]]:
    name = f"obj-{index}"
    yield CONFIGMAPS, manifests.configmap(namespace, name, {"k": "v"})
    metadata = {"name": name, "namespace": namespace}
    yield SECRETS, {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": "Opaque"}
    service = {"ports": [{"port": 80}], "selector": {"app": name}}
    yield SERVICES, {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": service}
    yield DEPLOYMENTS, manifests.deployment(namespace, name)


def create_others(up: RestClient, count: int, namespaces: int) -> None:
    """``count`` ConfigMaps spread over ``namespaces`` namespaces no config selects."""
    names = [f"other-{i}" for i in range(namespaces)]

    def namespace(name: str) -> None:
        up.create(NAMESPACES, "", {"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": {"name": name}})  # fmt: skip

    def configmap(i: int) -> None:
        where = names[i % namespaces]
        up.create(CONFIGMAPS, where, manifests.configmap(where, f"other-{i}", {"k": "v"}))

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(namespace, names))
        list(pool.map(configmap, range(count)))


def resident_mib() -> float:
    """This process's resident memory (VmRSS), MiB."""
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def custom_resource_definition(kind: str) -> dict[str, Any]:
    return manifests.crd(GROUP, f"{kind.lower()}s", kind, namespaced=True, status=False)


def syncer_config(namespaces: list[str], new_apis: int) -> dict[str, Any]:
    resources = [
        {"group": "", "resource": r, "apiVersion": "v1"}
        for r in ("configmaps", "secrets", "services")
    ]
    resources.append({"group": "apps", "resource": "deployments", "apiVersion": "v1"})
    resources.append({"group": GROUP, "resource": "*", "apiVersion": "v1alpha1"})
    return {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "SyncerConfig",
        "metadata": {"name": "at-rest"},
        "spec": {
            "namespaceScope": {"namespaces": namespaces, "resources": resources},
            "clusterScope": [
                {
                    "group": "apiextensions.k8s.io",
                    "resource": "customresourcedefinitions",
                    "apiVersion": "v1",
                    "objects": [
                        custom_resource_definition(f"{SYNCED_KIND}{i}")["metadata"]["name"]
                        for i in range(new_apis)
                    ],
                }
            ],
        },
    }


def new_api_latency(
    up: RestClient,
    down: RestClient,
    kind: str,
    namespace: str,
    *,
    install_on: tuple[RestClient, ...],
) -> float:
    """Seconds from creating an object of a new CRD upstream to its copy downstream; the
    CRD is created on ``install_on`` first and waited for until established there."""
    crd = custom_resource_definition(kind)
    gvr = GroupVersionResource(GROUP, "v1alpha1", crd["spec"]["names"]["plural"])
    for rest in install_on:
        rest.create(CRDS, "", crd)
    for rest in install_on:
        wait(lambda rest=rest: established(rest, crd["metadata"]["name"]), interval=0.01)
    started = time.monotonic()
    up.create(gvr, namespace, manifests.cr(GROUP, kind, "x", namespace))
    wait(lambda: down.get_or_none(gvr, namespace, "x"), timeout=60, interval=0.01)
    return round(time.monotonic() - started, 2)


def per_minute(counts: dict[str, int], seconds: float) -> dict[str, float]:
    return {verb: round(n * 60.0 / seconds, 2) for verb, n in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=float, default=300.0, help="seconds of rest counted")
    parser.add_argument("--namespaces", type=int, default=4)
    parser.add_argument("--objects", type=int, default=2, help="objects per resource and ns")
    parser.add_argument("--new-apis", type=int, default=3, help="CRDs of each kind created")
    parser.add_argument(
        "--others", type=int, default=0, help="ConfigMaps in namespaces nobody selects"
    )
    parser.add_argument(
        "--other-namespaces",
        type=int,
        default=0,
        help="namespaces the --others ConfigMaps are spread over (default: one per ten)",
    )
    parser.add_argument("--json", type=pathlib.Path)
    args = parser.parse_args()
    results: dict[str, Any] = {"window_seconds": args.window}
    with tempfile.TemporaryDirectory() as tmp:
        planes, logs = start_audited_pair(pathlib.Path(tmp))
        try:
            up = rest_for(planes.upstream.admin_kubeconfig, "upstream")
            down = rest_for(planes.downstream.admin_kubeconfig, "downstream")
            for manifest in crds.all_crd_manifests():
                up.create(CRDS, "", manifest)
            wait(lambda: established(up, "syncerconfigs.edge.kubestellar.io"))
            names = [f"rest-{i}" for i in range(args.namespaces)]
            for namespace in names:
                up.create(NAMESPACES, "", {"apiVersion": "v1", "kind": "Namespace",
                                           "metadata": {"name": namespace}})  # fmt: skip
                for index in range(args.objects):
                    for gvr, body in workload(namespace, index):
                        up.create(gvr, namespace, body)
            if args.others:
                create_others(up, args.others, args.other_namespaces or -(-args.others // 10))
            up.create(SYNCER_CONFIGS, "", syncer_config(names, args.new_apis))
            syncer = wiring.build_syncer(
                settings=Settings(syncer_name="at-rest"),
                upstream_kubeconfig=str(planes.upstream.admin_kubeconfig),
                downstream_kubeconfig=str(planes.downstream.admin_kubeconfig),
            )
            syncer.start()
            try:
                wait(syncer.ready.is_set)
                expected = args.namespaces * args.objects
                wait(lambda: len(down.list(DEPLOYMENTS)[0]) >= expected)
                # Converged: no write for 10 s (status return of the Deployments included).
                writes = -1
                while True:
                    now = syncer.progress()["writes"]
                    if now == writes:
                        break
                    writes = now
                    time.sleep(10.0)
                results["others"] = args.others
                results["cached"] = syncer.cache_sizes()
                results["cached_objects"] = sum(results["cached"].values())
                results["rss_mib"] = resident_mib()
                own = {"upstream": dict(syncer.upstream.requests_by_verb),
                       "downstream": dict(syncer.downstream.requests_by_verb)}  # fmt: skip
                since = time.time()
                time.sleep(args.window)
                until = time.time()
                results["open_watches"] = syncer.open_watches()
                clients = {"upstream": syncer.upstream, "downstream": syncer.downstream}
                counted = {
                    side: {
                        verb: n - own[side].get(verb, 0)
                        for verb, n in rest.requests_by_verb.items()
                        if n - own[side].get(verb, 0)
                    }
                    for side, rest in clients.items()
                }
                # CRDs created while the syncer runs, and one object of each.
                for label, kind, sides in (
                    ("synced", SYNCED_KIND, (up,)),
                    ("installed", INSTALLED_KIND, (up, down)),
                ):
                    if not args.new_apis:
                        break
                    samples = [
                        new_api_latency(up, down, f"{kind}{i}", names[0], install_on=sides)
                        for i in range(args.new_apis)
                    ]
                    results[f"{label}_crd_object_seconds"] = {
                        "median": statistics.median(samples),
                        "max": max(samples),
                        "samples": samples,
                    }
            finally:
                syncer.stop(timeout=10)
            # Counted once the syncer stopped: the API server logs a watch only when it ends.
            for side in ("upstream", "downstream"):
                counts = count_requests(logs[side], since=since, until=until)
                results[side] = {
                    "per_minute": per_minute(counts, until - since),
                    "total_per_minute": round(sum(counts.values()) * 60.0 / (until - since), 2),
                    "syncer_counted_per_minute": per_minute(counted[side], until - since),
                }
        finally:
            planes.stop()
    print(f"at rest over {args.window:.0f} s, requests per minute by verb (audit log):")
    for side in ("upstream", "downstream"):
        r = results[side]
        verbs = ", ".join(f"{v} {n}" for v, n in r["per_minute"].items()) or "none"
        print(f"  {side:10}: {r['total_per_minute']:7.2f}  ({verbs})")
        own_verbs = ", ".join(f"{v} {n}" for v, n in r["syncer_counted_per_minute"].items())
        print(f"  {'':10}  the syncer's own count: {own_verbs or 'none'}")
    watches = results["open_watches"]
    print(f"open watches: upstream {watches['upstream']}, downstream {watches['downstream']}")
    selected = args.namespaces * args.objects * 4
    parts = ", ".join(f"{part} {n}" for part, n in results["cached"].items())
    print(
        f"objects the syncer caches: {results['cached_objects']} ({parts}; selected: "
        f"{selected} in {args.namespaces} namespaces; {args.others} other ConfigMaps in the "
        f"mailbox); resident memory of the process: {results['rss_mib']:.0f} MiB"
    )
    if not args.new_apis:
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        return
    synced, installed = (
        results["synced_crd_object_seconds"],
        results["installed_crd_object_seconds"],
    )
    print(
        "object of a CRD created while running, created upstream -> copied, median (max): "
        f"{synced['median']:.2f} s ({synced['max']:.2f}) with the CRD selected and copied by "
        f"the syncer, {installed['median']:.2f} s ({installed['max']:.2f}) with the CRD "
        "installed on both sides"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
