"""The snapshot format: round trip, streaming, versioning, redaction."""

from __future__ import annotations

import gzip
import io
import tracemalloc

import attrs
import orjson
import pytest

from syncpipe import errors
from syncpipe.model.events import Side
from syncpipe.replay import redaction
from syncpipe.replay.snapshot import (
    FORMAT_VERSION,
    Header,
    Record,
    RecordType,
    Snapshot,
    SnapshotWriter,
    resource_from_json,
    resource_to_json,
    write_snapshot,
)
from tests.unit.replay.factories import CM, INFO, NS, configmap, event, header, listed


def written(head: Header, records: list[Record]) -> bytes:
    buffer = io.BytesIO()
    write_snapshot(buffer, head, records)
    return buffer.getvalue()


def test_a_snapshot_reads_back_exactly_as_written():
    head = header()
    records = [
        *listed(
            Side.UPSTREAM, NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}
        ),
        event(1.5, Side.UPSTREAM, "ADDED", CM, configmap("a", "x", {"k": "v"})),
        event(2.0, Side.DOWNSTREAM, "DELETED", CM, configmap("a", "y", {}), inferred=True),
        Record(t=3.0, side=Side.DOWNSTREAM, type=RecordType.RESOURCE, gvr=CM, info=INFO[CM]),
    ]
    snapshot = Snapshot(written(head, records))
    assert snapshot.header == head
    assert snapshot.header.syncer_configs == head.syncer_configs
    assert list(snapshot.records()) == records
    assert list(snapshot.records()) == records  # readable again, from the start


def test_short_names_are_kept_and_a_resource_without_them_reads_as_before():
    with_short = attrs.evolve(INFO[CM], short_names={"cm"})
    assert resource_from_json(resource_to_json(with_short)) == with_short
    assert resource_to_json(with_short)["shortNames"] == ["cm"]
    without = resource_to_json(INFO[CM])
    assert "shortNames" not in without  # what snapshots written before carry
    assert resource_from_json(without).short_names == frozenset()


def test_the_header_is_the_first_line_and_each_record_one_more(tmp_path):
    path = tmp_path / "s.jsonl.gz"
    write_snapshot(path, header(), listed(Side.UPSTREAM, NS))
    lines = gzip.decompress(path.read_bytes()).splitlines()
    first = orjson.loads(lines[0])
    assert first["format"] == "syncpipe-snapshot"
    assert first["version"] == FORMAT_VERSION
    assert first["sides"]["upstream"]["server_version"] == "v1.20.2"
    assert {r["gvr"] for r in first["resources"]} >= {"v1/namespaces", "apps/v1/deployments"}
    assert orjson.loads(lines[1]) == {
        "t": 0.0,
        "side": "upstream",
        "type": "SYNCED",
        "gvr": "v1/namespaces",
        "rv": "100",
    }


def test_equal_content_gives_equal_bytes():
    records = listed(Side.UPSTREAM, CM, configmap("a", "x", {"k": "v"}))
    assert written(header(), records) == written(header(), records)


def test_record_times_never_go_backwards():
    buffer = io.BytesIO()
    with SnapshotWriter(buffer, header()) as writer:
        writer.write(event(2.0, Side.UPSTREAM, "ADDED", CM, configmap("a", "x", {})))
        writer.write(event(1.0, Side.UPSTREAM, "MODIFIED", CM, configmap("a", "x", {})))
    assert [r.t for r in Snapshot(buffer.getvalue()).records()] == [2.0, 2.0]


def test_writing_and_reading_stream_instead_of_holding_the_file():
    blob = "x" * 1000
    count = 20_000  # about 20 MB of JSON

    def records():
        for i in range(count):
            yield event(
                i / 1000, Side.UPSTREAM, "MODIFIED", CM, configmap("a", f"cm{i}", {"k": blob})
            )

    buffer = io.BytesIO()
    tracemalloc.start()
    write_snapshot(buffer, header(), records())
    _, write_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    seen = sum(1 for _ in Snapshot(buffer.getvalue()).records())
    _, read_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seen == count
    compressed = len(buffer.getvalue())
    # Neither side ever held more than a small fraction of the 20 MB (the compressed input
    # itself, given here as bytes, excepted).
    assert write_peak < 5_000_000
    assert read_peak - compressed < 5_000_000


def test_a_newer_format_version_is_refused_with_the_versions_this_syncpipe_reads():
    data = header().to_json()
    data["version"] = FORMAT_VERSION + 1
    raw = gzip.compress(orjson.dumps(data) + b"\n")
    with pytest.raises(errors.SnapshotFormatError, match=r"version 2 .* reads version 1"):
        Snapshot(raw)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"plain text, not gzip", "not a gzip'd snapshot"),
        (gzip.compress(b""), "empty"),
        (gzip.compress(b'{"kind": "ConfigMap"}\n'), "not a syncpipe snapshot"),
        (gzip.compress(b"{not json\n"), "not JSON"),
    ],
)
def test_what_is_not_a_snapshot_is_a_snapshot_format_error(content, message):
    with pytest.raises(errors.SnapshotFormatError, match=message):
        Snapshot(content)


def test_a_malformed_or_unknown_record_names_its_line():
    raw = gzip.compress(
        orjson.dumps(header().to_json())
        + b"\n"
        + orjson.dumps({"t": 0, "side": "upstream", "type": "TELEPORTED", "gvr": "v1/configmaps"})
        + b"\n"
    )
    with pytest.raises(errors.SnapshotFormatError, match="line 2"):
        list(Snapshot(raw).records())


def test_a_truncated_snapshot_is_a_snapshot_format_error():
    raw = written(
        header(),
        listed(Side.UPSTREAM, CM, *[configmap("a", f"c{i}", {"k": "v" * 50}) for i in range(200)]),
    )
    records = Snapshot(raw[: len(raw) // 2]).records()
    with pytest.raises(errors.SnapshotFormatError, match="truncated"):
        list(records)


def test_secret_values_are_replaced_by_digests_that_still_tell_changes_apart():
    redactor = redaction.Redactor()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "s",
            "annotations": {redaction.LAST_APPLIED: '{"data":{"pw":"aHVudGVyMg=="}}', "keep": "me"},
        },
        "data": {"pw": "aHVudGVyMg==", "same": "aHVudGVyMg==", "other": "b3RoZXI="},
        "stringData": {"token": "hunter2"},
    }
    redacted = redactor.redact(secret)
    text = orjson.dumps(redacted).decode()
    assert "aHVudGVyMg==" not in text
    assert "hunter2" not in text
    assert redacted["data"]["pw"] == redacted["data"]["same"] != redacted["data"]["other"]
    assert redacted["data"]["pw"].startswith(redaction.PREFIX)
    assert redacted["metadata"]["annotations"]["keep"] == "me"
    assert secret["data"]["pw"] == "aHVudGVyMg=="  # the input is untouched
    assert redactor.redact(secret) == redacted  # stable within one recording
    assert redaction.Redactor().redact(secret)["data"]["pw"] != redacted["data"]["pw"]  # new key


def test_objects_other_than_secrets_are_not_redacted():
    cm = configmap("a", "x", {"pw": "hunter2"})
    assert redaction.Redactor().redact(cm) is cm
    assert redaction.keep(cm) is cm
