"""Parsing the legacy EdgeSyncConfig objects."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from syncpipe import errors
from syncpipe.config.edgesyncconfig import Conversion, EdgeSyncConfig, EdgeSyncResource
from syncpipe.config.syncerconfig import parse_config

DATA = Path(__file__).parents[2] / "data" / "config"

# The original's e2e EdgeSyncConfig `test` (reference §4.1), as YAML authors wrote it.
E2E_EDGE_SYNC_CONFIG = yaml.safe_load((DATA / "edge-sync-config.yaml").read_text())


def test_the_original_e2e_edge_sync_config_parses_unchanged():
    config = parse_config(E2E_EDGE_SYNC_CONFIG)
    assert isinstance(config, EdgeSyncConfig)
    assert config.ref == "EdgeSyncConfig/test"
    assert config.down_synced[1] == EdgeSyncResource(
        kind="ConfigMap", name="test", namespace="test", version="v1"
    )
    assert config.up_synced == (
        EdgeSyncResource(
            kind="Sample", name="sample-upsync", group="my.domain", version="v1alpha1"
        ),
    )


def test_the_default_edge_sync_config_with_an_empty_spec_parses():
    doc = {
        "apiVersion": "edge.kubestellar.io/v2alpha1",
        "kind": "EdgeSyncConfig",
        "metadata": {"name": "psyncer-01"},
    }
    assert parse_config(doc) == EdgeSyncConfig(name="psyncer-01")


def test_conversions_are_kept_as_data():
    doc = {
        **E2E_EDGE_SYNC_CONFIG,
        "spec": {
            "conversions": [
                {
                    "upstream": {
                        "group": "apiextensions.k8s.io",
                        "kind": "CustomResourceDefinition",
                        "name": "policyreports.wgpolicyk8s.io.denatured",
                        "version": "v1",
                    },
                    "downstream": {
                        "group": "apiextensions.k8s.io",
                        "kind": "CustomResourceDefinition",
                        "name": "policyreports.wgpolicyk8s.io",
                        "version": "v1",
                    },
                }
            ]
        },
    }
    config = parse_config(doc)
    assert isinstance(config, EdgeSyncConfig)
    [conversion] = config.conversions
    assert isinstance(conversion, Conversion)
    assert conversion.upstream.name == "policyreports.wgpolicyk8s.io.denatured"


@pytest.mark.parametrize(
    ("entry", "path", "message"),
    [
        ({"name": "x"}, "$.spec.downSyncedResources[0].kind", "required field is missing"),
        ({"kind": "ConfigMap"}, "$.spec.downSyncedResources[0].name", "required field is missing"),
        (
            {"kind": "configmaps", "name": "x"},
            "$.spec.downSyncedResources[0].kind",
            "is not a kind",
        ),
        (
            {"kind": "Deployment", "name": "x", "version": "apps/v1"},
            "$.spec.downSyncedResources[0].version",
            "version only",
        ),
        (
            {"kind": "ConfigMap", "name": "x", "namespace": "A"},
            "$.spec.downSyncedResources[0].namespace",
            "namespace name",
        ),
        (
            {"kind": "ConfigMap", "name": "x", "resource": "configmaps"},
            "$.spec.downSyncedResources[0].resource",
            "unknown field",
        ),
    ],
)
def test_entry_problems_are_reported_at_their_path(entry, path, message):
    doc = {**E2E_EDGE_SYNC_CONFIG, "spec": {"downSyncedResources": [entry]}}
    with pytest.raises(errors.ConfigError) as caught:
        parse_config(doc)
    assert [p for p, m in caught.value.problems if p == path and message in m], (
        caught.value.problems
    )


def test_conversion_problems_name_the_side():
    doc = {
        **E2E_EDGE_SYNC_CONFIG,
        "spec": {
            "conversions": [{"upstream": {"kind": "X", "name": "a"}, "downstream": {"name": "b"}}]
        },
    }
    with pytest.raises(errors.ConfigError) as caught:
        parse_config(doc)
    assert caught.value.problems == (
        ("$.spec.conversions[0].downstream.kind", "required field is missing"),
    )
