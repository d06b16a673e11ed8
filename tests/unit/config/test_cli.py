"""``syncpipe config validate`` and ``syncpipe crds`` through click's test runner."""

from __future__ import annotations

from importlib.resources import files

import pytest
import yaml
from click.testing import CliRunner

from syncpipe.cli.main import cli

EXAMPLE = str(files("syncpipe").joinpath("examples/syncerconfig.yaml"))

BAD = """\
apiVersion: edge.kubestellar.io/v2alpha1
kind: SyncerConfig
metadata:
  name: bad
spec:
  namespaceScope:
    namespaces: [Test]
    resources:
    - {group: "", resource: configmaps, apiVersion: apps/v1}
---
---
apiVersion: edge.kubestellar.io/v2alpha1
kind: EdgeSyncConfig
metadata: {name: legacy}
spec:
  downSyncedResources:
  - {kind: ConfigMap}
"""

CONFLICTING = """\
apiVersion: edge.kubestellar.io/v2alpha1
kind: SyncerConfigList
items:
- apiVersion: edge.kubestellar.io/v2alpha1
  kind: SyncerConfig
  metadata: {name: down}
  spec:
    namespaceScope:
      namespaces: [a]
      resources: [{group: "", resource: configmaps, apiVersion: v1}]
- apiVersion: edge.kubestellar.io/v2alpha1
  kind: SyncerConfig
  metadata: {name: up}
  spec:
    upsync: [{apiGroup: "", resources: [configmaps], namespaces: [a], names: ["*"]}]
"""


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


def test_validate_accepts_the_example_and_summarises_the_selection():
    result = run("config", "validate", EXAMPLE)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "OK: 1 config(s): SyncerConfig/syncer-config",
        "  downsync resources: v1/configmaps, v1/namespaces, "
        "apiextensions.k8s.io/v1/customresourcedefinitions, my.domain/v1alpha1/sampledownsyncs",
        "  upsync resources:   my.domain/*/sampleupsyncs",
        "  namespaces needed downstream: test",
    ]


def test_validate_reports_every_problem_with_file_document_and_path(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    result = run("config", "validate", str(bad))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{bad}: doc 1 (SyncerConfig/bad): 'Test' is not a namespace name (a DNS-1123 label) "
        "or * @ $.spec.namespaceScope.namespaces[0]",
        f"{bad}: doc 1 (SyncerConfig/bad): apiVersion holds the version only, e.g. v1 "
        "@ $.spec.namespaceScope.resources[0].apiVersion",
        f"{bad}: doc 3 (EdgeSyncConfig/legacy): required field is missing "
        "@ $.spec.downSyncedResources[0].name",
    ]


def test_validate_reads_stdin_for_a_dash():
    result = run("config", "validate", "-", stdin=BAD)
    assert result.exit_code == 1
    assert result.output.startswith("-: doc 1 (SyncerConfig/bad): ")


def test_validate_merges_all_files_and_reports_conflicts_inside_lists(tmp_path):
    conflicting = tmp_path / "conflicting.yaml"
    conflicting.write_text(CONFLICTING)
    result = run("config", "validate", str(conflicting))
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith(
        f"{conflicting}: doc 1 (SyncerConfig/up): upsyncs every object of configmaps"
    )
    assert line.endswith("@ $.items[1].spec.upsync[0]")


def test_validate_refuses_two_configs_with_one_name(tmp_path):
    result = run("config", "validate", EXAMPLE, EXAMPLE)
    assert result.exit_code == 1
    assert "SyncerConfig/syncer-config is also defined in" in result.output


def test_validate_reports_yaml_syntax_errors():
    result = run("config", "validate", "-", stdin="spec: [unclosed\n")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "-: doc 1: not valid YAML: while parsing a flow sequence: expected ',' or ']', "
        "but got '<stream end>' @ line 2, column 1"
    ]


def test_validate_of_a_file_without_configs_fails(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("---\n")
    result = run("config", "validate", str(empty))
    assert result.exit_code == 1
    assert result.output == "no SyncerConfig or EdgeSyncConfig found\n"


def test_validate_needs_a_file():
    result = CliRunner().invoke(cli, ["config", "validate"])
    assert result.exit_code == 2


def test_crds_prints_every_crd_as_yaml_documents():
    result = run("crds")
    assert result.exit_code == 0
    docs = list(yaml.safe_load_all(result.output))
    assert [d["kind"] for d in docs] == ["CustomResourceDefinition"] * 4
    assert [d["metadata"]["name"] for d in docs] == [
        "syncerconfigs.edge.kubestellar.io",
        "edgesyncconfigs.edge.kubestellar.io",
        "objectcarriers.carrier.syncpipe.io",
        "clusterobjectcarriers.carrier.syncpipe.io",
    ]


@pytest.mark.parametrize(
    ("only", "name"),
    [
        ("syncerconfig", "syncerconfigs.edge.kubestellar.io"),
        ("edgesyncconfig", "edgesyncconfigs.edge.kubestellar.io"),
    ],
)
def test_crds_only_prints_one(only, name):
    result = run("crds", "--only", only)
    assert result.exit_code == 0
    [doc] = list(yaml.safe_load_all(result.output))
    assert doc["metadata"]["name"] == name


def test_crds_only_refuses_unknown_names():
    result = CliRunner().invoke(cli, ["crds", "--only", "bogus"])
    assert result.exit_code == 2


@pytest.mark.parametrize(
    "modules",
    [
        "syncpipe.cli.config, syncpipe.cli.crds",
        # The replay driver: a second of start-up for every replay, plan and explain.
        "syncpipe.replay.engine",
    ],
)
def test_offline_commands_do_not_import_the_kubernetes_client(modules):
    import subprocess
    import sys

    code = (
        f"import sys, {modules}; "
        "sys.exit(1 if any(m.split('.')[0] == 'kubernetes' for m in sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
