"""The SyncerConfig/EdgeSyncConfig CRDs on a real API server (Kubernetes 1.20).

Installs the CRDs exactly as ``syncpipe crds`` prints them, then checks that the server's
schema rejects what it should (naming the field), accepts the original's configs unchanged,
and hands back objects the parser reads into the expected selection.
"""

from __future__ import annotations

import contextlib
import copy
from importlib.resources import files
from pathlib import Path

import attrs
import pytest
import yaml
from click.testing import CliRunner

from syncpipe import errors
from syncpipe.cli.main import cli
from syncpipe.clients.rest import RestClient
from syncpipe.config.edgesyncconfig import EdgeSyncConfig
from syncpipe.config.mergedselection import Selection
from syncpipe.config.syncerconfig import SyncerConfig, parse_config
from syncpipe.model.resources import GroupVersionResource
from syncpipe.testing import wait_for

pytestmark = pytest.mark.apiserver

DATA = Path(__file__).parents[1] / "data" / "config"

CRD_GVR = GroupVersionResource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
SYNCER_CONFIGS = GroupVersionResource("edge.kubestellar.io", "v2alpha1", "syncerconfigs")
EDGE_SYNC_CONFIGS = GroupVersionResource("edge.kubestellar.io", "v2alpha1", "edgesyncconfigs")


def _established(rest: RestClient, name: str) -> bool:
    crd = rest.get(CRD_GVR, "", name)
    conditions = (crd.get("status") or {}).get("conditions") or ()
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


