"""Generate realistic snapshots for the offline benchmarks: a fleet, then a stream of changes.

Run: ``.venv/bin/python benchmarks/generate.py --objects 10000 -o /tmp/fleet-10k.jsonl.gz``.
The same ``--objects`` and ``--seed`` always give the same bytes. The 1k snapshot is kept in
``benchmarks/data/fleet-1k.jsonl.gz``; ``benchmarks/offline.py`` generates the bigger ones on
demand (into ``benchmarks/data/cache/``, ignored by git).

**The fleet** is what a mailbox workspace of a team platform holds, objects as a 1.20 API
server serves them (uid, resourceVersion, creationTimestamp, managedFields, server defaults,
status): namespaces of ten apps each, every app a Deployment (two containers with env, ports,
probes, resources, volumes), a Service, a ConfigMap, a Secret, a ServiceAccount, a Role and
RoleBinding, and a ``Widget`` custom resource (with a ``/status`` subresource; its CRD is
downsynced too). One SyncerConfig selects all of it. The downstream side holds the copies the
syncer made — computed by running the replay engine itself on the upstream fleet — with the
status the edge's controllers report, which equals the status upstream: the recording starts
in steady state.

**The change stream** (as many events as objects, over five virtual minutes):

* 30 % rollouts: a Deployment's image changes upstream (generation + 1), then its copy's
  status churns downstream twice as the edge controllers roll it out;
* 20 % label edits upstream (a changed value, or now and then a new key);
* 15 % ConfigMap edits (one key's value);
* 25 % status churn downstream (a Widget's or Deployment's conditions), returned upstream;
* 10 % deletions upstream.

Downstream events are built from the state the syncer itself left (the generator replays the
stream as it writes it), so the snapshot is what a recording of a real syncer would hold.
"""

from __future__ import annotations

import argparse
import base64
import copy
import heapq
import pathlib
import random
import sys
from collections.abc import Callable, Iterator
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from syncpipe import builtin  # noqa: E402
from syncpipe.config.settings import Settings  # noqa: E402
from syncpipe.hooks import manager  # noqa: E402
from syncpipe.model.events import Side  # noqa: E402
from syncpipe.model.resources import GroupVersionResource, ResourceInfo  # noqa: E402
from syncpipe.replay.engine import ReplayEngine  # noqa: E402
from syncpipe.replay.snapshot import (  # noqa: E402
    Header,
    Record,
    RecordedResource,
    RecordType,
    SideInfo,
    SnapshotWriter,
)

RECORDED_AT = "2026-01-01T00:00:00Z"
CREATED = "2025-12-01T08:00:00Z"
SYNCER_NAME = "edge-bench"
APPS_PER_NAMESPACE = 10
STREAM_SECONDS = 300.0
WIDGET_GROUP = "example.com"

