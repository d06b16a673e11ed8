"""Show an ``Explanation``: text for people, JSON for programs (``syncpipe explain -o json``).

JSON document (keys sorted)::

    {"object": {"side": "upstream", "resource": "apps/v1/deployments", "kind": "Deployment",
                "namespace": "shop", "name": "web"},
     "direction": "down", "found": true, "selected": true,
     "selected_by": [{"config": "SyncerConfig/cfg", "paths": ["$.spec.namespaceScope..."]}],
     "near_misses": [{"config": ..., "paths": [...], "misses": ["selects namespace ..."]}],
     "vetoed_by": ["plugin-name"],
     "transforms": [{"name": "team-label", "plugin": "...", "phase": "custom", "error": "",
                     "changes": [{"path": "/metadata/labels/team", "change": "added",
                                  "before": null, "after": "blue"}]}],
     "status_transforms": [TRANSFORM, as above, with paths under /status],
     "ignored_fields": ["/spec/replicas"],
     "desired": {...}, "target": {"side": "downstream", "resource": ..., ...},
     "plan": {"reason": "update: the copy differs from the desired object",
              "action": {"verb": "patch", "ops": [...], ...}} (or null),
     "writes": [WRITE as in ``syncpipe replay -o json``], "rejected": [...], "pending": [...]}
"""

from __future__ import annotations

from typing import Any

import orjson

from syncpipe.model.actions import Action, Create, Patch
from syncpipe.model.events import Direction
from syncpipe.model.keys import ObjectKey
from syncpipe.replay.explain import Explanation
from syncpipe.replay.observe import Change, TransformStep
from syncpipe.replay.render import write_to_json
from syncpipe.replay.result import describe_key

VALUE_PREVIEW = 60
"""Characters of a value shown in the text form; ``-o json`` has them whole."""

_MARKS = {"added": "+", "removed": "-", "changed": "~"}


def _key_json(key: ObjectKey, side: str) -> dict[str, str]:
    return {
        "side": side,
        "resource": str(key.gvr),
        "namespace": key.namespace,
        "name": key.name,
    }


def _action_json(action: Action) -> dict[str, Any]:
    found: dict[str, Any] = {"verb": action.verb, **_key_json(action.key, action.side.value)}
    if isinstance(action, Create):
        found["body"] = action.body
    elif isinstance(action, Patch):
        found["ops"] = list(action.ops)
        found["subresource"] = action.subresource
    return found


def _steps_json(steps: tuple[TransformStep, ...]) -> list[dict[str, Any]]:
    return [
        {
            "name": s.name,
            "plugin": s.plugin,
            "phase": s.phase,
            "error": s.error,
            "changes": [
                {"path": c.path, "change": c.change, "before": c.before, "after": c.after}
                for c in s.changes
            ],
        }
        for s in steps
    ]


def to_json(explanation: Explanation) -> dict[str, Any]:
    """The explanation as one JSON-ready document (see the module docstring)."""
    e = explanation
    return {
        "object": {**_key_json(e.key, e.direction.source.value), "kind": e.kind},
        "direction": e.direction.value,
        "found": e.found,
        "selected": e.selected,
        "selected_by": [{"config": c, "paths": list(p)} for c, p in e.selected_by.items()],
        "near_misses": [
            {"config": m.config, "paths": list(m.paths), "misses": list(m.misses)}
            for m in e.near_misses
        ],
        "vetoed_by": list(e.vetoed_by),
        "transforms": _steps_json(e.steps),
        "status_transforms": _steps_json(e.status_steps),
        "ignored_fields": list(e.ignored_fields),
        "desired": e.desired,
        "target": None if e.target is None else _key_json(e.target, e.direction.target.value),
        "plan": None
        if not e.plan_reason
        else {
            "reason": e.plan_reason,
            "action": None if e.plan_action is None else _action_json(e.plan_action),
        },
        "writes": [write_to_json(w) for w in e.writes],
        "rejected": [
            {"flow": r.flow, "key": str(r.key), "error": r.error_type, "message": r.message}
            for r in e.rejected
        ],
        "pending": [
            {"flow": p.flow, "key": str(p.key), "error": p.error_type, "message": p.message}
            for p in e.pending
        ],
    }


