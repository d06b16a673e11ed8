"""The benchmark generator makes realistic, deterministic snapshots the replay agrees with."""

from __future__ import annotations

from benchmarks import generate
from syncpipe.replay.snapshot import RecordType, Snapshot


def test_the_same_seed_gives_the_same_bytes_and_the_replay_finds_a_steady_fleet(tmp_path):
    first, second = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    generate.generate(80, 7, first)
    generate.generate(80, 7, second)
    assert first.read_bytes() == second.read_bytes()
    snapshot = Snapshot(first)
    records = list(snapshot.records())
    kinds = {r.object["kind"] for r in records if r.type is RecordType.LIST}
    assert kinds >= {"Deployment", "Service", "ConfigMap", "Secret", "Widget", "RoleBinding"}
    engine = generate.new_engine(snapshot.header)
    result = engine.run(records)
    assert not result.rejected
    assert not result.pending
    assert all(w.t > 0 for w in result.writes)  # nothing to do on the initial lists
    assert result.summary()["status_writes"] > 0
