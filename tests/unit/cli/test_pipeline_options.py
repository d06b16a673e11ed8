"""run, plan, replay and explain take the pipeline-shaping options from one declaration."""

from __future__ import annotations

import importlib

import attrs
import click
import pytest

from syncpipe.cli import pipelineoptions
from syncpipe.config.settings import Settings

COMMANDS = ("run", "plan", "replay", "explain")


def _options(command: click.Command) -> dict[str, tuple[tuple[str, ...], object]]:
    return {p.name: (tuple(p.opts), p.default) for p in command.params if p.name}


def _pipeline_option_names() -> set[str]:
    probe = pipelineoptions.pipeline_options(lambda pipeline: None)
    return {p.name for p in getattr(probe, "__click_params__", ()) if p.name}


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_declares_every_pipeline_option_with_the_same_flags_and_default(name):
    command = importlib.import_module(f"syncpipe.cli.{name}").command
    run = importlib.import_module("syncpipe.cli.run").command
    wanted = _pipeline_option_names()
    assert wanted == {f.name for f in attrs.fields(pipelineoptions.PipelineOptions)}
    mine, runs = _options(command), _options(run)
    for option in wanted:
        assert mine[option] == runs[option], option


def test_the_settings_carry_every_option_that_feeds_the_deletion_guard():
    options = pipelineoptions.PipelineOptions(
        syncer_name=None,
        syncer_config_selector="edge=e1",
        resync_period=60.0,
        status_return=False,
        status_settle=0.0,
        namespace_mapping="prefix:e1-",
        max_namespaced_watches=3,
        disabled=("team-label",),
        plugin_opt=("team-label.team=blue",),
        confirm_held_deletions=True,
    )
    settings = options.settings(name_fallback="edge-one", write_concurrency=2)
    assert settings == Settings(
        syncer_name="edge-one",
        syncer_config_selector="edge=e1",
        resync_period=60.0,
        status_return=False,
        status_settle_seconds=0.0,
        namespace_mapping="prefix:e1-",
        max_namespaced_watches=3,
        disabled_plugins=("team-label",),
        plugin_settings={"team-label": {"team": "blue"}},
        confirm_held_deletions=True,
        write_concurrency=2,
    )
    assert options.settings().syncer_name == pipelineoptions.DEFAULT_SYNCER_NAME
