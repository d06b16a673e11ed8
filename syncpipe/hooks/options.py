"""Options a plugin declares, and the typed values ``--plugin-opt NAME.KEY=VALUE`` gives them.

A plugin returns ``PluginOption`` values from ``syncpipe_declare_options``; at start-up, before
anything is written, the host parses every ``--plugin-opt`` to its option's type, fills in the
defaults and refuses unknown plugins and keys with a suggestion. Plugins then read typed values
from ``ctx.plugin_config(NAME)``.

Types are click's parameter types, the same that parse syncpipe's own flags: ``str``, ``int``,
``float``, ``bool`` (``true``/``false``, ``yes``/``no``, ``on``/``off``, ``1``/``0``), or any
``click.ParamType`` such as ``click.Choice([...])`` or ``syncpipe.plugin.Duration()``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import click

from syncpipe import errors

OPTION_NAME = re.compile(r"[a-z][a-z0-9_-]*")


class Boolean(click.types.BoolParamType):
    """click's boolean, except that an empty value is refused rather than taken as false
    (``--plugin-opt edge-status.ready=`` is a slip, not a choice), and a refusal says which
    words are booleans (click's message lists its recognised values starting with ``''``)."""

    WORDS = "true/false, yes/no, on/off, 1/0"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail(f"{value!r} is not a boolean ({self.WORDS})", param, ctx)
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            self.fail(f"{value!r} is not a boolean ({self.WORDS})", param, ctx)


def _param_type(value: object) -> click.ParamType[Any, Any]:
    return Boolean() if value is bool else click.types.convert_type(value)


@attrs.frozen(kw_only=True)
class PluginOption:
    """One option of a plugin: ``--plugin-opt PLUGIN.NAME=VALUE``.

    ``type`` is ``str``, ``int``, ``float``, ``bool`` or a ``click.ParamType``; ``default`` is
    used when the option is not given (``None``: no value, ``plugin_config`` lacks the key
    unless ``required``). ``help`` is shown by ``syncpipe plugins``.
    """

    name: str = attrs.field(validator=attrs.validators.matches_re(OPTION_NAME))
    type: click.ParamType[Any, Any] = attrs.field(default=str, converter=_param_type)
    default: Any = None
    help: str = ""
    required: bool = False

    def parse(self, value: object, *, plugin: str) -> Any:
        """``value`` (the text after ``=``, or an already typed value) as this option's type."""
        try:
            return self.type.convert(value, None, None)
        except click.BadParameter as exc:
            raise errors.PluginOptionError(
                f"option {self.name!r}: {exc.message}", plugin=plugin
            ) from exc

    @property
    def type_name(self) -> str:
        """What ``syncpipe plugins`` shows as the type (``text``, ``integer``, ``choice``...)."""
        return str(self.type.name)


def resolve(
    given: Mapping[str, Mapping[str, Any]],
    *,
    declared: Mapping[str, Iterable[PluginOption]],
    plugins: Iterable[str],
    ignored: Iterable[str] = (),
) -> dict[str, dict[str, Any]]:
    """Typed settings for every plugin: the given values parsed, the defaults filled in.

    ``declared`` maps each plugin that declares options to them; ``plugins`` names every
    registered plugin; settings for ``ignored`` ones (blocked) are dropped unchecked. A plugin
    that declares no options gets its given values as strings, unchecked (the contract before
    options could be declared). Raises ``PluginOptionError`` naming the first problem.
    """
    known = set(plugins)
    skipped = set(ignored)
    resolved: dict[str, dict[str, Any]] = {}
    for plugin, values in given.items():
        if plugin in skipped:
            continue
        if plugin not in known:
            raise errors.PluginOptionError(
                "no such plugin" + _suggestion(plugin, known | set(declared)), plugin=plugin
            )
        if plugin not in declared:
            resolved[plugin] = dict(values)
    for plugin, options in declared.items():
        by_name = {option.name: option for option in options}
        values = given.get(plugin, {})
        for key in values:
            if key not in by_name:
                raise errors.PluginOptionError(
                    f"no option {key!r}" + _suggestion(key, by_name), plugin=plugin
                )
        typed: dict[str, Any] = {}
        for name, option in by_name.items():
            if name in values:
                typed[name] = option.parse(values[name], plugin=plugin)
            elif option.required:
                raise errors.PluginOptionError(
                    f"option {name!r} is required (--plugin-opt {plugin}.{name}=VALUE)",
                    plugin=plugin,
                )
            elif option.default is not None:
                typed[name] = option.default
        resolved[plugin] = typed
    return resolved


def _suggestion(word: str, candidates: Iterable[str]) -> str:
    names = sorted(candidates)
    close = difflib.get_close_matches(word, names, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f" (known: {', '.join(names)})" if names else ""
