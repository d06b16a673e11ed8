"""The shipped CRDs: names, structural schemas, and agreement with the parser.

``check`` below validates an object against a CRD's OpenAPI schema the way the API server
does for the keywords the CRDs use, so these tests show offline that existing YAML passes
the schema; the real server's verdict is in ``tests/integration/test_syncerconfig_crd.py``.
"""

from __future__ import annotations

import functools
import re
from importlib.resources import files
from typing import Any

import pytest
import yaml
from hypothesis import given

from syncpipe.config import crds
from syncpipe.config.syncerconfig import parse_config

from .strategies import edge_sync_configs, no_deadline, syncer_configs
from .test_edgesyncconfig import E2E_EDGE_SYNC_CONFIG

TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "boolean": bool,
}


def check(value: Any, schema: dict, path: str = "$") -> list[str]:
    """Schema violations of ``value`` (unknown fields are pruned by the server, not errors)."""
    expected = TYPES[schema["type"]]
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        return [f"{path}: not {schema['type']}"]
    found = []
    if isinstance(value, dict):
        for key in schema.get("required", ()):
            if key not in value:
                found.append(f"{path}.{key}: required")
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                found += check(value[key], sub, f"{path}.{key}")
    if isinstance(value, list):
        for index, item in enumerate(value):
            found += check(item, schema["items"], f"{path}[{index}]")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append(f"{path}: does not match {schema['pattern']}")
        if len(value) > schema.get("maxLength", len(value)):
            found.append(f"{path}: too long")
        if len(value) < schema.get("minLength", 0):
            found.append(f"{path}: too short")
        if "enum" in schema and value not in schema["enum"]:
            found.append(f"{path}: not one of {schema['enum']}")
    return found


@functools.cache
def schema_of(short_name: str) -> dict:
    [version] = crds.crd_manifest(short_name)["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]


def walk(schema: dict, path: str = "$"):
    yield path, schema
    for key, sub in schema.get("properties", {}).items():
        yield from walk(sub, f"{path}.{key}")
    if "items" in schema:
        yield from walk(schema["items"], f"{path}[]")


@pytest.mark.parametrize(
    ("short_name", "kind", "plural", "short"),
    [
        ("syncerconfig", "SyncerConfig", "syncerconfigs", "escfg"),
        ("edgesyncconfig", "EdgeSyncConfig", "edgesyncconfigs", "esc"),
    ],
)
def test_crd_names_scope_version_and_status(short_name, kind, plural, short):
    crd = crds.crd_manifest(short_name)
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == f"{plural}.edge.kubestellar.io"
    spec = crd["spec"]
    assert spec["group"] == "edge.kubestellar.io"
    assert spec["scope"] == "Cluster"
    assert spec["names"] == {
        "kind": kind,
        "listKind": f"{kind}List",
        "plural": plural,
        "singular": plural[:-1],
        "shortNames": [short],
    }
    [version] = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v2alpha1", True, True)
    assert version["subresources"] == {"status": {}}
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    assert status["lastSyncerHeartbeatTime"]["format"] == "date-time"
    condition = status["conditions"]["items"]
    assert set(condition["properties"]) == {
        "type",
        "status",
        "reason",
        "message",
        "lastTransitionTime",
        "observedGeneration",
    }


@pytest.mark.parametrize("short_name", sorted(crds.CRD_FILES))
def test_schemas_are_structural(short_name):
    for path, node in walk(schema_of(short_name)):
        assert "type" in node, path
        assert set(node.get("required", ())) <= set(node.get("properties", {})), path
        if "pattern" in node:
            re.compile(node["pattern"])
        assert "x-kubernetes-validations" not in node, "CEL needs Kubernetes 1.25+"


def test_the_example_and_the_original_e2e_configs_pass_the_schemas():
    example = yaml.safe_load(files("syncpipe").joinpath("examples/syncerconfig.yaml").read_text())
    assert check(example, schema_of("syncerconfig")) == []
    assert check(E2E_EDGE_SYNC_CONFIG, schema_of("edgesyncconfig")) == []


@no_deadline
@given(config=syncer_configs)
def test_every_syncer_config_the_parser_accepts_passes_the_schema(config):
    assert check(config.to_dict(), schema_of("syncerconfig")) == []


@no_deadline
@given(config=edge_sync_configs)
def test_every_edge_sync_config_the_parser_accepts_passes_the_schema(config):
    assert check(config.to_dict(), schema_of("edgesyncconfig")) == []


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"group": "", "resource": "configmaps", "apiVersion": "apps/v1"}, "apiVersion"),
        ({"group": "", "resource": "ConfigMaps", "apiVersion": "v1"}, "resource"),
        ({"group": "", "resource": "deployments/status", "apiVersion": "v1"}, "resource"),
        ({"group": "Apps", "resource": "deployments", "apiVersion": "v1"}, "group"),
        ({"group": "", "resource": "configmaps"}, "apiVersion"),
    ],
)
def test_the_schema_and_the_parser_both_refuse_wrong_resource_entries(entry, field):
    doc = {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "SyncerConfig",
        "metadata": {"name": "x"},
        "spec": {"clusterScope": [entry]},
    }
    violations = check(doc, schema_of("syncerconfig"))
    assert [v for v in violations if v.startswith(f"$.spec.clusterScope[0].{field}")], violations
    with pytest.raises(Exception, match=re.escape(f"$.spec.clusterScope[0].{field}")):
        parse_config(doc)


def test_crds_yaml_is_the_shipped_files_in_order():
    text = crds.crds_yaml()
    assert text.count("\n---\n") + text.startswith("---\n") == 4
    assert [d["spec"]["names"]["kind"] for d in yaml.safe_load_all(text)] == [
        "SyncerConfig",
        "EdgeSyncConfig",
        "ObjectCarrier",
        "ClusterObjectCarrier",
    ]
    with pytest.raises(ValueError, match="unknown CRD"):
        crds.crd_text("nope")
