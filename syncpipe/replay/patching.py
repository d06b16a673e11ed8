"""RFC 6902 JSON patches applied to shared, never-mutated objects (for the memory store).

``jsonpatch`` applies the operations (the library the sink's tests use as their oracle); this
module only makes sure nothing but copies gets changed: before each operation, the
containers on its path are copied once, so the result shares every untouched subtree with
the input — a one-field patch of a 5 KB object copies a few small dicts, not 5 KB.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jsonpatch
import jsonpointer

from syncpipe.model.objects import RawObject


def apply_json_patch(obj: RawObject, ops: Sequence[dict[str, Any]]) -> RawObject:
    """``obj`` with RFC 6902 ``ops`` applied; ``obj`` is untouched and shares what is unchanged.

    Each op becomes one of ``jsonpatch``'s operation objects (its path parsed once); before it
    is applied, in place, the containers on its path (and its ``from``) are copied once.
    Raises ``jsonpatch``'s and ``jsonpointer``'s errors for a malformed op, a failed ``test``
    or a missing path.
    """
    root: Any = dict(obj)
    copied = {id(root)}
    for op in ops:
        operation = _operation(op)
        root = _copy_path(root, operation.pointer.parts[:-1], copied)
        source = op.get("from")
        if isinstance(source, str) and source:
            root = _copy_path(root, jsonpointer.JsonPointer(source).parts[:-1], copied)
        root = operation.apply(root)
        if id(root) not in copied:  # a replace of the whole document
            root = dict(root) if isinstance(root, dict) else root
            copied.add(id(root))
    if not isinstance(root, dict):
        raise jsonpatch.InvalidJsonPatch("the patched document is not an object")
    result: RawObject = root
    return result


def _operation(op: object) -> Any:
    """``jsonpatch``'s operation object for one op (the checks ``JsonPatch`` makes)."""
    if not isinstance(op, dict):
        raise jsonpatch.InvalidJsonPatch(f"operation is not an object: {op!r}")
    name = op.get("op")
    cls = jsonpatch.JsonPatch.operations.get(name) if isinstance(name, str) else None
    if cls is None:
        raise jsonpatch.InvalidJsonPatch(f"unknown operation {name!r}")
    return cls(op)


def _copy_path(root: Any, parts: list[str], copied: set[int]) -> Any:
    """Copy (once) every container from ``root`` down the parent path ``parts``."""
    node = root
    for part in parts:
        if isinstance(node, dict):
            key: Any = part
            if key not in node:
                return root  # jsonpatch reports the missing path
        elif isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return root
            key = int(part)
        else:
            return root
        child = node[key]
        if isinstance(child, dict | list) and id(child) not in copied:
            child = dict(child) if isinstance(child, dict) else list(child)
            copied.add(id(child))
            node[key] = child
        node = child
    return root
