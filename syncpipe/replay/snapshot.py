"""Recorded snapshots: a versioned, streaming format for what a syncer saw on both sides.

A snapshot is what ``syncpipe record`` captures from live clusters and what ``syncpipe
replay`` (and the offline benchmarks) feed to the pipeline. It is a gzip-compressed JSON Lines
file, written and read one line at a time, so a recording of a million events never has to fit
in memory.

**Line 1, the header** (one JSON object)::

    {"format": "syncpipe-snapshot", "version": 1, "syncpipe": "0.1.0",
     "recorded_at": "2026-01-31T12:00:00Z", "secret_data": "redacted",
     "sides": {"upstream": {"server_version": "v1.20.2",
                            "preferred_versions": {"": "v1", "apps": "v1", ...},
                            "discovery": [RESOURCE, ...]},
               "downstream": {...}},
     "resources": [{"side": "upstream", ...RESOURCE}, ...],
     "syncer_configs": [SYNCERCONFIG OBJECT, ...]}

``sides`` holds each recorded side's server version and discovery (everything it served when
the recording started); ``resources`` the collections recorded from the start, per side;
``syncer_configs`` the configs the recording was told to use (``--syncer-config`` files; empty
when it followed the SyncerConfigs upstream, which are then recorded as objects);
``secret_data`` is ``"redacted"`` or ``"kept"`` (see ``syncpipe.replay.redaction``). A RESOURCE
is ``{"gvr": "apps/v1/deployments", "kind": "Deployment", "namespaced": true, "status": true,
"verbs": ["create", "delete", ...], "shortNames": ["deploy"]}`` (``status``: served with a
``/status`` subresource; ``shortNames``: kubectl's short names, optional — absent when
discovery gave none and in snapshots written before they were recorded, which readers of
version 1 accept).

**Every further line is one record**: ``{"t": 0.125, "side": "upstream", "type": TYPE, "gvr":
"v1/configmaps", ...}`` where ``t`` is the arrival time in seconds after the recording started
(non-decreasing through the file) and ``TYPE`` is one of

* ``LIST`` + ``"object"``: one object of a collection's initial list;
* ``SYNCED`` + ``"rv"``: the collection's initial list is complete (its resourceVersion);
* ``ADDED`` / ``MODIFIED`` / ``DELETED`` + ``"object"``: a watch event, the object after the
  change (for ``DELETED``, its last state). ``"inferred": true`` marks a deletion inferred
  from a relist after the watch broke (the object vanished while the watch was down);
* ``RESOURCE`` + ``"resource"``: recording of this collection started later (a CRD that
  appeared, a SyncerConfig that selected more); its ``LIST`` and ``SYNCED`` records follow.

**Versioning**: ``version`` changes only for an incompatible format; readers refuse a version
they do not know with a ``SnapshotFormatError`` that says which versions they read. Fields
added in a compatible way (a new header key, a new optional record key) keep the version, and
readers ignore keys they do not know. Unknown record types are refused (they could carry
state the replay would silently miss).

Writers are thread-safe (one recorder writes from several informer threads). Files are written
with a zero gzip timestamp, so equal content gives equal bytes.
"""

from __future__ import annotations

import datetime
import enum
import gzip
import io
import threading
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import attrs
import orjson

import syncpipe
from syncpipe import errors
from syncpipe.model.events import Side
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import GroupVersionResource, ResourceInfo

FORMAT = "syncpipe-snapshot"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})
SECRET_DATA_REDACTED = "redacted"  # noqa: S105 - a mode name, not a password
SECRET_DATA_KEPT = "kept"  # noqa: S105 - a mode name, not a password
# Compression level 6: within a few percent of 9's size at a third of its CPU, so recording
# keeps up with a busy cluster on one core.
COMPRESS_LEVEL = 6


class RecordType(enum.Enum):
    """What one record line says (see the module docstring)."""

    LIST = "LIST"
    SYNCED = "SYNCED"
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    RESOURCE = "RESOURCE"


def resource_to_json(info: ResourceInfo) -> dict[str, Any]:
    """A RESOURCE as it is written in the header and in ``RESOURCE`` records."""
    written: dict[str, Any] = {
        "gvr": str(info.gvr),
        "kind": info.kind,
        "namespaced": info.namespaced,
        "status": info.status_subresource,
        "verbs": sorted(info.verbs),
    }
    if info.short_names:  # optional: older snapshots have none
        written["shortNames"] = sorted(info.short_names)
    return written