def render_json(explanation: Explanation) -> str:
    return orjson.dumps(
        to_json(explanation), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
    ).decode()


def _preview(value: Any) -> str:
    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return text if len(text) <= VALUE_PREVIEW else text[: VALUE_PREVIEW - 3] + "..."


def _change_line(change: Change) -> str:
    mark = _MARKS[change.change]
    if change.change == "added":
        return f"{mark} {change.path}: {_preview(change.after)}"
    if change.change == "removed":
        return f"{mark} {change.path} (was {_preview(change.before)})"
    return f"{mark} {change.path}: {_preview(change.before)} -> {_preview(change.after)}"


def _selection_lines(e: Explanation) -> list[str]:
    if not e.found:
        return [f"Not found {e.direction.source.value}: nothing to select."]
    lines: list[str] = []
    if e.selected_by:
        lines.append("Selected by:")
        for config, paths in e.selected_by.items():
            lines.append(f"  {config}" + (f"  {', '.join(paths)}" if paths else ""))
    else:
        lines.append("Not selected: no config selects it.")
        if not e.near_misses:
            way = "downsync" if e.direction is Direction.DOWN else "upsync"
            lines.append(f"No config has an entry for {way}.")
        else:
            lines.append("Closest entries:")
            for miss in e.near_misses:
                where = f" {', '.join(miss.paths)}" if miss.paths else ""
                lines.append(f"  {miss.config}{where}: {'; '.join(miss.misses)}")
    if e.vetoed_by:
        lines.append(f"Vetoed by: {', '.join(e.vetoed_by)} (syncpipe_select answered no)")
    return lines


def _step_lines(title: str, steps: tuple[TransformStep, ...]) -> list[str]:
    if not steps:
        return []
    lines = ["", title]
    for number, step in enumerate(steps, 1):
        head = f"  {number}. {step.name} ({step.plugin}, phase {step.phase})"
        if step.error:
            lines.append(f"{head}: failed: {step.error}")
        elif not step.changes:
            lines.append(f"{head}: no change")
        else:
            lines.append(f"{head}:")
            lines.extend(f"       {_change_line(c)}" for c in step.changes)
    return lines


def _transform_lines(e: Explanation) -> list[str]:
    lines = _step_lines("Transforms, in the order they ran:", e.steps)
    lines += _step_lines(
        "Status return: status transforms on the copy's status, in the order they ran:",
        e.status_steps,
    )
    if e.ignored_fields:
        lines += ["", f"Fields left to others: {', '.join(e.ignored_fields)}"]
    return lines


def _plan_lines(e: Explanation) -> list[str]:
    lines = [""]
    if e.target is not None and e.found:
        lines.append(f"Copy {e.direction.target.value}: {describe_key(e.target)}")
    if e.plan_reason:
        lines.append(f"One reconcile of the state read: {e.plan_reason}")
    if not e.writes:
        lines.append("Planned: no write (the copy is as it should be, or there is none to make).")
    else:
        lines.append("Planned:")
        for w in e.writes:
            action = w.action
            what = f"{w.flow} {action.verb} {action.side.value} {describe_key(action.key)}"
            lines.append(f"  t={w.t:.3f}s {what}")
            for op in getattr(action, "ops", ()):
                value = f" {_preview(op['value'])}" if "value" in op else ""
                lines.append(f"      {op['op']} {op['path']}{value}")
    lines.extend(f"Rejected ({r.flow}): {r.error_type}: {r.message}" for r in e.rejected)
    lines.extend(f"Pending ({p.flow}): {p.error_type}: {p.message}" for p in e.pending)
    return lines


def render_text(explanation: Explanation) -> str:
    """The explanation for people: selection, transforms with their diffs, the plan."""
    e = explanation
    arrow = f"{e.direction.source.value} -> {e.direction.target.value}"
    lines = [f"{e.kind} {e.key.cache_key} ({e.key.gvr.group_resource}, {arrow})", ""]
    lines += _selection_lines(e)
    lines += _transform_lines(e)
    lines += _plan_lines(e)
    return "\n".join(lines)
