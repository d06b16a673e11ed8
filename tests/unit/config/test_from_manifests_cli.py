"""``syncpipe config from-manifests`` through click's test runner (no cluster)."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from syncpipe.cli.main import cli

from .test_manifests import CHART


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


@pytest.mark.parametrize(
    ("flags", "kind"), [((), "SyncerConfig"), (("--legacy",), "EdgeSyncConfig")]
)
def test_what_it_writes_passes_config_validate(flags, kind):
    result = run("config", "from-manifests", "-", "-n", "shop", *flags, stdin=CHART)
    assert result.exit_code == 0, result.output
    [config] = list(yaml.safe_load_all(result.stdout))
    assert config["kind"] == kind
    assert config["metadata"]["name"] == "shop"  # the Helm release label
    checked = run("config", "validate", "-", stdin=result.stdout)
    assert checked.exit_code == 0, checked.output
    assert checked.output.startswith(f"OK: 1 config(s): {kind}/shop\n")


def test_output_to_a_file_with_a_name_and_a_summary_on_stderr(tmp_path):
    chart = tmp_path / "chart.yaml"
    chart.write_text(CHART)
    out = tmp_path / "config.yaml"
    result = run("config", "from-manifests", str(chart), "--name", "shop-edge", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == (
        f"Wrote SyncerConfig/shop-edge to {out}: 8 object(s), namespaces: default, shop\n"
    )
    config = yaml.safe_load(out.read_text())
    assert config["metadata"]["name"] == "shop-edge"
    assert out.read_text().startswith(
        f"# SyncerConfig/shop-edge: selects exactly the 8 object(s) of {chart} and their\n"
    )


def test_several_files_are_read_as_one_set_of_manifests(tmp_path):
    first, second = tmp_path / "crds.yaml", tmp_path / "app.yaml"
    crd_doc, _, widget = CHART.partition("---\napiVersion: example.com/v1")
    crd_only = crd_doc[crd_doc.index("apiVersion: apiextensions.k8s.io/v1") :]
    first.write_text(crd_only)
    second.write_text("apiVersion: example.com/v1" + widget)
    result = run("config", "from-manifests", str(first), str(second))
    assert result.exit_code == 0, result.output
    spec = yaml.safe_load(result.stdout)["spec"]
    assert spec["namespacedObjects"][-1]["resource"] == "widgets"


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("apiVersion: v1\nkind: ConfigMap\n", "-: doc 1 (ConfigMap/?): required field is missing"),
        ("a: [\n", "-: doc 1: not valid YAML: "),
        (
            "apiVersion: x.io/v1\nkind: Thing\nmetadata: {name: t}\n",
            "-: doc 1 (Thing/t): kind Thing.x.io is not built into Kubernetes",
        ),
        ("---\n# nothing\n", "no objects in -: nothing to select"),
    ],
)
def test_errors_are_one_line(stdin, message):
    result = run("config", "from-manifests", "-", stdin=stdin)
    assert result.exit_code == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Error: {message}")


def test_help_documents_the_options():
    result = run("config", "from-manifests", "--help")
    for option in ("--legacy", "--name", "--output", "--default-namespace", "--kubeconfig"):
        assert option in result.output
