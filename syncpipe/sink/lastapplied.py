"""The record of which fields syncpipe applied, kept on the target object itself.

Three-way diffing needs to know what syncpipe set last time, so that a field dropped from the
desired object can be removed while fields set by the API server or other writers are left
alone. The record lives in an annotation (:data:`ANNOTATION`) on the object it describes, so it
survives restarts, needs no local state, and is read with the object in the same GET/watch.

The record is a *field set*: the tree of keys of the desired object with the values left out.
Why not the values, as ``kubectl.kubernetes.io/last-applied-configuration`` stores them?

* Size: all annotations of an object share a 256 KB budget; values can be big, keys rarely.
* Secrets: a Secret's ``data`` must never be copied into an annotation, where it would be
  readable by anyone allowed to read the object's metadata and would leak into every diff.
* Need: removal only asks "did we set this field?"; what we set is in ``desired`` already.

Encoding (compact JSON, keys sorted so equal field sets encode to equal strings, which lets the
planner's steady-state check compare one string instead of decoding anything):

* a dict is an object of its non-null members' field sets: ``{"data":{"a":0,"b":0}}``;
* a leaf — a scalar, or a list without dicts or lists in it — is ``0``: such a list is always
  written whole, so there is nothing inside it to own separately;
* a list holding dicts or lists is an array of its elements' field sets, by index, so a field
  dropped from one container can be removed from that container only.

Measured (``tests/unit/sink/test_lastapplied.py`` pins these): the sample Deployment of
``tests/data/sink`` (two containers with env, ports, probes, resources, volume mounts), as an
upstream copy with the upstream server's defaults (2.9 KB of JSON), records in 2,025 bytes;
the same Deployment as a user's manifest without defaults (2.1 KB), in 1,376 bytes; a
ConfigMap with 50 data keys of 7 characters, in 665 bytes (13 bytes a key). A Deployment's
annotations are copied to its ReplicaSets by the Deployment controller, so the record is too.
zlib + base64 would shrink these about 2.5 times, at the cost of CPU on every event and of
a record an operator can read with ``kubectl get -o yaml``; it is not worth it at this size.

Excluded from the field set: top-level ``apiVersion`` and ``kind`` (identity, which a patch
cannot change, and which list responses omit from their items) and this annotation itself
(the record would otherwise describe itself). An annotations map left empty by that exclusion
is omitted, so a desired object has the same field set with or without its record.

Versioning: a future, incompatible encoding gets a new annotation key; this module then reads
the old key as "no record", which costs one sync without removals, never a wrong removal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeAlias

import orjson

from syncpipe.model import objects

ANNOTATION: Final = "syncpipe.io/applied-fields"
"""The annotation holding the encoded field set syncpipe applied last."""

LEAF: Final = 0
"""The field-set marker of a value owned as a whole (a scalar or a list of scalars)."""

FieldNode: TypeAlias = "int | dict[str, FieldNode] | list[FieldNode]"
FieldSet: TypeAlias = dict[str, FieldNode]
"""A field set: nested dicts (and lists, by index) of keys, with :data:`LEAF` for values.

Plain JSON-shaped data so that it encodes, decodes and walks cheaply; like every value in the
pipeline it is never mutated once built.
"""

_IDENTITY_FIELDS: Final = frozenset({"apiVersion", "kind"})


def field_set(desired: Mapping[str, Any]) -> FieldSet:
    """The field set of a desired object: what syncpipe owns once it has applied ``desired``.

    ``null`` members are left out: to the diff they mean "hands off" (neither set nor
    removed), so a field that turns ``null`` is disowned without being removed. See the module
    docstring for what else is excluded and why.
    """
    fields: FieldSet = {}
    for key, value in desired.items():
        if key in _IDENTITY_FIELDS:
            continue
        kind = type(value)
        if kind is dict:
            fields[key] = _metadata_fields(value) if key == "metadata" else _dict_fields(value)
        elif kind is list:
            fields[key] = _list_fields(value)
        elif value is not None:
            fields[key] = LEAF
    return fields


def _metadata_fields(metadata: dict[str, Any]) -> dict[str, FieldNode]:
    """``metadata``'s field set, without our own annotation (nor an annotations map left empty)."""
    fields = _dict_fields(metadata)
    annotations = fields.get("annotations")
    if type(annotations) is dict and ANNOTATION in annotations:
        rest = {k: v for k, v in annotations.items() if k != ANNOTATION}
        if rest:
            fields["annotations"] = rest
        else:
            del fields["annotations"]
    elif annotations == {}:
        del fields["annotations"]
    return fields


