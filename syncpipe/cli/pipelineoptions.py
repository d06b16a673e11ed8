"""The options that shape what the pipeline decides, declared once for ``run``, ``plan`` and
``replay``, and the one function turning them into ``Settings``.

``plan`` and ``replay`` promise to show what ``run`` would write; they can only keep that
promise if they take every option that changes a decision, with the same meaning and
defaults. A command decorated with ``pipeline_options`` receives them as one
``PipelineOptions`` argument named ``pipeline``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import click

from syncpipe.config.durations import Duration, format_duration
from syncpipe.config.settings import DEFAULT_MAX_NAMESPACED_WATCHES, Settings

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_SYNCER_NAME = "syncpipe"


def settings_default(field: str) -> str:
    """A time default of ``Settings`` as a duration, for an option's default and ``--help``."""
    default = attrs.fields_dict(Settings)[field].default
    if not isinstance(default, float):
        raise TypeError(f"Settings.{field} is not a time in seconds")
    return format_duration(default)


def _config_selector(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """Check ``--syncer-config-selector`` at start; the API server gets it written back."""
    from syncpipe import errors
    from syncpipe.config import selectorsyntax

    try:
        return str(selectorsyntax.parse(value))
    except errors.ConfigError as exc:
        raise click.BadParameter("; ".join(message for _, message in exc.problems)) from None


syncer_config_selector_option = click.option(
    "--syncer-config-selector",
    default="",
    metavar="LABELS",
    callback=_config_selector,
    help="Merge only the SyncerConfigs and EdgeSyncConfigs with these labels (kubectl's "
    "label-selector syntax, e.g. 'edge=edge1' or 'fleet in (a,b)'); default: all.",
)


def parse_plugin_opts(values: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``--plugin-opt PLUGIN.KEY=VALUE`` values as each plugin's settings."""
    settings: dict[str, dict[str, Any]] = {}
    for value in values:
        name, sep, rest = value.partition(".")
        key, eq, val = rest.partition("=")
        if not sep or not eq or not name or not key:
            raise click.BadParameter(
                f"{value!r} is not PLUGIN.KEY=VALUE", param_hint="--plugin-opt"
            )
        settings.setdefault(name, {})[key] = val
    return settings


plugins_disable_option = click.option(
    "--plugins-disable",
    "disabled",
    multiple=True,
    metavar="NAME",
    help="Disable a plugin by name (repeatable).",
)
plugin_opt_option = click.option(
    "--plugin-opt",
    multiple=True,
    metavar="PLUGIN.KEY=VALUE",
    help="A setting for a plugin (repeatable), checked against the options it declares.",
)


@attrs.frozen(kw_only=True)
class PipelineOptions:
    """The values of the options ``pipeline_options`` declares."""

    syncer_name: str | None
    syncer_config_selector: str
    resync_period: float
    status_return: bool
    status_settle: float
    namespace_mapping: str
    max_namespaced_watches: int
    disabled: tuple[str, ...]
    plugin_opt: tuple[str, ...]
    confirm_held_deletions: bool

    def name(self, fallback: str | None = None) -> str:
        """The syncer's name: ``--syncer-name``, else ``fallback``, else the default."""
        return self.syncer_name or fallback or DEFAULT_SYNCER_NAME

    def settings(self, *, name_fallback: str | None = None, **more: Any) -> Settings:
        """The ``Settings`` these options give (``more``: the command's own settings)."""
        return Settings(
            syncer_name=self.name(name_fallback),
            syncer_config_selector=self.syncer_config_selector,
            resync_period=self.resync_period,
            status_return=self.status_return,
            status_settle_seconds=self.status_settle,
            namespace_mapping=self.namespace_mapping,
            max_namespaced_watches=self.max_namespaced_watches,
            disabled_plugins=self.disabled,
            plugin_settings=parse_plugin_opts(self.plugin_opt),
            confirm_held_deletions=self.confirm_held_deletions,
            **more,
        )


_OPTIONS = (
    click.option(
        "--syncer-name",
        default=None,
        help="Names the syncer in ownership marks [default: syncpipe; `run`: "
        "--sync-target-name when given].",
    ),
    syncer_config_selector_option,
    click.option(
        "--resync-period",
        default=settings_default("resync_period"),
        show_default=True,
        type=Duration(allow_zero=False),
        help="Time between drift re-checks from the cache (e.g. 30s, 5m, 1h); also the window "
        "in which inferred deletions count toward the deletion guard.",
    ),
    click.option(
        "--status-return/--no-status-return",
        default=True,
        show_default=True,
        help="Return downstream .status upstream.",
    ),
    click.option(
        "--status-settle",
        default=settings_default("status_settle_seconds"),
        show_default=True,
        type=Duration(),
        help="After a status write, how long later changes are folded into one write (the "
        "first change of a quiet object is returned at once; 0s: every change at once).",
    ),
    click.option(
        "--namespace-mapping",
        default="identity",
        show_default=True,
        help="identity, prefix:P, suffix:S, template:{syncer}-{namespace} or hashed:P.",
    ),
    click.option(
        "--max-namespaced-watches",
        default=DEFAULT_MAX_NAMESPACED_WATCHES,
        show_default=True,
        type=click.IntRange(min=0),
        help="A downsynced resource selected in at most this many named namespaces is watched "
        "in each of them instead of cluster-wide (0: always cluster-wide).",
    ),
    plugins_disable_option,
    plugin_opt_option,
    click.option(
        "--confirm-held-deletions",
        is_flag=True,
        help="Let deletions held by the circuit breaker through.",
    ),
)


def pipeline_options(fn: F) -> F:
    """Decorate a command with the pipeline-shaping options, passed as ``pipeline=``."""
    return option_group(PipelineOptions, "pipeline", _OPTIONS)(fn)


def option_group(
    group: type[Any], parameter: str, options: tuple[Callable[[Any], Any], ...]
) -> Callable[[F], F]:
    """A decorator adding ``options`` to a command and passing their values as one ``group``
    object (an attrs class with a field per option) in the argument named ``parameter``."""
    fields = tuple(field.name for field in attrs.fields(group))

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def command(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in fields}
            return fn(*args, **{parameter: group(**values)}, **kwargs)

        # What the command takes now: its own parameters but the group's, and each option's.
        own = [p for name, p in inspect.signature(fn).parameters.items() if name != parameter]
        taken = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in fields]
        command.__signature__ = inspect.Signature(own + taken)  # type: ignore[attr-defined]
        wrapped: Any = command
        for option in reversed(options):
            wrapped = option(wrapped)
        return wrapped  # type: ignore[no-any-return]

    return decorate
