"""``syncpipe plugins`` lists what is installed; plugin errors end any command in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from syncpipe.cli.main import cli
from tests.fakeplugins import install_plugin


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["plugins", *args])


def one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: ")
    return line


def test_plugins_lists_the_example_plugin_its_transform_and_its_option_default() -> None:
    result = invoke()
    assert result.exit_code == 0, result.output
    words = result.output.split()
    assert "team-label syncpipe-example-team-label 0.1.0 declare_options," in " ".join(words)
    assert "builtin.writer built-in apply_action" in " ".join(words)
    assert "team text edge (default) edge" in " ".join(words)


def test_plugins_as_json_gives_transforms_in_run_order_with_their_directions() -> None:
    result = invoke("-o", "json", "--plugin-opt", "team-label.team=blue")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    names = [t["name"] for t in found["transforms"]]
    assert names.index("strip-server-fields") < names.index("team-label") < names.index("ownership")
    team = next(t for t in found["transforms"] if t["name"] == "team-label")
    assert (team["plugin"], team["phase"], team["directions"]) == (
        "team-label",
        "custom",
        ["down", "up"],
    )
    assert [o for o in found["options"] if o["plugin"] == "team-label"] == [
        {
            "plugin": "team-label",
            "name": "team",
            "type": "text",
            "default": "edge",
            "value": "blue",
            "given": True,
            "help": "the value of the example.com/team label",
        }
    ]
    example = next(p for p in found["plugins"] if p["name"] == "team-label")
    assert example["hooks"] == ["syncpipe_declare_options", "syncpipe_register_transforms"]
    assert example["builtin"] is False


def test_a_misspelt_plugin_or_option_is_one_error_line_with_a_suggestion() -> None:
    assert one_error_line(invoke("--plugin-opt", "team-labl.team=x")) == (
        "Error: plugin 'team-labl': no such plugin; did you mean 'team-label'?"
    )
    assert one_error_line(invoke("--plugin-opt", "team-label.teams=x")) == (
        "Error: plugin 'team-label': no option 'teams'; did you mean 'team'?"
    )


def test_disabling_an_essential_built_in_is_one_error_line_naming_them_all() -> None:
    line = one_error_line(invoke("--plugins-disable", "writer"))
    assert line.startswith("Error: plugin 'writer': cannot be disabled")
    assert line.endswith("(essential built-ins: namespaces, ownership, selection, strip, writer)")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "import no_such_module_anywhere\n",
            "Error: plugin 'faulty' (syncpipe-faulty-plugin 0.0.1): cannot load "
            "'faulty_plugin_import': ModuleNotFoundError: "
            "No module named 'no_such_module_anywhere'",
        ),
        (
            """\
            from syncpipe.plugin import hookimpl

            @hookimpl
            def syncpipe_configure(ctx):
                raise ValueError("team must be lower case")
            """,
            "Error: plugin 'faulty' (syncpipe-faulty-plugin 0.0.1): syncpipe_configure failed: "
            "ValueError: team must be lower case",
        ),
        (
            """\
            from syncpipe.plugin import Transform, hookimpl

            @hookimpl
            def syncpipe_register_transforms():
                return Transform(name="solo", forward=lambda obj, ctx: obj)
            """,
            "Error: plugin 'faulty' (syncpipe-faulty-plugin 0.0.1): must return a list of "
            "Transform, not Transform",
        ),
        (
            """\
            from syncpipe.plugin import hookimpl

            @hookimpl
            def syncpipe_selct(key, obj):
                return False
            """,
            "Error: plugin 'faulty' (syncpipe-faulty-plugin 0.0.1): unknown hook "
            "'syncpipe_selct' in plugin <module 'faulty_plugin_misspelt_hook'",
        ),
    ],
    ids=["import", "configure", "one-transform", "misspelt-hook"],
)
def test_a_faulty_installed_plugin_is_one_error_line_naming_it_and_its_distribution(
    source: str,
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    # A module name of its own per case: an imported module stays in ``sys.modules``.
    module = f"faulty_plugin_{request.node.callspec.id.replace('-', '_')}"
    site = install_plugin(tmp_path, entry_point="faulty", module=module, source=source)
    monkeypatch.syspath_prepend(str(site))
    assert one_error_line(invoke()).startswith(expected)
