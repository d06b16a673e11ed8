"""Read YAML streams of Kubernetes objects, each object with the place it came from.

Shared by ``syncpipe config validate`` (configs) and ``syncpipe config from-manifests``
(rendered manifests): both read any number of files of multi-document YAML as kubectl does
(``---`` separators, empty documents and comments skipped, ``kind: List`` and every other
``*List`` with ``items`` unpacked), and both name a problem's place the same way, as compilers
and linters do so editors can jump to it: ``FILE: doc N (Kind/name): message @ $.path``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import yaml

from syncpipe import errors
from syncpipe.config.reader import ROOT


@attrs.frozen(kw_only=True)
class Place:
    """Where an object came from: file, document number (from 1) and, inside a List, its item."""

    file: str
    doc: int
    label: str = ""  # Kind/name, as far as it can be read
    prefix: str = ""  # "$.items[3]" for an object inside a List document

    @property
    def source(self) -> str:
        """``FILE: doc N (Kind/name)``: what a problem line starts with."""
        label = f" ({self.label})" if self.label else ""
        return f"{self.file}: doc {self.doc}{label}"

    def path(self, path: str) -> str:
        """``path`` (relative to the object) as a path in the document."""
        return self.prefix + path[len(ROOT) :] if self.prefix else path

    def line(self, message: str, path: str) -> str:
        return f"{self.source}: {message} @ {self.path(path)}"


def label_of(doc: object) -> str:
    """``Kind/name`` of a document, as far as it can be read."""
    if not isinstance(doc, Mapping):
        return "?/?"
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return f"{doc.get('kind') or '?'}/{name or '?'}"


def objects_of(doc: Any) -> Iterator[tuple[str, Any]]:
    """The objects of one document with their path prefix; a ``kind: *List`` is unpacked."""
    kind = doc.get("kind") if isinstance(doc, Mapping) else None
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        for index, item in enumerate(doc["items"]):
            yield f"{ROOT}.items[{index}]", item
    else:
        yield "", doc


def read_documents(text: str, *, file: str) -> list[tuple[int, Any]]:
    """Every non-empty document of ``text`` with its number (counted from 1, empty ones too).

    Raises ``ConfigError`` naming the file, the document and the line of the first YAML error.
    """
    found: list[tuple[int, Any]] = []
    number = 0
    try:
        for number, document in enumerate(yaml.safe_load_all(text), start=1):
            if document is not None:
                found.append((number, document))
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, file=file, doc=number + 1) from exc
    return found


def _yaml_error(exc: yaml.YAMLError, *, file: str, doc: int) -> errors.ConfigError:
    """One line for a YAML error (PyYAML's own message spans several, with a source excerpt)."""
    where = "the stream"
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = [p for p in (exc.context, exc.problem) if p]
        message = ": ".join(parts) or message
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            where = f"line {mark.line + 1}, column {mark.column + 1}"
    return errors.ConfigError(
        [(where, f"not valid YAML: {message}")], source=Place(file=file, doc=doc).source
    )


def located_objects(text: str, *, file: str) -> Iterator[tuple[Place, Any]]:
    """Every object of ``text`` (Lists unpacked) with its place; see ``read_documents``."""
    for number, document in read_documents(text, file=file):
        for prefix, obj in objects_of(document):
            yield Place(file=file, doc=number, label=label_of(obj), prefix=prefix), obj
