"""Small workload manifests the test suites create on real API servers."""

from __future__ import annotations

from typing import Any


def configmap(ns: str, name: str, data: dict[str, str], **meta: Any) -> dict[str, Any]:
    """A ConfigMap ``ns/name`` holding ``data``; ``meta`` adds metadata fields (labels...)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, **meta},
        "data": data,
    }


def deployment(ns: str, name: str) -> dict[str, Any]:
    """A one-replica Deployment ``ns/name`` of busybox, selecting ``app: name``."""
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "busybox", "args": ["sleep", "1"]}]},
            },
        },
    }
