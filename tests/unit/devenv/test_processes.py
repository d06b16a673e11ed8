"""Starting, signalling and stopping child processes."""

from __future__ import annotations

import shutil
import signal
import sys

from syncpipe.devenv import processes
from syncpipe.testing import wait_for

SLEEP = shutil.which("sleep") or "/bin/sleep"


def test_free_ports_are_distinct_and_never_handed_out_twice():
    first = processes.free_ports(3)
    second = processes.free_ports(3)

    assert len(set(first) | set(second)) == 6


def test_a_stopped_process_is_gone_and_stop_can_be_repeated(tmp_path):
    process = processes.ManagedProcess(name="sleep", argv=[SLEEP, "60"], log_path=tmp_path / "log")
    process.start()
    record = process.record()
    assert record is not None
    # Right after the fork /proc still shows the Python parent's command line until exec.
    wait_for(lambda: processes.pid_runs(record), timeout=5, interval=0.01)

    process.stop()
    process.stop()

    assert not process.alive()
    assert not processes.pid_runs(record)
    assert process.returncode() == -signal.SIGTERM


def test_a_hung_process_is_stopped_too(tmp_path):
    process = processes.ManagedProcess(name="sleep", argv=[SLEEP, "60"], log_path=tmp_path / "log")
    process.start()
    process.kill(signal.SIGSTOP, wait=0)

    process.stop()

    assert not process.alive()


def test_a_restarted_process_appends_to_its_log(tmp_path):
    log = tmp_path / "logs" / "echo.log"
    process = processes.ManagedProcess(
        name="echo", argv=[sys.executable, "-c", "print('hello')"], log_path=log
    )
    for _ in range(2):
        process.start()
        wait_for(lambda: not process.alive(), timeout=10, interval=0.01)

    assert processes.tail(log, 10).splitlines().count("hello") == 2
    assert processes.tail(log, 1) == "hello"


def test_stop_pid_stops_a_detached_process_and_leaves_a_reused_pid_alone(tmp_path):
    process = processes.ManagedProcess(name="sleep", argv=[SLEEP, "60"], log_path=tmp_path / "log")
    process.start()
    pid = process.pid
    assert pid is not None
    impostor = processes.ProcessRecord(name="sleep", pid=pid, executable="/not/sleep")
    genuine = processes.ProcessRecord(name="sleep", pid=pid, executable=SLEEP)
    wait_for(lambda: processes.pid_runs(genuine), timeout=5, interval=0.01)

    processes.stop_pid(impostor)
    assert process.alive()

    processes.stop_pid(genuine)
    assert not processes.pid_runs(genuine)
    process.stop()


def test_tail_of_an_unreadable_file_says_so(tmp_path):
    assert "cannot read" in processes.tail(tmp_path / "missing")
