"""A walker over untrusted JSON that collects every problem with its JSON path.

A config author fixing one typo at a time against an error that stops at the first problem
loses patience quickly, so the parsers read through a ``Reader``: each accessor checks one
value, records ``(path, message)`` when it is wrong, and returns ``None`` so reading goes on.
The caller raises one ``ConfigError`` with all the problems at the end.

Paths are JSONPath as kubectl and the API server print them: ``$.spec.clusterScope[1].resource``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from syncpipe import errors
from syncpipe.config import names

Check = Callable[[str], str | None]
"""A value check: returns a message when the value is wrong (see ``syncpipe.config.names``)."""

ROOT = "$"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OBJECT_FIELDS = ("apiVersion", "kind", "metadata", "spec", "status")


def child(path: str, key: str) -> str:
    """The path of field ``key`` below ``path``, bracket-quoted when the key is not a name."""
    if _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}"
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"{path}['{escaped}']"


def item(path: str, index: int) -> str:
    return f"{path}[{index}]"


def json_type(value: object) -> str:
    """The JSON name of a value's type, for messages a YAML author understands."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


class Reader:
    """Collects problems while a parser reads a document; see the module docstring."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def check(self, path: str, value: str, check: Check | None) -> str | None:
        """``value`` if ``check`` accepts it, else ``None`` with the problem recorded."""
        message = check(value) if check is not None else None
        if message is not None:
            self.problem(path, message)
            return None
        return value

    def raise_if_any(self, *, source: str) -> None:
        if self.problems:
            raise errors.ConfigError(self.problems, source=source)

    def mapping(
        self,
        value: object,
        path: str,
        *,
        fields: Collection[str],
        required: Collection[str] = (),
    ) -> Mapping[str, Any] | None:
        """``value`` as an object whose keys are all in ``fields`` and hold every ``required``.

        Unknown fields are problems because a misspelt field (``namespace`` for ``namespaces``)
        would otherwise be silently dropped and select something other than intended. A
        required field given as ``null`` counts as missing, as the API server prunes nulls.
        """
        if not isinstance(value, Mapping):
            self.problem(path, f"must be an object, not {json_type(value)}")
            return None
        for key in value:
            if not isinstance(key, str):
                self.problem(path, f"field names must be strings, not {json_type(key)}")
            elif key not in fields:
                self.problem(child(path, key), f"unknown field {key!r}")
        for key in required:
            if value.get(key) is None:
                self.problem(child(path, key), "required field is missing")
        return value

    def string(
        self, obj: Mapping[str, Any], key: str, path: str, *, check: Check | None = None
    ) -> str | None:
        """Field ``key`` of ``obj`` as a checked string; ``None`` when absent or wrong."""
        value = obj.get(key)
        here = child(path, key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(here, f"must be a string, not {json_type(value)}")
            return None
        return self.check(here, value, check)

    def array(self, obj: Mapping[str, Any], key: str, path: str) -> Iterator[tuple[str, Any]]:
        """The items of array field ``key`` with their paths; nothing when absent or wrong."""
        value = obj.get(key)
        here = child(path, key)
        if value is None:
            return
        if not isinstance(value, list | tuple):
            self.problem(here, f"must be an array, not {json_type(value)}")
            return
        for index, entry in enumerate(value):
            yield item(here, index), entry

    def strings(
        self, obj: Mapping[str, Any], key: str, path: str, *, check: Check | None = None
    ) -> tuple[str, ...] | None:
        """Array field ``key`` of checked strings; ``None`` when absent (which may mean "all").

        Wrong items are reported and left out, so a caller can still tell an absent list from
        an empty one.
        """
        if obj.get(key) is None:
            return None
        result: list[str] = []
        for here, entry in self.array(obj, key, path):
            if not isinstance(entry, str):
                self.problem(here, f"must be a string, not {json_type(entry)}")
                continue
            if self.check(here, entry, check) is not None:
                result.append(entry)
        return tuple(result)

    def object_header(self, doc: object, *, kind: str, api_version: str) -> str | None:
        """Check the top level of a Kubernetes object of ``kind``; return its name.

        ``status`` and ``metadata`` fields other than ``name`` are not the config author's
        to get wrong (the server and the syncer write them), so they are not checked.
        """
        top = self.mapping(doc, ROOT, fields=_OBJECT_FIELDS, required=("metadata",))
        if top is None:
            return None
        got_version = self.string(top, "apiVersion", ROOT)
        if got_version != api_version:
            self.problem(child(ROOT, "apiVersion"), f"must be {api_version}")
        if self.string(top, "kind", ROOT) != kind:
            self.problem(child(ROOT, "kind"), f"must be {kind}")
        name: str | None = None
        metadata = top.get("metadata")
        meta_path = child(ROOT, "metadata")
        if metadata is not None and not isinstance(metadata, Mapping):
            self.problem(meta_path, f"must be an object, not {json_type(metadata)}")
        elif metadata is not None:
            if metadata.get("name") is None:
                self.problem(child(meta_path, "name"), "required field is missing")
            name = self.string(metadata, "name", meta_path, check=names.config_name_problem)
        status = top.get("status")
        if status is not None and not isinstance(status, Mapping):
            self.problem(child(ROOT, "status"), f"must be an object, not {json_type(status)}")
        return name

    def spec(self, doc: object, *, fields: Collection[str]) -> Mapping[str, Any]:
        """The ``spec`` of ``doc``; an absent spec is an empty one (it selects nothing)."""
        if not isinstance(doc, Mapping) or doc.get("spec") is None:
            return {}
        spec = self.mapping(doc["spec"], child(ROOT, "spec"), fields=fields)
        return spec if spec is not None else {}
