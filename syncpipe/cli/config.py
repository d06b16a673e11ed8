"""``syncpipe config``: check SyncerConfig and EdgeSyncConfig files before applying them.

``syncpipe config validate FILE...`` parses every YAML document of every file, reports every
problem on its own line as ``FILE: doc N (Kind/name): message @ $.path`` (the format of
compilers and linters, so editors can jump to it), then merges what parsed into one
selection and reports what no single document shows: two documents with the same name, and
objects selected for both downsync and upsync. Exit status 1 when anything was reported.

Checks that need a cluster's discovery (is this resource namespaced?) are not made here;
the running syncer reports those.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import IO, Any

import attrs
import click
import yaml

from syncpipe import errors
from syncpipe.config import selection, syncerconfig


@attrs.frozen(kw_only=True)
class _Place:
    """Where a document came from, as problem lines print it."""

    file: str
    doc: int
    label: str
    prefix: str = ""  # "$.items[3]" for an object inside a List document

    def line(self, message: str, path: str) -> str:
        where = self.prefix + path[1:] if self.prefix else path
        return f"{self.file}: doc {self.doc} ({self.label}): {message} @ {where}"


def _label(doc: object) -> str:
    """``Kind/name`` of a document, as far as it can be read."""
    if not isinstance(doc, Mapping):
        return "?/?"
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return f"{doc.get('kind') or '?'}/{name or '?'}"


def _objects(doc: Any) -> Iterator[tuple[str, Any]]:
    """The objects of one document with their path prefix; a ``kind: *List`` is unpacked."""
    kind = doc.get("kind") if isinstance(doc, Mapping) else None
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        for index, item in enumerate(doc["items"]):
            yield f"$.items[{index}]", item
    else:
        yield "", doc


@click.group("config")
def command() -> None:
    """Check SyncerConfig and EdgeSyncConfig files."""


@command.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.File("r", encoding="utf-8"))
def validate(files: tuple[IO[str], ...]) -> None:
    """Validate the configs in FILE... ("-" reads stdin); each file may hold many documents."""
    lines: list[str] = []
    configs: list[syncerconfig.AnyConfig] = []
    places: dict[str, _Place] = {}
    for stream in files:
        name = "-" if stream.name == "<stdin>" else stream.name
        try:
            documents = list(yaml.safe_load_all(stream))
        except yaml.YAMLError as exc:
            lines.append(f"{name}: not valid YAML: {exc}")
            continue
        for number, document in enumerate(documents, start=1):
            if document is None:
                continue  # an empty document, e.g. after a trailing ---
            for prefix, obj in _objects(document):
                place = _Place(file=name, doc=number, label=_label(obj), prefix=prefix)
                try:
                    config = syncerconfig.parse_config(obj)
                except errors.ConfigError as exc:
                    lines.extend(place.line(msg, path) for path, msg in exc.problems)
                    continue
                if config.ref in places:
                    first = places[config.ref]
                    lines.append(
                        place.line(
                            f"{config.ref} is also defined in {first.file} doc {first.doc}; "
                            "a cluster holds one object per name",
                            "$.metadata.name",
                        )
                    )
                    continue
                places[config.ref] = place
                configs.append(config)
    merged = selection.Selection.from_configs(configs)
    for problem in merged.overlaps():
        lines.append(places[problem.config].line(problem.message, problem.path))
    if not configs and not lines:
        lines.append("no SyncerConfig or EdgeSyncConfig found")
    if lines:
        for line in lines:
            click.echo(line)
        raise click.exceptions.Exit(1)
    _print_summary(merged)


def _print_summary(merged: selection.Selection) -> None:
    summary = selection.summary(merged)
    configs = summary["configs"]
    click.echo(f"OK: {len(configs)} config(s): {', '.join(configs)}")
    click.echo(f"  downsync resources: {', '.join(summary['downsync']) or 'none'}")
    click.echo(f"  upsync resources:   {', '.join(summary['upsync']) or 'none'}")
    click.echo(f"  namespaces needed downstream: {', '.join(summary['namespaces']) or 'none'}")
    for selected_by_labels in summary["label_selectors"]:
        click.echo(f"  only objects labelled: {selected_by_labels}")
    if summary["conversions"]:
        click.echo(f"  conversions: {summary['conversions']} (kept, not applied yet)")