_VERBS = frozenset(
    {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
)


def _gvr(text: str) -> GroupVersionResource:
    return GroupVersionResource.parse(text)


NS = _gvr("v1/namespaces")
CM = _gvr("v1/configmaps")
SECRETS = _gvr("v1/secrets")
SERVICES = _gvr("v1/services")
SAS = _gvr("v1/serviceaccounts")
DEPLOY = _gvr("apps/v1/deployments")
ROLES = _gvr("rbac.authorization.k8s.io/v1/roles")
BINDINGS = _gvr("rbac.authorization.k8s.io/v1/rolebindings")
CRDS = _gvr("apiextensions.k8s.io/v1/customresourcedefinitions")
WIDGETS = _gvr(f"{WIDGET_GROUP}/v1/widgets")
CONFIGS = _gvr("edge.kubestellar.io/v2alpha1/syncerconfigs")


def _info(gvr: GroupVersionResource, kind: str, *, namespaced: bool = True, status: bool = False):
    return ResourceInfo(
        gvr=gvr, kind=kind, namespaced=namespaced, status_subresource=status, verbs=_VERBS
    )


BUILTINS = (
    _info(NS, "Namespace", namespaced=False, status=True),
    _info(CM, "ConfigMap"),
    _info(SECRETS, "Secret"),
    _info(SERVICES, "Service", status=True),
    _info(SAS, "ServiceAccount"),
    _info(DEPLOY, "Deployment", status=True),
    _info(ROLES, "Role"),
    _info(BINDINGS, "RoleBinding"),
    _info(CRDS, "CustomResourceDefinition", namespaced=False, status=True),
    _info(CONFIGS, "SyncerConfig", namespaced=False),
)
WIDGETS_INFO = _info(WIDGETS, "Widget", status=True)
PREFERRED = {
    "": "v1",
    "apps": "v1",
    "rbac.authorization.k8s.io": "v1",
    "apiextensions.k8s.io": "v1",
    "edge.kubestellar.io": "v2alpha1",
    WIDGET_GROUP: "v1",
}
RECORDED = (NS, CM, SECRETS, SERVICES, SAS, DEPLOY, ROLES, BINDINGS, CRDS, WIDGETS)


class Counter:
    """Resource versions and uids, as one server hands them out."""

    def __init__(self, start: int) -> None:
        self.value = start

    def next(self) -> str:
        self.value += 1
        return str(self.value)


def _managed(
    manager_name: str, fields: dict[str, Any], operation: str = "Update"
) -> dict[str, Any]:
    return {
        "manager": manager_name,
        "operation": operation,
        "apiVersion": "v1",
        "time": CREATED,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }


def _fields_of(value: Any) -> Any:
    """A managedFields ``fieldsV1`` tree for a value (what the server keeps per manager)."""
    if isinstance(value, dict):
        return {".": {}, **{f"f:{k}": _fields_of(v) for k, v in value.items()}}
    return {}


class Fleet:
    """Builds the upstream objects of the fleet, deterministically from ``rng``."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.rv = Counter(10_000)
        self.uids = Counter(0)

    def meta(self, name: str, namespace: str = "", **extra: Any) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name}
        if namespace:
            meta["namespace"] = namespace
        meta.update(extra)
        meta["uid"] = f"{int(self.uids.next()):08x}-aaaa-4bbb-8ccc-{self.rng.getrandbits(48):012x}"
        meta["resourceVersion"] = self.rv.next()
        meta["creationTimestamp"] = CREATED
        return meta

    def namespace(self, name: str, team: str) -> dict[str, Any]:
        labels = {"team": team, "kubernetes.io/metadata.name": name}
        return {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": self.meta(
                name,
                labels=labels,
                managedFields=[
                    _managed("kubectl-create", {"f:metadata": {"f:labels": _fields_of(labels)}})
                ],
            ),
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }

    def labels(self, app: str, team: str) -> dict[str, str]:
        return {
            "app.kubernetes.io/name": app,
            "app.kubernetes.io/part-of": team,
            "app.kubernetes.io/managed-by": "helm",
            "tier": self.rng.choice(["frontend", "backend", "worker"]),
        }

    def deployment(self, ns: str, app: str, team: str) -> dict[str, Any]:
        labels = self.labels(app, team)
        selector = {"app.kubernetes.io/name": app}
        minor, patch = self.rng.randint(0, 40), self.rng.randint(0, 9)
        image = f"registry.example.com/{team}/{app}:1.{minor}.{patch}"
        env = [
            {"name": f"SETTING_{i}", "value": f"value-{self.rng.getrandbits(24):06x}"}
            for i in range(5)
        ]
        env.append(
            {
                "name": "POD_NAME",
                "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}},
            }
        )
        probe = {
            "httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
            "initialDelaySeconds": 5,
            "timeoutSeconds": 1,
            "periodSeconds": 10,
            "successThreshold": 1,
            "failureThreshold": 3,
        }
        spec = {
            "replicas": self.rng.choice([1, 2, 3]),
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "creationTimestamp": None,
                    "labels": {**selector, "tier": labels["tier"]},
                },
                "spec": {
                    "containers": [
                        {
                            "name": app,
                            "image": image,
                            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                            "env": env,
                            "resources": {
                                "limits": {"cpu": "500m", "memory": "256Mi"},
                                "requests": {"cpu": "100m", "memory": "128Mi"},
                            },
                            "livenessProbe": probe,
                            "readinessProbe": {**probe, "initialDelaySeconds": 2},
                            "volumeMounts": [
                                {"name": "config", "mountPath": "/etc/app"},
                                {"name": "secret", "mountPath": "/etc/secret", "readOnly": True},
                            ],
                            "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "File",
                            "imagePullPolicy": "IfNotPresent",
                        },
                        {
                            "name": "proxy",
                            "image": "registry.example.com/platform/proxy:2.3.1",
                            "args": ["--upstream=http://127.0.0.1:8080", "--port=9090"],
                            "ports": [{"name": "proxy", "containerPort": 9090, "protocol": "TCP"}],
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                            "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "File",
                            "imagePullPolicy": "IfNotPresent",
                        },
                    ],
                    "volumes": [
                        {
                            "name": "config",
                            "configMap": {"name": f"{app}-config", "defaultMode": 420},
                        },
                        {
                            "name": "secret",
                            "secret": {"secretName": f"{app}-secret", "defaultMode": 420},
                        },
                    ],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 30,
                    "dnsPolicy": "ClusterFirst",
                    "serviceAccountName": app,
                    "serviceAccount": app,
                    "securityContext": {},
                    "schedulerName": "default-scheduler",
                },
            },
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        }
        annotations = {"deployment.kubernetes.io/revision": "1", "meta.helm.sh/release-name": app}
        meta = self.meta(
            app,
            ns,
            labels=labels,
            annotations=annotations,
            generation=1,
            managedFields=[
                _managed(
                    "helm",
                    {"f:metadata": {"f:labels": _fields_of(labels)}, "f:spec": _fields_of(spec)},
                ),
                _managed(
                    "kube-controller-manager", {"f:status": {"f:conditions": {}, "f:replicas": {}}}
                ),
            ],
        )
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": spec,
            "status": deployment_status(spec["replicas"], 1, 0),
        }

    def service(self, ns: str, app: str, team: str) -> dict[str, Any]:
        ip = f"10.96.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": self.meta(app, ns, labels=self.labels(app, team)),
            "spec": {
                "ports": [
                    {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080},
                    {"name": "proxy", "protocol": "TCP", "port": 9090, "targetPort": "proxy"},
                ],
                "selector": {"app.kubernetes.io/name": app},
                "clusterIP": ip,
                "clusterIPs": [ip],
                "type": "ClusterIP",
                "sessionAffinity": "None",
            },
            "status": {"loadBalancer": {}},
        }

    def configmap(self, ns: str, app: str, team: str) -> dict[str, Any]:
        data = {f"key{i}": f"value-{self.rng.getrandbits(40):010x}" for i in range(8)}
        data["app.properties"] = "\n".join(
            f"{app}.option{i}={self.rng.randint(0, 999)}" for i in range(6)
        )
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": self.meta(f"{app}-config", ns, labels=self.labels(app, team)),
            "data": data,
        }

    def secret(self, ns: str, app: str, team: str) -> dict[str, Any]:
        data = {
            k: base64.b64encode(self.rng.randbytes(24)).decode()
            for k in ("username", "password", "token")
        }
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": self.meta(f"{app}-secret", ns, labels=self.labels(app, team)),
            "type": "Opaque",
            "data": data,
        }

    def service_account(self, ns: str, app: str, team: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": self.meta(app, ns, labels=self.labels(app, team)),
            "secrets": [{"name": f"{app}-token-{self.rng.getrandbits(20):05x}"}],
        }

    def role(self, ns: str, app: str, team: str) -> dict[str, Any]:
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": self.meta(f"{app}-reader", ns, labels=self.labels(app, team)),
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["configmaps", "secrets"],
                    "verbs": ["get", "list", "watch"],
                    "resourceNames": [f"{app}-config", f"{app}-secret"],
                },
                {
                    "apiGroups": [WIDGET_GROUP],
                    "resources": ["widgets"],
                    "verbs": ["get", "list", "watch"],
                },
            ],
        }

    def role_binding(self, ns: str, app: str, team: str) -> dict[str, Any]:
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": self.meta(f"{app}-reader", ns, labels=self.labels(app, team)),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": f"{app}-reader",
            },
            "subjects": [{"kind": "ServiceAccount", "name": app, "namespace": ns}],
        }

    def widget(self, ns: str, app: str, team: str) -> dict[str, Any]:
        return {
            "apiVersion": f"{WIDGET_GROUP}/v1",
            "kind": "Widget",
            "metadata": self.meta(f"{app}-widget", ns, labels=self.labels(app, team), generation=1),
            "spec": {
                "size": self.rng.randint(1, 9),
                "color": self.rng.choice(["red", "green", "blue"]),
                "owner": team,
            },
            "status": widget_status(1, "Ready"),
        }


def deployment_status(replicas: int, generation: int, flap: int) -> dict[str, Any]:
    stamp = f"2026-01-01T00:{flap // 60 % 60:02d}:{flap % 60:02d}Z"
    return {
        "observedGeneration": generation,
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": [
            {
                "type": "Available",
                "status": "True",
                "lastUpdateTime": stamp,
                "lastTransitionTime": stamp,
                "reason": "MinimumReplicasAvailable",
                "message": "Deployment has minimum availability.",
            },
            {
                "type": "Progressing",
                "status": "True",
                "lastUpdateTime": stamp,
                "lastTransitionTime": CREATED,
                "reason": "NewReplicaSetAvailable",
                "message": "ReplicaSet has successfully progressed.",
            },
        ],
    }


def widget_status(generation: int, phase: str, flap: int = 0) -> dict[str, Any]:
    return {
        "observedGeneration": generation,
        "phase": phase,
        "conditions": [
            {
                "type": "Ready",
                "status": "True" if phase == "Ready" else "False",
                "lastTransitionTime": f"2026-01-01T01:{flap // 60 % 60:02d}:{flap % 60:02d}Z",
            }
        ],
    }


def widget_crd() -> dict[str, Any]:
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"widgets.{WIDGET_GROUP}",
            "uid": "00000000-cccc-4ddd-8eee-000000000001",
            "resourceVersion": "9000",
            "creationTimestamp": CREATED,
            "generation": 1,
        },
        "spec": {
            "group": WIDGET_GROUP,
            "names": {
                "plural": "widgets",
                "singular": "widget",
                "kind": "Widget",
                "listKind": "WidgetList",
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": schema,
                    "subresources": {"status": {}},
                }
            ],
        },
    }


def syncer_config() -> dict[str, Any]:
    resources = [
        ("", "configmaps"),
        ("", "secrets"),
        ("", "services"),
        ("", "serviceaccounts"),
        ("apps", "deployments"),
        ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "rolebindings"),
        (WIDGET_GROUP, "widgets"),
    ]
    return {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "SyncerConfig",
        "metadata": {"name": "fleet"},
        "spec": {
            "namespaceScope": {
                "namespaces": ["*"],
                "resources": [
                    {"group": g, "resource": r, "apiVersion": "v1"} for g, r in resources
                ],
            },
            "clusterScope": [
                {
                    "group": "apiextensions.k8s.io",
                    "resource": "customresourcedefinitions",
                    "apiVersion": "v1",
                    "objects": [f"widgets.{WIDGET_GROUP}"],
                }
            ],
        },
    }


def fleet(objects: int, rng: random.Random) -> dict[GroupVersionResource, list[dict[str, Any]]]:
    """About ``objects`` upstream objects (8 per app, a namespace per ten apps, the CRD)."""
    build = Fleet(rng)
    out: dict[GroupVersionResource, list[dict[str, Any]]] = {gvr: [] for gvr in RECORDED}
    out[CRDS].append(widget_crd())
    apps = max(1, round(objects / 8.1))
    for index in range(apps):
        team = f"team-{index // APPS_PER_NAMESPACE:04d}"
        ns = team
        if index % APPS_PER_NAMESPACE == 0:
            out[NS].append(build.namespace(ns, team))
        app = f"app-{index:06d}"
        out[DEPLOY].append(build.deployment(ns, app, team))
        out[SERVICES].append(build.service(ns, app, team))
        out[CM].append(build.configmap(ns, app, team))
        out[SECRETS].append(build.secret(ns, app, team))
        out[SAS].append(build.service_account(ns, app, team))
        out[ROLES].append(build.role(ns, app, team))
        out[BINDINGS].append(build.role_binding(ns, app, team))
        out[WIDGETS].append(build.widget(ns, app, team))
    return out


def header() -> Header:
    side = SideInfo(
        server_version="v1.20.2", discovery=(*BUILTINS, WIDGETS_INFO), preferred_versions=PREFERRED
    )
    resources = [
        RecordedResource(side=s, info=i)
        for s in Side
        for i in (*BUILTINS, WIDGETS_INFO)
        if i.gvr in RECORDED
    ]
    return Header(
        recorded_at=RECORDED_AT,
        sides={Side.UPSTREAM: side, Side.DOWNSTREAM: side},
        resources=resources,
        syncer_configs=[syncer_config()],
    )


def new_engine(head: Header) -> ReplayEngine:
    pm = manager.build(builtins=builtin.MODULES, load_entry_points=False)
    return ReplayEngine(header=head, settings=Settings(syncer_name=SYNCER_NAME), pm=pm)


def initial_records(
    upstream: dict[GroupVersionResource, list[dict[str, Any]]],
    downstream: dict[GroupVersionResource, list[dict[str, Any]]],
) -> list[Record]:
    records: list[Record] = []
    for side, objects in ((Side.UPSTREAM, upstream), (Side.DOWNSTREAM, downstream)):
        for gvr in RECORDED:
            records.extend(
                Record(t=0.0, side=side, type=RecordType.LIST, gvr=gvr, object=o)
                for o in objects.get(gvr, ())
            )
            records.append(
                Record(t=0.0, side=side, type=RecordType.SYNCED, gvr=gvr, resource_version="1")
            )
    return records


def synced_copies(
    head: Header, upstream: dict[GroupVersionResource, list[dict[str, Any]]]
) -> dict[GroupVersionResource, list[dict[str, Any]]]:
    """The downstream copies the syncer makes of the fleet, with the edge's status on them."""
    engine = new_engine(head)
    engine.step(initial_records(upstream, {}))
    engine.finish()
    down = engine.apis[Side.DOWNSTREAM]
    status_of = {
        (o["metadata"].get("namespace", ""), o["metadata"]["name"], o["kind"]): o.get("status")
        for objs in upstream.values()
        for o in objs
    }
    copies: dict[GroupVersionResource, list[dict[str, Any]]] = {}
    for gvr in RECORDED:
        for obj in down.objects(gvr):
            status = status_of.get(
                (obj["metadata"].get("namespace", ""), obj["metadata"]["name"], obj["kind"])
            )
            if gvr in (DEPLOY, WIDGETS) and status is not None:
                obj = {**obj, "status": status}
            copies.setdefault(gvr, []).append(obj)
    return copies


def _bumped(obj: dict[str, Any], rv: str, **meta: Any) -> dict[str, Any]:
    return {**obj, "metadata": {**obj["metadata"], "resourceVersion": rv, **meta}}


class Stream:
    """The change events, each built from the current state of the replaying engine."""

    def __init__(self, engine: ReplayEngine, rng: random.Random, events: int) -> None:
        self.engine = engine
        self.rng = rng
        self.events = events
        self.up = engine.apis[Side.UPSTREAM]
        self.down = engine.apis[Side.DOWNSTREAM]
        self.alive: dict[GroupVersionResource, list[tuple[str, str]]] = {
            gvr: [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in self.up.objects(gvr)]
            for gvr in RECORDED
            if gvr not in (NS, CRDS)
        }
        self.flap = 0
        self._later: list[tuple[float, int, Callable[[float], Record | None]]] = []
        self._seq = 0

    def _rv(self, side: Side) -> str:
        api = self.up if side is Side.UPSTREAM else self.down
        return str(int(api.resource_version) + 1)

    def _pick(self, gvr: GroupVersionResource) -> tuple[str, str] | None:
        alive = self.alive[gvr]
        return alive[self.rng.randrange(len(alive))] if alive else None

    def _schedule(self, t: float, build: Callable[[float], Record | None]) -> None:
        self._seq += 1
        heapq.heappush(self._later, (t, self._seq, build))

    def rollout(self, t: float) -> Record | None:
        key = self._pick(DEPLOY)
        if key is None:
            return None
        obj = self.up.get(DEPLOY, *key)
        spec = copy.deepcopy(obj["spec"])
        container = spec["template"]["spec"]["containers"][0]
        repo, _, version = container["image"].rpartition(":")
        major, minor, patch = version.split(".")
        container["image"] = f"{repo}:{major}.{minor}.{int(patch) + 1}"
        generation = obj["metadata"]["generation"] + 1
        new = {**_bumped(obj, self._rv(Side.UPSTREAM), generation=generation), "spec": spec}
        for delay, done in ((0.4, False), (2.5, True)):
            self._schedule(
                t + delay,
                lambda at, key=key, generation=generation, done=done: self._edge_status(
                    at, DEPLOY, key, generation, done
                ),
            )
        return Record(t=t, side=Side.UPSTREAM, type=RecordType.MODIFIED, gvr=DEPLOY, object=new)

    def _edge_status(
        self, t: float, gvr: GroupVersionResource, key: tuple[str, str], generation: int, done: bool
    ) -> Record | None:
        copy_obj = self.down.get_or_none(gvr, *key)
        if copy_obj is None:
            return None
        self.flap += 1
        if gvr == DEPLOY:
            replicas = copy_obj["spec"]["replicas"]
            status = deployment_status(replicas, generation, self.flap)
            if not done:
                status = {
                    **status,
                    "updatedReplicas": 1,
                    "readyReplicas": replicas - 1 if replicas > 1 else 0,
                    "unavailableReplicas": 1,
                }
        else:
            status = widget_status(generation, "Ready" if done else "Reconciling", self.flap)
        return Record(
            t=t,
            side=Side.DOWNSTREAM,
            type=RecordType.MODIFIED,
            gvr=gvr,
            object={**_bumped(copy_obj, self._rv(Side.DOWNSTREAM)), "status": status},
        )

    def label_edit(self, t: float) -> Record | None:
        gvr = self.rng.choice([CM, SECRETS, SERVICES, SAS, DEPLOY, ROLES, BINDINGS, WIDGETS])
        key = self._pick(gvr)
        if key is None:
            return None
        obj = self.up.get(gvr, *key)
        labels = dict(obj["metadata"].get("labels") or {})
        if self.rng.random() < 0.1:
            labels[f"example.com/flag-{self.rng.randint(0, 9)}"] = "on"
        else:
            labels["tier"] = self.rng.choice(["frontend", "backend", "worker", "batch"])
        return Record(
            t=t,
            side=Side.UPSTREAM,
            type=RecordType.MODIFIED,
            gvr=gvr,
            object=_bumped(obj, self._rv(Side.UPSTREAM), labels=labels),
        )

    def config_edit(self, t: float) -> Record | None:
        key = self._pick(CM)
        if key is None:
            return None
        obj = self.up.get(CM, *key)
        data = {
            **obj["data"],
            f"key{self.rng.randint(0, 7)}": f"value-{self.rng.getrandbits(40):010x}",
        }
        return Record(
            t=t,
            side=Side.UPSTREAM,
            type=RecordType.MODIFIED,
            gvr=CM,
            object={**_bumped(obj, self._rv(Side.UPSTREAM)), "data": data},
        )

    def status_churn(self, t: float) -> Record | None:
        gvr = self.rng.choice([WIDGETS, WIDGETS, DEPLOY])
        key = self._pick(gvr)
        if key is None:
            return None
        upstream = self.up.get(gvr, *key)
        return self._edge_status(
            t, gvr, key, upstream["metadata"].get("generation", 1), self.rng.random() < 0.5
        )

    def delete(self, t: float) -> Record | None:
        gvr = self.rng.choice([CM, SECRETS, SERVICES, SAS, DEPLOY, ROLES, BINDINGS, WIDGETS])
        key = self._pick(gvr)
        if key is None:
            return None
        self.alive[gvr].remove(key)
        obj = self.up.get(gvr, *key)
        return Record(
            t=t,
            side=Side.UPSTREAM,
            type=RecordType.DELETED,
            gvr=gvr,
            object=_bumped(obj, self._rv(Side.UPSTREAM)),
        )

    def records(self) -> Iterator[Record]:
        kinds = [
            (self.rollout, 30),
            (self.label_edit, 20),
            (self.config_edit, 15),
            (self.status_churn, 25),
            (self.delete, 10),
        ]
        makers = [m for m, _ in kinds]
        weights = [w for _, w in kinds]
        step = STREAM_SECONDS / max(1, self.events)
        for index in range(self.events):
            t = round((index + 1) * step, 6)
            while self._later and self._later[0][0] < t:
                at, _, build = heapq.heappop(self._later)
                record = build(round(at, 6))
                if record is not None:
                    yield record
            maker = self.rng.choices(makers, weights)[0]
            record = maker(t)
            if record is not None:
                yield record
        while self._later:
            at, _, build = heapq.heappop(self._later)
            record = build(round(at, 6))
            if record is not None:
                yield record


def generate(objects: int, seed: int, target: pathlib.Path) -> int:
    """Write the snapshot; returns the number of records."""
    rng = random.Random(seed)
    head = header()
    upstream = fleet(objects, rng)
    downstream = synced_copies(head, upstream)
    engine = new_engine(head)
    first = initial_records(upstream, downstream)
    target.parent.mkdir(parents=True, exist_ok=True)
    with SnapshotWriter(target, head) as writer:
        for record in first:
            writer.write(record)
        engine.step(first)
        if engine.result().writes:
            raise RuntimeError(
                f"the generated fleet is not in steady state: {engine.result().writes[:3]}"
            )
        count = sum(len(v) for v in upstream.values())
        for record in Stream(engine, rng, count).records():
            writer.write(record)
            engine.step([record])
        return writer.records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--objects", type=int, default=1000, help="about this many upstream objects"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", "--output", type=pathlib.Path, required=True)
    args = parser.parse_args()
    written = generate(args.objects, args.seed, args.output)
    print(f"wrote {written} records to {args.output} ({args.output.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
