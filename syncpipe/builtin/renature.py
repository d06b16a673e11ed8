"""Renaturing by conversion rules: denatured upstream identities become live ones downstream.

Rules come from EdgeSyncConfig ``spec.conversions[].{upstream,downstream}`` (``kind``, ``group``,
``version``, ``name``), e.g. the CRD ``policyreports.wgpolicyk8s.io.denatured`` upstream (inert:
its group is not the real one) and ``policyreports.wgpolicyk8s.io`` downstream. Going down an
object matching a rule's upstream side takes the downstream identity; going up (status return,
upsync) the reverse. A rule's name may be ``"*"`` (every object of that kind keeps its name).
For CRDs the ``spec.group`` follows the name (the name minus its first segment), since a CRD's
name must be ``<plural>.<group>``.

Unlike the original (which rewrote every object, breaking core-group ``"/v1"`` objects and
wildcard entries), only objects that match a rule are touched.
"""

from __future__ import annotations

from typing import Any

from syncpipe.hooks import hookimpl
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.transforms import Phase, Transform
from syncpipe.model.objects import RawObject, meta, with_metadata

CRD_KIND = "CustomResourceDefinition"


def _group_version(obj: RawObject) -> tuple[str, str]:
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    return group, version


def _matches(obj: RawObject, side: Any) -> bool:
    group, version = _group_version(obj)
    if side.kind != obj.get("kind") or side.group != group:
        return False
    if side.version and side.version != version:
        return False
    return side.name in ("*", meta(obj).get("name"))


def _convert(obj: RawObject, target: Any) -> RawObject:
    _, version = _group_version(obj)
    version = target.version or version
    api_version = f"{target.group}/{version}" if target.group else version
    name = meta(obj).get("name") if target.name == "*" else target.name
    converted = with_metadata({**obj, "apiVersion": api_version, "kind": target.kind}, name=name)
    if target.kind == CRD_KIND and isinstance(converted.get("spec"), dict) and "." in str(name):
        converted["spec"] = {**converted["spec"], "group": str(name).split(".", 1)[1]}
    return converted


def _rules(ctx: SyncContext) -> tuple[Any, ...]:
    selection = ctx.selection
    return tuple(rule.conversion for rule in getattr(selection, "conversions", ()))


def renature(obj: RawObject, ctx: SyncContext) -> RawObject:
    """Upstream (denatured) → downstream (live), by the first matching rule."""
    for conversion in _rules(ctx):
        if _matches(obj, conversion.upstream):
            return _convert(obj, conversion.downstream)
    return obj


def denature(obj: RawObject, ctx: SyncContext) -> RawObject:
    """Downstream (live) → upstream (denatured), by the first matching rule."""
    for conversion in _rules(ctx):
        if _matches(obj, conversion.downstream):
            return _convert(obj, conversion.upstream)
    return obj


@hookimpl
def syncpipe_register_transforms() -> list[Transform]:
    return [
        Transform(
            name="renature",
            forward=renature,
            reverse=denature,
            phase=Phase.RENATURE,
            plugin="builtin.renature",
        )
    ]
