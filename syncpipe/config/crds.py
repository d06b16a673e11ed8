"""The CustomResourceDefinitions of syncpipe's configuration APIs, shipped as package data.

``syncpipe crds`` prints them for ``kubectl apply -f -``; tests and ``syncpipe dev`` install
them. They are plain YAML files (``crds/*.yaml``) so that a reviewer reads exactly what is
applied; this module only finds and loads them.
"""

from __future__ import annotations

import importlib.resources
from typing import Any

import yaml

CRD_FILES: dict[str, str] = {
    "syncerconfig": "syncerconfigs.yaml",
    "edgesyncconfig": "edgesyncconfigs.yaml",
    "objectcarrier": "objectcarriers.yaml",
    "clusterobjectcarrier": "clusterobjectcarriers.yaml",
}
"""Short name (as ``syncpipe crds --only`` takes it) → file in ``syncpipe/config/crds``."""


def crd_text(short_name: str) -> str:
    """The manifest of one CRD as shipped, comments included."""
    try:
        filename = CRD_FILES[short_name]
    except KeyError:
        raise ValueError(f"unknown CRD {short_name!r}; known: {', '.join(CRD_FILES)}") from None
    resource = importlib.resources.files(__package__).joinpath("crds", filename)
    return resource.read_text(encoding="utf-8")


def crd_manifest(short_name: str) -> dict[str, Any]:
    """One CRD as a dict, ready for an API client."""
    loaded: dict[str, Any] = yaml.safe_load(crd_text(short_name))
    return loaded


def all_crd_manifests() -> tuple[dict[str, Any], ...]:
    """Every CRD, in a fixed order."""
    return tuple(crd_manifest(name) for name in CRD_FILES)


def crds_yaml(only: str | None = None) -> str:
    """The CRDs as a multi-document YAML stream (``---`` between documents)."""
    chosen = [only] if only else list(CRD_FILES)
    return "".join(f"---\n{crd_text(name)}" for name in chosen)
