"""Sweeping etcd data directories left behind on tmpfs."""

from __future__ import annotations

import os
import time

from syncpipe.devenv import tmpfs


def make_dir(root, name, *, age):
    path = root / f"{tmpfs.PREFIX}{name}"
    path.mkdir()
    (path / "member").mkdir()
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_old_unused_directories_are_swept_and_the_rest_kept(tmp_path):
    stale = make_dir(tmp_path, "stale", age=3600)
    used = make_dir(tmp_path, "used", age=3600)
    fresh = make_dir(tmp_path, "fresh", age=1)
    unrelated = tmp_path / "someone-elses"
    unrelated.mkdir()
    os.utime(unrelated, (0, 0))

    removed = tmpfs.sweep_stale_etcd_dirs(root=tmp_path, in_use={used})

    assert removed == [stale]
    assert not stale.exists()
    assert used.exists()
    assert fresh.exists()
    assert unrelated.exists()


def test_directories_used_by_running_processes_are_found_from_their_command_lines():
    # This test process itself has no --data-dir; the scan must simply not fail on /proc.
    assert isinstance(tmpfs.etcd_data_dirs_in_use(), set)