@pytest.fixture(scope="module")
def installed(up_rest: RestClient) -> RestClient:
    """The CRDs from ``syncpipe crds``, created or replaced upstream, established and served."""
    output = CliRunner().invoke(cli, ["crds"], catch_exceptions=False).output
    manifests = list(yaml.safe_load_all(output))
    for manifest in manifests:
        name = manifest["metadata"]["name"]
        existing = up_rest.get_or_none(CRD_GVR, "", name)
        if existing is None:
            up_rest.create(CRD_GVR, "", manifest)
        else:
            body = copy.deepcopy(manifest)
            body["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
            up_rest.replace(CRD_GVR, "", name, body)
    for manifest in manifests:
        name = manifest["metadata"]["name"]
        wait_for(lambda name=name: _established(up_rest, name), timeout=30, message=name)
    for gvr in (SYNCER_CONFIGS, EDGE_SYNC_CONFIGS):
        wait_for(lambda gvr=gvr: up_rest.list(gvr), timeout=30, ignore=(errors.ApiNotFound,))
    return up_rest


@pytest.fixture
def cleanup(installed: RestClient):
    created: list[tuple[GroupVersionResource, str]] = []
    yield created
    for gvr, name in created:
        with contextlib.suppress(errors.ApiNotFound):
            installed.delete(gvr, "", name)


def example(name: str) -> dict:
    doc = yaml.safe_load(files("syncpipe").joinpath("examples/syncerconfig.yaml").read_text())
    doc["metadata"]["name"] = name
    return doc


def test_a_malformed_syncer_config_is_rejected_naming_each_field(installed, unique_name):
    doc = example(unique_name)
    doc["spec"]["namespaceScope"]["resources"][0]["apiVersion"] = "apps/v1"
    del doc["spec"]["clusterScope"][1]["resource"]
    doc["spec"]["upsync"][0]["names"] = ["a/b"]
    with pytest.raises(errors.ApiInvalid) as rejected:
        installed.create(SYNCER_CONFIGS, "", doc)
    assert rejected.value.status == 422
    message = str(rejected.value)
    # Kubernetes 1.20 names fields without list indexes; the offline validator adds them.
    for field in (
        "spec.namespaceScope.resources.apiVersion",
        "spec.clusterScope.resource",
        "spec.upsync.names",
    ):
        assert field in message, message
    # The offline validator finds the same problems at the same places.
    with pytest.raises(errors.ConfigError) as parsed:
        parse_config(doc)
    assert sorted(path for path, _ in parsed.value.problems) == [
        "$.spec.clusterScope[1].resource",
        "$.spec.namespaceScope.resources[0].apiVersion",
        "$.spec.upsync[0].names[0]",
    ]


def test_a_valid_syncer_config_is_stored_and_reads_back_as_the_same_selection(
    installed, cleanup, unique_name
):
    doc = example(unique_name)
    installed.create(SYNCER_CONFIGS, "", doc)
    cleanup.append((SYNCER_CONFIGS, unique_name))

    stored = installed.get(SYNCER_CONFIGS, "", unique_name)
    parsed = parse_config(stored)

    expected = parse_config(example(unique_name))
    assert isinstance(parsed, SyncerConfig)
    assert parsed == expected
    assert Selection.from_configs([parsed]) == Selection.from_configs([expected])
    assert parsed.cluster_scope[0].objects == (
        "sampleupsyncs.my.domain",
        "sampledownsyncs.my.domain",
    )


def test_absent_and_empty_objects_survive_storage_distinctly(installed, cleanup, unique_name):
    config = SyncerConfig.from_dict(example(unique_name))
    changed = attrs.evolve(
        config,
        cluster_scope=[
            attrs.evolve(config.cluster_scope[0], objects=None),
            attrs.evolve(config.cluster_scope[1], objects=()),
        ],
    )
    installed.create(SYNCER_CONFIGS, "", changed.to_dict())
    cleanup.append((SYNCER_CONFIGS, unique_name))
    stored = parse_config(installed.get(SYNCER_CONFIGS, "", unique_name))
    assert isinstance(stored, SyncerConfig)
    assert [c.objects for c in stored.cluster_scope] == [None, ()]


def test_the_server_prunes_misspelt_fields_which_only_the_parser_reports(
    installed, cleanup, unique_name
):
    doc = example(unique_name)
    doc["spec"]["namespaceScope"]["namespace"] = ["typo"]
    installed.create(SYNCER_CONFIGS, "", doc)
    cleanup.append((SYNCER_CONFIGS, unique_name))
    stored = installed.get(SYNCER_CONFIGS, "", unique_name)
    assert "namespace" not in stored["spec"]["namespaceScope"]
    with pytest.raises(errors.ConfigError, match=r"unknown field 'namespace'"):
        parse_config(doc)


def test_the_status_subresource_takes_heartbeat_and_conditions(installed, cleanup, unique_name):
    installed.create(SYNCER_CONFIGS, "", example(unique_name))
    cleanup.append((SYNCER_CONFIGS, unique_name))
    status = {
        "lastSyncerHeartbeatTime": "2024-02-01T00:00:00Z",
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Syncing",
                "message": "all selected resources are watched",
                "lastTransitionTime": "2024-02-01T00:00:00Z",
                "observedGeneration": 1,
            }
        ],
    }
    installed.merge_patch(SYNCER_CONFIGS, "", unique_name, {"status": status}, "status")
    stored = installed.get(SYNCER_CONFIGS, "", unique_name)
    assert stored["status"] == status
    assert parse_config(stored) == parse_config(example(unique_name))

    bad = {"status": {"conditions": [{"type": "Ready", "status": "Maybe"}]}}
    with pytest.raises(errors.ApiInvalid) as rejected:
        installed.merge_patch(SYNCER_CONFIGS, "", unique_name, bad, "status")
    assert "status.conditions.status" in str(rejected.value)


def test_the_original_edge_sync_config_is_accepted_and_parses(installed, cleanup, unique_name):
    doc = yaml.safe_load((DATA / "edge-sync-config.yaml").read_text())
    doc["metadata"]["name"] = unique_name
    installed.create(EDGE_SYNC_CONFIGS, "", doc)
    cleanup.append((EDGE_SYNC_CONFIGS, unique_name))
    parsed = parse_config(installed.get(EDGE_SYNC_CONFIGS, "", unique_name))
    assert isinstance(parsed, EdgeSyncConfig)
    assert parsed == parse_config(doc)

    doc["metadata"]["name"] = f"{unique_name}-bad"
    doc["spec"]["downSyncedResources"][0] = {"name": "test", "version": "apps/v1"}
    with pytest.raises(errors.ApiInvalid) as rejected:
        installed.create(EDGE_SYNC_CONFIGS, "", doc)
    message = str(rejected.value)
    assert "spec.downSyncedResources.kind" in message, message
    assert "spec.downSyncedResources.version" in message, message