def resource_from_json(data: Mapping[str, Any]) -> ResourceInfo:
    """The ``ResourceInfo`` a RESOURCE describes; ``SnapshotFormatError`` when malformed."""
    try:
        return ResourceInfo(
            gvr=GroupVersionResource.parse(str(data["gvr"])),
            kind=str(data["kind"]),
            namespaced=bool(data["namespaced"]),
            status_subresource=bool(data.get("status", False)),
            verbs=frozenset(str(v) for v in data.get("verbs") or ()),
            short_names=frozenset(str(s) for s in data.get("shortNames") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise errors.SnapshotFormatError(f"malformed resource {data!r}: {exc}") from exc


def _frozen_resources(values: Iterable[ResourceInfo]) -> tuple[ResourceInfo, ...]:
    return tuple(values)


def _frozen_strings(values: Mapping[str, str]) -> Mapping[str, str]:
    return dict(values)


@attrs.frozen(kw_only=True)
class SideInfo:
    """One recorded side: its server version and what it served when the recording started."""

    server_version: str = ""
    discovery: tuple[ResourceInfo, ...] = attrs.field(default=(), converter=_frozen_resources)
    preferred_versions: Mapping[str, str] = attrs.field(
        factory=dict, converter=_frozen_strings, hash=False
    )


@attrs.frozen(kw_only=True)
class RecordedResource:
    """A collection recorded on one side."""

    side: Side
    info: ResourceInfo


def _frozen_recorded(values: Iterable[RecordedResource]) -> tuple[RecordedResource, ...]:
    return tuple(values)


def _frozen_objects(values: Iterable[RawObject]) -> tuple[RawObject, ...]:
    return tuple(values)


def _frozen_sides(values: Mapping[Side, SideInfo]) -> Mapping[Side, SideInfo]:
    return dict(values)


def now_rfc3339() -> str:
    """The current UTC time as the header's ``recorded_at`` writes it."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@attrs.frozen(kw_only=True)
class Header:
    """The first line of a snapshot."""

    recorded_at: str
    sides: Mapping[Side, SideInfo] = attrs.field(converter=_frozen_sides, hash=False)
    resources: tuple[RecordedResource, ...] = attrs.field(default=(), converter=_frozen_recorded)
    syncer_configs: tuple[RawObject, ...] = attrs.field(
        default=(), converter=_frozen_objects, hash=False
    )
    secret_data: str = SECRET_DATA_REDACTED
    syncpipe_version: str = syncpipe.__version__
    version: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "syncpipe": self.syncpipe_version,
            "recorded_at": self.recorded_at,
            "secret_data": self.secret_data,
            "sides": {
                side.value: {
                    "server_version": info.server_version,
                    "preferred_versions": dict(sorted(info.preferred_versions.items())),
                    "discovery": [resource_to_json(r) for r in info.discovery],
                }
                for side, info in sorted(self.sides.items(), key=lambda item: item[0].value)
            },
            "resources": [
                {"side": r.side.value, **resource_to_json(r.info)} for r in self.resources
            ],
            "syncer_configs": list(self.syncer_configs),
        }

    @classmethod
    def from_json(cls, data: Any) -> Header:
        """Parse a header line; ``SnapshotFormatError`` for anything not a snapshot we read."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise errors.SnapshotFormatError(
                "not a syncpipe snapshot (the first line is no syncpipe-snapshot header)"
            )
        version = data.get("version")
        if version not in SUPPORTED_VERSIONS:
            readable = ", ".join(str(v) for v in sorted(SUPPORTED_VERSIONS))
            raise errors.SnapshotFormatError(
                f"snapshot format version {version!r} (written by syncpipe "
                f"{data.get('syncpipe', '?')}) is not supported: syncpipe "
                f"{syncpipe.__version__} reads version {readable}"
            )
        try:
            sides = {
                Side(name): SideInfo(
                    server_version=str(side.get("server_version", "")),
                    preferred_versions={
                        str(k): str(v) for k, v in (side.get("preferred_versions") or {}).items()
                    },
                    discovery=[resource_from_json(r) for r in side.get("discovery") or ()],
                )
                for name, side in (data.get("sides") or {}).items()
            }
            resources = [
                RecordedResource(side=Side(r["side"]), info=resource_from_json(r))
                for r in data.get("resources") or ()
            ]
            return cls(
                version=int(version),
                syncpipe_version=str(data.get("syncpipe", "")),
                recorded_at=str(data["recorded_at"]),
                secret_data=str(data.get("secret_data", SECRET_DATA_REDACTED)),
                sides=sides,
                resources=resources,
                syncer_configs=list(data.get("syncer_configs") or ()),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise errors.SnapshotFormatError(f"malformed snapshot header: {exc}") from exc


@attrs.frozen(kw_only=True)
class Record:
    """One line after the header (see the module docstring)."""

    t: float
    side: Side
    type: RecordType
    gvr: GroupVersionResource
    object: RawObject | None = None
    resource_version: str = ""
    inferred: bool = False
    info: ResourceInfo | None = None

    def to_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {
            "t": round(self.t, 6),
            "side": self.side.value,
            "type": self.type.value,
            "gvr": str(self.gvr),
        }
        if self.type is RecordType.SYNCED:
            line["rv"] = self.resource_version
        elif self.type is RecordType.RESOURCE:
            if self.info is None:
                raise ValueError("a RESOURCE record needs its info")
            line["resource"] = resource_to_json(self.info)
        else:
            line["object"] = self.object
            if self.inferred:
                line["inferred"] = True
        return line

    @classmethod
    def from_json(cls, data: Any, *, line: int = 0) -> Record:
        where = f"line {line}: " if line else ""
        try:
            kind = RecordType(data["type"])
            info = resource_from_json(data["resource"]) if kind is RecordType.RESOURCE else None
            obj = data.get("object")
            if kind in _OBJECT_TYPES and not isinstance(obj, dict):
                raise ValueError(f"a {kind.value} record needs an object")
            return cls(
                t=float(data["t"]),
                side=Side(data["side"]),
                type=kind,
                gvr=GroupVersionResource.parse(str(data["gvr"])),
                object=obj,
                resource_version=str(data.get("rv", "")),
                inferred=bool(data.get("inferred", False)),
                info=info,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise errors.SnapshotFormatError(f"{where}malformed record: {exc}") from exc


_OBJECT_TYPES = frozenset(
    {RecordType.LIST, RecordType.ADDED, RecordType.MODIFIED, RecordType.DELETED}
)


class SnapshotWriter:
    """Write a header, then records, one line at a time; ``close()`` (or ``with``) finishes.

    ``t`` is kept non-decreasing: events handed over by different informer threads may arrive
    a little out of order, and a replay reads the file in order.
    """

    def __init__(self, target: str | Path | IO[bytes], header: Header) -> None:
        self._owned: IO[bytes] | None = None
        if isinstance(target, str | Path):
            self._owned = open(target, "wb")  # noqa: SIM115 - closed in close()
            raw: IO[bytes] = self._owned
        else:
            raw = target
        self._gzip = gzip.GzipFile(
            fileobj=raw, mode="wb", compresslevel=COMPRESS_LEVEL, mtime=0, filename=""
        )
        self._lock = threading.Lock()
        self._last_t = 0.0
        self.records = 0
        self._line(header.to_json())

    def _line(self, data: dict[str, Any]) -> None:
        self._gzip.write(orjson.dumps(data) + b"\n")

    def write(self, record: Record) -> None:
        """Append ``record`` (its ``t`` raised to the previous record's if it is earlier)."""
        with self._lock:
            if record.t < self._last_t:
                record = attrs.evolve(record, t=self._last_t)
            self._last_t = record.t
            self._line(record.to_json())
            self.records += 1

    def flush(self) -> None:
        """Make everything written so far readable from the file (a gzip sync point)."""
        with self._lock:
            self._gzip.flush(zlib.Z_SYNC_FLUSH)

    @property
    def closed(self) -> bool:
        return self._gzip.closed

    def close(self) -> None:
        with self._lock:
            self._gzip.close()
            if self._owned is not None:
                self._owned.close()

    def __enter__(self) -> SnapshotWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Snapshot:
    """A snapshot file opened for reading: ``header`` at once, ``records()`` streamed.

    Each call of ``records()`` reads the file again from the start, so a snapshot can be
    replayed several times without keeping it in memory.
    """

    def __init__(self, source: str | Path | bytes) -> None:
        self._source = source
        self.name = "<memory>" if isinstance(source, bytes) else str(source)
        with self._open() as stream:
            self.header = Header.from_json(self._decode(self._first_line(stream), 1))

    def _open(self) -> gzip.GzipFile:
        try:
            if isinstance(self._source, bytes):
                return gzip.GzipFile(fileobj=io.BytesIO(self._source), mode="rb")
            return gzip.GzipFile(filename=str(self._source), mode="rb")
        except OSError as exc:
            raise errors.SnapshotFormatError(f"{self.name}: cannot open: {exc}") from exc

    def _first_line(self, stream: gzip.GzipFile) -> bytes:
        try:
            line = stream.readline()
        except (OSError, EOFError, zlib.error) as exc:
            raise errors.SnapshotFormatError(f"{self.name}: not a gzip'd snapshot: {exc}") from exc
        if not line:
            raise errors.SnapshotFormatError(f"{self.name}: empty file, no snapshot header")
        return line

    def _decode(self, line: bytes, number: int) -> Any:
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise errors.SnapshotFormatError(
                f"{self.name}: line {number}: not JSON: {exc}"
            ) from exc

    def records(self) -> Iterator[Record]:
        """Every record after the header, in file order, read lazily."""
        with self._open() as stream:
            self._first_line(stream)
            number = 1
            while True:
                try:
                    line = stream.readline()
                except (OSError, EOFError, zlib.error) as exc:
                    raise errors.SnapshotFormatError(
                        f"{self.name}: unreadable after line {number} (truncated?): {exc}"
                    ) from exc
                if not line:
                    return
                number += 1
                if line.strip():
                    yield Record.from_json(self._decode(line, number), line=number)


def write_snapshot(
    target: str | Path | IO[bytes], header: Header, records: Iterable[Record]
) -> int:
    """Write a whole snapshot from an iterable of records; returns how many were written."""
    with SnapshotWriter(target, header) as writer:
        for record in records:
            writer.write(record)
        return writer.records
