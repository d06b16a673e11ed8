"""``-v`` means the same for every command: ``-v`` info, ``-vv`` debug."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner

from syncpipe.cli import logs
from syncpipe.cli.main import cli
from syncpipe.model.events import Side
from syncpipe.replay.snapshot import write_snapshot
from tests.unit.replay.factories import CONFIG, NS, header, listed


@pytest.mark.parametrize(
    ("verbose", "quiet", "level"),
    [
        (0, False, logging.INFO),
        (1, False, logging.INFO),
        (2, False, logging.DEBUG),
        (3, False, logging.DEBUG),
        (0, True, logging.WARNING),
        (1, True, logging.INFO),
        (2, True, logging.DEBUG),
    ],
)
def test_each_v_count_gives_the_same_level_to_every_command(verbose, quiet, level):
    assert logs.level_for(verbose, quiet=quiet) == level


@pytest.mark.parametrize(
    ("flags", "level"), [((), logging.WARNING), (("-v",), logging.INFO), (("-vv",), logging.DEBUG)]
)
def test_replay_logs_warnings_by_default_info_with_v_and_debug_with_vv(tmp_path, flags, level):
    snapshot = tmp_path / "s.jsonl.gz"
    write_snapshot(
        snapshot,
        header(configs=(CONFIG,)),
        [*listed(Side.UPSTREAM, NS), *listed(Side.DOWNSTREAM, NS)],
    )
    root = logging.getLogger()
    saved = (root.level, root.handlers[:])
    try:
        result = CliRunner().invoke(cli, ["replay", str(snapshot), *flags], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert root.level == level
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
