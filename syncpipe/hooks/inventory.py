"""What is installed: each plugin, the hooks it implements, the transforms in run order and
the options with their values. ``syncpipe plugins`` prints it; pure data, no output here."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from syncpipe.hooks.loading import BUILTIN_PREFIX, distribution_of
from syncpipe.hooks.manager import Hooks
from syncpipe.hooks.transforms import Transform, every_resource
from syncpipe.model.resources import ResourceInfo

# Which directions a transform takes part in: its function fields, by the name shown.
DIRECTIONS = (("forward", "down"), ("reverse", "up"), ("status", "status"))


@attrs.frozen(kw_only=True)
class PluginEntry:
    name: str
    distribution: str
    builtin: bool
    hooks: tuple[str, ...]


@attrs.frozen(kw_only=True)
class TransformEntry:
    position: int
    name: str
    phase: str
    plugin: str
    directions: tuple[str, ...]
    applies_to: str
    description: str


@attrs.frozen(kw_only=True)
class OptionEntry:
    plugin: str
    name: str
    type: str
    default: Any
    value: Any
    given: bool
    help: str


@attrs.frozen(kw_only=True)
class Inventory:
    plugins: tuple[PluginEntry, ...]
    transforms: tuple[TransformEntry, ...]
    options: tuple[OptionEntry, ...]

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self, recurse=True)


def inventory(hooks: Hooks) -> Inventory:
    """Describe ``hooks`` after ``configure`` (so option values are the typed ones)."""
    given = hooks.ctx.plugin_settings
    raw: Mapping[str, Mapping[str, Any]] = hooks.given_settings or {}
    return Inventory(
        plugins=tuple(_plugins(hooks)),
        transforms=tuple(
            _transform_entry(position, t) for position, t in enumerate(hooks.transforms(), 1)
        ),
        options=tuple(
            OptionEntry(
                plugin=plugin,
                name=option.name,
                type=option.type_name,
                default=option.default,
                value=given.get(plugin, {}).get(option.name),
                given=option.name in raw.get(plugin, {}),
                help=option.help,
            )
            for plugin, declared in sorted(hooks.declared_options().items())
            for option in declared
        ),
    )


def _plugins(hooks: Hooks) -> list[PluginEntry]:
    pm = hooks.pm
    implemented: dict[str, list[str]] = {}
    for hook_name in sorted(name for name in dir(pm.hook) if name.startswith("syncpipe_")):
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            implemented.setdefault(impl.plugin_name, []).append(hook_name)
    return sorted(
        (
            PluginEntry(
                name=name,
                distribution=distribution_of(pm, name),
                builtin=name.startswith(BUILTIN_PREFIX),
                hooks=tuple(implemented.get(name, ())),
            )
            for name in hooks.plugin_names()
        ),
        key=lambda entry: (entry.builtin, entry.name),
    )


def _transform_entry(position: int, transform: Transform) -> TransformEntry:
    return TransformEntry(
        position=position,
        name=transform.name,
        phase=transform.phase.name.lower(),
        plugin=transform.plugin,
        directions=tuple(
            shown for field, shown in DIRECTIONS if getattr(transform, field, None) is not None
        ),
        applies_to=describe_predicate(transform.applies_to),
        description=_first_line(transform.forward) or _name(transform.forward),
    )


def describe_predicate(applies_to: Callable[[ResourceInfo], bool]) -> str:
    """What ``applies_to`` selects, as well as a function can say it: its docstring's first
    line, else its name."""
    if applies_to is every_resource:
        return "every resource"
    return _first_line(applies_to) or _name(applies_to)


def _name(function: object) -> str:
    return str(getattr(function, "__name__", repr(function)))


def _first_line(function: object) -> str:
    doc = inspect.getdoc(function) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""