# The two walkers below run on every event (the planner compares the desired field set with
# the recorded one), hence explicit loops with exact-type dispatch: measured faster than
# comprehensions or a single generic function.


def _dict_fields(value: dict[str, Any]) -> dict[str, FieldNode]:
    """The field set of a dict: its non-null members' field sets."""
    fields: dict[str, FieldNode] = {}
    for key, member in value.items():
        kind = type(member)
        if kind is dict:
            fields[key] = _dict_fields(member)
        elif kind is list:
            fields[key] = _list_fields(member)
        elif member is not None:
            fields[key] = LEAF
    return fields


def _list_fields(value: list[Any]) -> FieldNode:
    """The field set of a list: by index if it holds containers, else :data:`LEAF`."""
    for element in value:
        kind = type(element)
        if kind is dict or kind is list:
            return [
                _dict_fields(e) if type(e) is dict else _list_fields(e) if type(e) is list else LEAF
                for e in value
            ]
    return LEAF


# Annotations of one object may total 256 KiB; the record must leave room for the user's own
# (a large CRD's schema would otherwise produce a record of hundreds of KiB and the write would
# be rejected). Past this size the record is coarsened: deeper subtrees are owned as a whole.
MAX_RECORD_BYTES: Final = 16 * 1024


def encode(fields: FieldSet) -> str:
    """The annotation value for a field set: compact JSON with sorted keys (deterministic).

    A record over ``MAX_RECORD_BYTES`` is coarsened level by level (subtrees below depth 4,
    then 3, 2, 1 become single owned leaves) until it fits. A coarse record still removes a
    dropped subtree as a whole; it only loses the removal of single fields deep inside it.
    """
    text = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS).decode()
    depth = 4
    while len(text) > MAX_RECORD_BYTES and depth > 0:
        coarse = _coarsen(fields, depth)
        text = orjson.dumps(coarse, option=orjson.OPT_SORT_KEYS).decode()
        depth -= 1
    return text


def _coarsen(node: Any, depth: int) -> Any:
    """``node`` with every container below ``depth`` levels replaced by :data:`LEAF`."""
    if type(node) is dict:
        if depth == 0:
            return LEAF
        return {k: _coarsen(v, depth - 1) for k, v in node.items()}
    if type(node) is list:
        if depth == 0:
            return LEAF
        return [_coarsen(v, depth - 1) for v in node]
    return node


def decode(text: object) -> FieldSet | None:
    """The field set an annotation value encodes, or ``None`` if it is not a valid record.

    Annotations can be edited by anyone, so the value is untrusted: anything malformed means
    "no record" (no removals this time, a fresh record on the next write), never an error in
    the pipeline.
    """
    if not isinstance(text, str | bytes):
        return None
    try:
        fields = orjson.loads(text)
        if type(fields) is dict and _well_formed(fields):
            return fields
    except (orjson.JSONDecodeError, RecursionError):
        pass
    return None


def _well_formed(node: Any) -> bool:
    """Whether a decoded value has the field-set shape (so the diff can walk it blindly)."""
    kind = type(node)
    if kind is dict:
        return all(_well_formed(child) for child in node.values())
    if kind is list:
        return all(_well_formed(child) for child in node)
    return kind is int and node == LEAF


def record_of(desired: Mapping[str, Any]) -> str:
    """The annotation value describing ``desired``: ``encode(field_set(desired))``."""
    return encode(field_set(desired))


def recorded_text_of(live: Mapping[str, Any]) -> str | None:
    """The raw record annotation of a live object, undecoded (``None`` if it has none)."""
    text = objects.annotations_of(live).get(ANNOTATION)
    return text if isinstance(text, str) else None


def owned_fields_of(live: Mapping[str, Any]) -> FieldSet | None:
    """The field set syncpipe applied to ``live`` last, or ``None`` without a valid record."""
    return decode(recorded_text_of(live))
