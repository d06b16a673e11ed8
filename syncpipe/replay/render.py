"""Show a plan: a readable table on a terminal, or JSON for programs (``-o json``).

Both are deterministic: the same plan renders to the same bytes (JSON keys sorted; times
rounded to the microsecond; the table at a fixed width unless the terminal says otherwise).

JSON document::

    {"summary": {"creates": 3, "patches": 1, "status_writes": 1, "deletes": 0,
                 "upsyncs": 0, "rejected": 0, "pending": 0},
     "writes": [{"seq": 1, "t": 0.0, "flow": "downsync", "verb": "create",
                 "side": "downstream", "resource": "v1/configmaps", "namespace": "shop",
                 "name": "settings", "subresource": "", "body": {...}, "bytes": 512},
                {"verb": "patch", "ops": [{"op": "replace", "path": "/data/a", "value": "2"}],
                 "bytes": 48, "object_bytes": 640, ...},
                {"verb": "delete", "uid": "...", ...}],
     "rejected": [{"t", "flow", "resource", "namespace", "name", "error", "message"}],
     "pending": [{"flow", "resource", "namespace", "name", "error", "message"}],
     "warnings": ["..."],
     "not_emulated": [{"name": "server-side defaulting", "reason": "..."}, ...],
     "statistics": {"records": 120, "batches": 40, "reconciles": 75, "duration": 42.5},
     "source": {...}}

``not_emulated`` (the table's last line, "not compared/emulated: ...") names what a replay
does not reproduce of what API servers and their controllers do (``replay.fidelity``).

``bytes`` is the size of what the write sends (the body of a create, the patch of a patch);
``object_bytes`` the size of the object after the write: their ratio is what minimal patches
save over full-object updates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

import orjson
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from syncpipe.model.actions import Create, Delete, Patch
from syncpipe.model.keys import ObjectKey
from syncpipe.replay import fidelity
from syncpipe.replay.plan import PlannedWrite, ReplayResult, describe_key

# Table width when the output is not a terminal (a file, a pipe, a test): fixed, so the
# same plan renders to the same bytes wherever it runs.
PLAIN_WIDTH = 160
# Patch operations shown per row; the rest are counted.
OPS_SHOWN = 6
VALUE_PREVIEW = 40


def _json_size(value: Any) -> int:
    return len(orjson.dumps(value))


def _key_fields(key: ObjectKey) -> dict[str, str]:
    return {"resource": str(key.gvr), "namespace": key.namespace, "name": key.name}


def write_to_json(write: PlannedWrite) -> dict[str, Any]:
    """One write as the JSON document lists it."""
    action = write.action
    entry: dict[str, Any] = {
        "seq": write.seq,
        "t": round(write.t, 6),
        "flow": write.flow,
        "verb": action.verb,
        "side": action.side.value,
        **_key_fields(action.key),
        "subresource": action.subresource if isinstance(action, Patch) else "",
    }
    if isinstance(action, Create):
        entry["body"] = action.body
        entry["bytes"] = _json_size(action.body)
    elif isinstance(action, Patch):
        entry["ops"] = list(action.ops)
        entry["bytes"] = _json_size(list(action.ops))
        if write.object_bytes is not None:
            entry["object_bytes"] = write.object_bytes
    elif isinstance(action, Delete):
        entry["uid"] = action.uid
    return entry


def to_json(result: ReplayResult, *, source: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The plan as one JSON-ready document (see the module docstring)."""
    stats = result.statistics
    return {
        "summary": result.summary(),
        "writes": [write_to_json(w) for w in result.writes],
        "rejected": [
            {
                "t": round(r.t, 6),
                "flow": r.flow,
                **_key_fields(r.key),
                "error": r.error_type,
                "message": r.message,
            }
            for r in result.rejected
        ],
        "pending": [
            {"flow": p.flow, **_key_fields(p.key), "error": p.error_type, "message": p.message}
            for p in result.pending
        ],
        "warnings": list(result.warnings),
        "not_emulated": [
            {"name": entry.name, "reason": entry.reason} for entry in fidelity.NOT_EMULATED
        ],
        "statistics": {
            "records": stats.records,
            "batches": stats.batches,
            "reconciles": stats.reconciles,
            "duration": round(stats.duration, 6),
        },
        "source": dict(source or {}),
    }


def render_json(
    result: ReplayResult, stream: IO[str], *, source: Mapping[str, Any] | None = None
) -> None:
    text = orjson.dumps(
        to_json(result, source=source), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
    )
    stream.write(text.decode() + "\n")


def _preview(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= VALUE_PREVIEW else text[: VALUE_PREVIEW - 1] + "…"


def describe_change(write: PlannedWrite) -> str:
    """What a write changes, in a few short lines."""
    action = write.action
    if isinstance(action, Create):
        return f"new {action.body.get('kind', 'object')} ({_json_size(action.body)} bytes)"
    if isinstance(action, Delete):
        return f"uid {action.uid}" if action.uid else "(no uid precondition)"
    lines = []
    for op in action.ops[:OPS_SHOWN]:
        line = f"{op.get('op')} {op.get('path')}"
        if "value" in op:
            line += f" = {_preview(op['value'])}"
        lines.append(line)
    if len(action.ops) > OPS_SHOWN:
        lines.append(f"… {len(action.ops) - OPS_SHOWN} more operations")
    return "\n".join(lines)


def console_for(stream: IO[str]) -> Console:
    """A rich console on ``stream``: colours and the terminal's width on a terminal, plain
    text ``PLAIN_WIDTH`` wide otherwise (files, pipes, tests)."""
    terminal = stream.isatty()
    return Console(
        file=stream,
        width=None if terminal else PLAIN_WIDTH,
        force_terminal=terminal,
        no_color=not terminal,
        highlight=False,
        soft_wrap=False,
    )


def render_table(result: ReplayResult, stream: IO[str], *, title: str = "") -> None:
    """The plan as a table, then the summary, rejections, pending keys and warnings."""
    console = console_for(stream)
    table = Table(title=title or None, box=box.SIMPLE_HEAD, show_lines=False)
    for column, justify in (
        ("#", "right"),
        ("t (s)", "right"),
        ("flow", "left"),
        ("verb", "left"),
        ("side", "left"),
        ("object", "left"),
        ("change", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for write in result.writes:
        action = write.action
        verb = action.verb
        if isinstance(action, Patch) and action.subresource:
            verb = f"{verb} /{action.subresource}"
        table.add_row(
            str(write.seq),
            f"{write.t:.3f}",
            write.flow,
            verb,
            action.side.value,
            escape(describe_key(action.key)),
            escape(describe_change(write)),
        )
    if result.writes:
        console.print(table)
    else:
        console.print("no writes: the target sides already are as the pipeline wants them")
    counts = result.summary()
    console.print(
        ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items()), markup=False
    )
    for rejection in result.rejected:
        console.print(
            f"rejected at {rejection.t:.3f}s ({rejection.flow}) {describe_key(rejection.key)}: "
            f"{rejection.error_type}: {rejection.message}",
            markup=False,
        )
    for pending in result.pending:
        console.print(
            f"pending ({pending.flow}) {describe_key(pending.key)}: "
            f"{pending.error_type}: {pending.message}",
            markup=False,
        )
    for warning in result.warnings:
        console.print(f"warning: {warning}", markup=False)
    console.print(fidelity.summary(), markup=False)
