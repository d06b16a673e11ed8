"""From config objects to the merged selection, and what is wrong with them (pure).

Both drivers read their configs differently (the live syncer from its config informers, a
replay from the given files or the recording) and hand the objects to ``read_configs``; the
pipeline applies the result and reports the problems.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from syncpipe import errors
from syncpipe.builtin.ownership import RETURN_STATUS_ANNOTATION
from syncpipe.config import syncerconfig
from syncpipe.config.mergedselection import Selection
from syncpipe.model.objects import RawObject, annotations_of, name_of
from syncpipe.model.resources import ResourceInfo


@attrs.frozen(kw_only=True)
class ConfigsRead:
    """The merged selection of the well-formed configs, and what the others got wrong."""

    selection: Selection
    # Per malformed config's name: its problems, each ``message @ $.path``.
    problems: dict[str, list[str]]
    # Per malformed config's name: the one line telling the user it is ignored.
    ignored: dict[str, str]
    # Configs (``Kind/name``) whose return-status annotation turns status return off.
    status_off: frozenset[str]


def read_configs(configs: Iterable[RawObject]) -> ConfigsRead:
    """Parse and merge ``configs``; malformed ones are left out, with their problems."""
    parsed: list[syncerconfig.AnyConfig] = []
    problems: dict[str, list[str]] = {}
    ignored: dict[str, str] = {}
    status_off: set[str] = set()
    for obj in configs:
        name = name_of(obj)
        source = f"{obj.get('kind')}/{name}"
        if annotations_of(obj).get(RETURN_STATUS_ANNOTATION) == "false":
            status_off.add(source)
        try:
            parsed.append(syncerconfig.parse_config(obj, source=source))
        except errors.ConfigError as exc:
            problems[name] = [f"{m} @ {p}" for p, m in exc.problems]
            ignored[name] = f"ignoring malformed {source}: {exc}"
    return ConfigsRead(
        selection=Selection.from_configs(parsed),
        problems=problems,
        ignored=ignored,
        status_off=frozenset(status_off),
    )


def selection_problems(selection: Selection, upstream: Sequence[ResourceInfo]) -> list[str]:
    """What the selection asks that cannot work as written (scope, overlaps)."""
    problems = [str(p) for p in selection.downsync_scope_problems(upstream)]
    problems += [str(p) for p in selection.overlaps(upstream)]
    return problems
