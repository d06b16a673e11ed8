"""The ``api`` fixture: the same object verbs on the memory store and on a real API server.

``memory`` is a fresh ``syncpipe.replay.memstore.MemoryApi``; ``apiserver`` is a
``syncpipe.clients.rest.RestClient`` on the session's upstream control plane. Both get a
namespace of their own and two CRDs (one served with a ``/status`` subresource, one without),
so every contract case can run unchanged on either.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from syncpipe.model.events import Side
from syncpipe.model.resources import GroupVersionResource, ResourceInfo
from syncpipe.replay.memstore import MemoryApi
from syncpipe.replay.served import ServedResources
from syncpipe.testing import wait_for

NS = GroupVersionResource("", "v1", "namespaces")
CM = GroupVersionResource("", "v1", "configmaps")
DEPLOY = GroupVersionResource("apps", "v1", "deployments")
CRDS = GroupVersionResource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
GROUP = "contract.syncpipe.io"
WITH_STATUS = GroupVersionResource(GROUP, "v1alpha1", "widgets")
WITHOUT_STATUS = GroupVersionResource(GROUP, "v1alpha1", "gadgets")

_VERBS = frozenset(
    {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
)
# What a 1.20 server's discovery says about the built-in resources the cases use.
BUILTINS = (
    ResourceInfo(gvr=NS, kind="Namespace", namespaced=False, status_subresource=True, verbs=_VERBS),
    ResourceInfo(gvr=CM, kind="ConfigMap", namespaced=True, verbs=_VERBS),
    ResourceInfo(
        gvr=DEPLOY, kind="Deployment", namespaced=True, status_subresource=True, verbs=_VERBS
    ),
    ResourceInfo(
        gvr=CRDS,
        kind="CustomResourceDefinition",
        namespaced=False,
        status_subresource=True,
        verbs=_VERBS,
    ),
)


def crd(plural: str, kind: str, *, status: bool) -> dict[str, Any]:
    version: dict[str, Any] = {
        "name": "v1alpha1",
        "served": True,
        "storage": True,
        "schema": {
            "openAPIV3Schema": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
            }
        },
    }
    if status:
        version["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": {
                "plural": plural,
                "kind": kind,
                "singular": kind.lower(),
                "listKind": f"{kind}List",
            },
            "scope": "Namespaced",
            "versions": [version],
        },
    }


CONTRACT_CRDS = (crd("widgets", "Widget", status=True), crd("gadgets", "Gadget", status=False))


@attrs.define
class ContractApi:
    """What a contract case gets: the verbs (``rest``), its own namespace, and the kind."""

    rest: Any
    namespace: str
    kind: str


def _established(rest: Any) -> bool:
    for manifest in CONTRACT_CRDS:
        obj = rest.get_or_none(CRDS, "", manifest["metadata"]["name"]) or {}
        conditions = (obj.get("status") or {}).get("conditions") or ()
        if not any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
            return False
    return True


@pytest.fixture(scope="session")
def contract_rest(upstream) -> Iterator[Any]:
    """A RestClient on the upstream control plane with the contract CRDs established."""
    from syncpipe.clients.connect import ClusterAccess, load_configuration
    from syncpipe.clients.rest import RestClient

    access = ClusterAccess(kubeconfig=str(upstream.admin_kubeconfig), label="upstream")
    rest = RestClient(load_configuration(access), label="upstream")
    for manifest in CONTRACT_CRDS:
        if rest.get_or_none(CRDS, "", manifest["metadata"]["name"]) is None:
            rest.create(CRDS, "", manifest)
    wait_for(lambda: _established(rest), timeout=30, message="contract CRDs not established")
    # Discovery lags establishment a little: wait until the resources are served.
    wait_for(
        lambda: rest.list(WITH_STATUS, "default") and rest.list(WITHOUT_STATUS, "default"),
        timeout=30,
        ignore=(Exception,),
    )
    yield rest
    rest.close()


def memory_api() -> MemoryApi:
    api = MemoryApi(side=Side.UPSTREAM, served=ServedResources(BUILTINS, {"": "v1"}), now=time.time)
    for manifest in CONTRACT_CRDS:
        api.create(CRDS, "", manifest)
    return api


@pytest.fixture(params=["memory", pytest.param("apiserver", marks=pytest.mark.apiserver)])
def api(request: pytest.FixtureRequest, unique_name: str) -> Iterator[ContractApi]:
    rest = memory_api() if request.param == "memory" else request.getfixturevalue("contract_rest")
    rest.create(
        NS, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": unique_name}}
    )
    yield ContractApi(rest=rest, namespace=unique_name, kind=request.param)
    if request.param == "apiserver":
        rest.delete(NS, "", unique_name)
