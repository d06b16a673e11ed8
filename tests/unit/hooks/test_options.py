"""Declared plugin options: typed, defaulted, and unknown names refused with a suggestion."""

from __future__ import annotations

import re

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncpipe.plugin import Duration, PluginOption, PluginOptionError, SyncContext, hookimpl
from tests.unit.hooks.plugins import hooks_with


class Tuned:
    """A plugin with one option of each kind."""

    def __init__(self) -> None:
        self.seen: dict[str, object] = {}

    @hookimpl
    def syncpipe_declare_options(self) -> list[PluginOption]:
        return [
            PluginOption(name="team", default="edge", help="team label"),
            PluginOption(name="replicas", type=int, default=1),
            PluginOption(name="dry-run", type=bool, default=False),
            PluginOption(name="period", type=Duration(), default=30.0),
            PluginOption(name="mode", type=click.Choice(["fast", "safe"]), default="safe"),
            PluginOption(name="token"),
        ]

    @hookimpl
    def syncpipe_configure(self, ctx: SyncContext) -> None:
        self.seen = dict(ctx.plugin_config("tuned"))


def configured(values: dict[str, str]) -> Tuned:
    plugin = Tuned()
    hooks_with(("tuned", plugin), settings={"tuned": values}).configure()
    return plugin


def test_values_are_parsed_to_their_declared_types_and_defaults_fill_the_rest() -> None:
    seen = configured({"replicas": "3", "dry-run": "yes", "period": "1m30s"}).seen
    assert seen == {
        "team": "edge",
        "replicas": 3,
        "dry-run": True,
        "period": 90.0,
        "mode": "safe",
    }


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"replicas": "three"},
            "plugin 'tuned': option 'replicas': 'three' is not a valid integer",
        ),
        ({"mode": "quick"}, "plugin 'tuned': option 'mode': 'quick' is not one of 'fast', 'safe'"),
        (
            {"dry-run": "maybe"},
            "plugin 'tuned': option 'dry-run': 'maybe' is not a boolean (true/false, yes/no, "
            "on/off, 1/0)",
        ),
        ({"dry-run": ""}, "plugin 'tuned': option 'dry-run': '' is not a boolean"),
        ({"replica": "2"}, "plugin 'tuned': no option 'replica'; did you mean 'replicas'?"),
    ],
)
def test_a_bad_value_or_unknown_key_is_refused_at_configure(
    values: dict[str, str], message: str
) -> None:
    with pytest.raises(PluginOptionError) as caught:
        configured(values)
    assert str(caught.value).startswith(message)


def test_an_unknown_plugin_name_is_refused_with_a_suggestion() -> None:
    hooks = hooks_with(("tuned", Tuned()), settings={"tunde": {"team": "x"}})
    with pytest.raises(
        PluginOptionError, match=re.escape("plugin 'tunde': no such plugin; did you mean 'tuned'?")
    ):
        hooks.configure()


def test_a_plugin_declaring_no_options_gets_its_values_as_given() -> None:
    class Legacy:
        @hookimpl
        def syncpipe_configure(self, ctx: SyncContext) -> None:
            self.seen = ctx.plugin_config("legacy")

    legacy = Legacy()
    hooks_with(("legacy", legacy), settings={"legacy": {"anything": "1"}}).configure()
    assert legacy.seen == {"anything": "1"}


def test_a_blocked_plugins_options_are_ignored() -> None:
    hooks = hooks_with(settings={"gone": {"x": "1"}})
    hooks.pm.set_blocked("gone")
    hooks.configure()
    assert hooks.ctx.plugin_config("gone") == {}


def test_a_context_set_after_configure_keeps_the_typed_values() -> None:
    hooks = hooks_with(("tuned", Tuned()), settings={"tuned": {"replicas": "2"}})
    raw = hooks.ctx
    hooks.configure()
    hooks.ctx = raw  # what the drivers do when they add the namespace mapper or a selection
    assert hooks.ctx.plugin_config("tuned")["replicas"] == 2


@given(st.integers())
def test_an_integer_option_reads_back_every_integer(number: int) -> None:
    assert PluginOption(name="n", type=int).parse(str(number), plugin="p") == number


@given(st.sampled_from(["true", "True", "yes", "on", "1", "false", "no", "off", "0"]))
def test_a_boolean_option_reads_the_usual_spellings(text: str) -> None:
    expected = text.lower() in ("true", "yes", "on", "1")
    assert PluginOption(name="b", type=bool).parse(text, plugin="p") is expected


def test_a_required_option_not_given_is_refused_naming_the_flag() -> None:
    class Needy:
        @hookimpl
        def syncpipe_declare_options(self) -> list[PluginOption]:
            return [PluginOption(name="token", required=True)]

    with pytest.raises(PluginOptionError, match=re.escape("--plugin-opt needy.token=VALUE")):
        hooks_with(("needy", Needy())).configure()
