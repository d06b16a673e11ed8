"""``syncpipe replay`` and ``record`` on the command line (no server needed)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from syncpipe.cli.main import cli


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_replay_prints_the_same_json_and_the_same_table_every_time(snapshot):
    first_json = invoke("replay", str(snapshot), "--syncer-name", "edge1", "-o", "json")
    assert invoke("replay", str(snapshot), "--syncer-name", "edge1", "-o", "json") == first_json
    first_table = invoke("replay", str(snapshot), "--syncer-name", "edge1")
    assert invoke("replay", str(snapshot), "--syncer-name", "edge1") == first_table
    plan = json.loads(first_json)
    verbs = [(w["verb"], w["resource"], w["name"]) for w in plan["writes"]]
    assert ("create", "v1/configmaps", "settings") in verbs
    assert ("patch", "v1/configmaps", "settings") in verbs
    assert ("delete", "apps/v1/deployments", "web") in verbs
    assert plan["summary"]["deletes"] == 1
    assert "configmaps shop/settings" in first_table
    assert "replace /data/a" in first_table


def test_the_plan_does_not_depend_on_the_replay_speed(snapshot):
    fast = invoke("replay", str(snapshot), "-o", "json", "--speed", "1000")
    assert fast == invoke("replay", str(snapshot), "-o", "json", "--speed", "max")


def test_replay_output_is_byte_identical_across_processes(snapshot):
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-m", "syncpipe", "replay", str(snapshot), "-o", "json"],
            env=env,
            capture_output=True,
            check=True,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_config_files_replace_the_configs_of_the_snapshot(snapshot, tmp_path):
    config = tmp_path / "other.yaml"
    config.write_text(
        "apiVersion: edge.kubestellar.io/v2alpha1\nkind: SyncerConfig\nmetadata: {name: x}\n"
        "spec:\n  namespaceScope:\n    namespaces: [elsewhere]\n"
        "    resources: [{group: '', apiVersion: v1, resource: configmaps}]\n"
    )
    plan = json.loads(invoke("replay", str(snapshot), "--syncer-config", str(config), "-o", "json"))
    assert plan["writes"] == []


def test_replay_of_something_else_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(b"not a snapshot")
    result = CliRunner().invoke(cli, ["replay", str(bad)])
    assert result.exit_code == 1
    assert "not a gzip'd snapshot" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kubeconfig", "k", "--all-selected"], "--side"),
        (["--kubeconfig", "k", "--side", "upstream"], "--syncer-config FILE... or --all-selected"),
        (["--kubeconfig", "k", "--upstream-kubeconfig", "u", "--all-selected"], "not both"),
        (["--upstream-kubeconfig", "u", "--all-selected"], "--downstream-kubeconfig"),
        (["--kubeconfig", "k", "--side", "downstream", "--all-selected"], "record the upstream"),
        (
            [
                "--kubeconfig",
                "k",
                "--side",
                "upstream",
                "--all-selected",
                "--duration",
                "1s",
                "--until-signal",
            ],
            "either --duration or --until-signal",
        ),
    ],
)
def test_record_refuses_contradictory_options(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["record", *args, "-o", str(tmp_path / "s.jsonl.gz")])
    assert result.exit_code == 2
    assert message in result.output


def test_a_recorder_is_not_synced_before_it_has_started():
    from syncpipe.replay.recorder import Recorder

    recorder = Recorder(target=io.BytesIO(), clients={}, config_objects=[])
    assert not recorder.synced()  # no collection yet is not "every collection listed"


@pytest.mark.parametrize("module", ["record", "replay", "plan"])
def test_every_parameter_of_the_command_has_an_option(module):
    import importlib
    import inspect

    command = importlib.import_module(f"syncpipe.cli.{module}").command
    assert set(inspect.signature(command.callback).parameters) == {p.name for p in command.params}
