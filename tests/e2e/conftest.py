"""Fixtures for end-to-end tests: syncpipe driven only through its CLI, on the real control planes.

- ``up_rest``/``down_rest``: syncpipe ``RestClient``s as the admin of each side (for the test's
  own reads and writes, as a user's kubectl would do them);
- ``syncer_crds``: the SyncerConfig/EdgeSyncConfig CRDs installed upstream from ``syncpipe crds``;
- ``syncer_cli``: starts ``python -m syncpipe run ...`` subprocesses; at teardown each gets
  SIGTERM, then SIGKILL after 20 s (a syncer that needed the SIGKILL, or that exited by itself,
  fails the test at teardown); the last 60 lines of each log are attached to a failed test's
  report;
- ``e2e_cleanup`` (used by ``syncer_cli``): after the syncers stopped, deletes every
  SyncerConfig/EdgeSyncConfig upstream (every syncer merges ALL of them) and the test's labelled
  cluster-scoped objects and namespaces on both sides.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from syncpipe import errors
from syncpipe.clients.connect import ClusterAccess, load_configuration
from syncpipe.clients.rest import RestClient
from syncpipe.config import crds
from syncpipe.testing import wait_for
from tests.e2e import helpers

STOP_GRACE_SECONDS = 20.0
LOG_TAIL_LINES = 60
_SYNCERS = pytest.StashKey[list["SyncerProcess"]]()


def _rest_for(plane: Any) -> RestClient:
    access = ClusterAccess(kubeconfig=str(plane.admin_kubeconfig), label=plane.name)
    return RestClient(load_configuration(access), label=plane.name)


@pytest.fixture(scope="session")
def up_rest(upstream: Any) -> Iterator[RestClient]:
    rest = _rest_for(upstream)
    yield rest
    rest.close()


@pytest.fixture(scope="session")
def down_rest(downstream: Any) -> Iterator[RestClient]:
    rest = _rest_for(downstream)
    yield rest
    rest.close()


@pytest.fixture(scope="session")
def syncer_crds(up_rest: RestClient) -> None:
    """The SyncerConfig/EdgeSyncConfig CRDs, installed upstream and established."""
    for manifest in crds.all_crd_manifests():
        if up_rest.get_or_none(helpers.CRD, "", manifest["metadata"]["name"]) is None:
            with contextlib.suppress(errors.ApiAlreadyExists):
                up_rest.create(helpers.CRD, "", manifest)

    def established() -> bool:
        for manifest in crds.all_crd_manifests():
            obj = up_rest.get(helpers.CRD, "", manifest["metadata"]["name"])
            conds = (obj.get("status") or {}).get("conditions") or ()
            if not any(c["type"] == "Established" and c["status"] == "True" for c in conds):
                return False
        return True

    wait_for(established, timeout=30, message="syncer CRDs not established")


class SyncerProcess:
    """One ``syncpipe run`` subprocess with its log file."""

    def __init__(
        self, args: list[str], log_path: Path, *, env: dict[str, str] | None = None
    ) -> None:
        self.args = args
        self.log_path = log_path
        self._log = log_path.open("ab")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SYNCPIPE_")},
            **(env or {}),
        }
        # From a directory of its own, as a user would run it (not from the source tree).
        self.proc = subprocess.Popen(
            args,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=log_path.parent,
            start_new_session=True,
        )
        self.killed = False
        self.problems: list[str] = []

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_text(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def kill_hard(self) -> None:
        """SIGKILL, as a crash or an OOM kill would end it."""
        self.killed = True
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def check_alive(self) -> None:
        """Raise at once if the syncer exited without being told to (waits would time out)."""
        if not self.killed and self.proc.poll() is not None:
            raise AssertionError(
                f"syncer exited by itself with status {self.proc.returncode}:\n{self.tail()}"
            )

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> int | None:
        """SIGTERM, wait ``grace`` seconds, then SIGKILL; record anything unexpected."""
        self.killed = True
        if self.proc.poll() is not None:
            self._log.close()
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.problems.append(f"did not stop within {grace:g}s of SIGTERM; killed")
            self.proc.kill()
            code = self.proc.wait(timeout=10)
        else:
            if code != 0:
                self.problems.append(f"exited with status {code} after SIGTERM")
        self._log.close()
        return code


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach the tail of every syncer log to a failed test's report."""
    report = yield
    if report.failed and call.when == "call":
        for index, syncer in enumerate(item.stash.get(_SYNCERS, [])):
            with contextlib.suppress(OSError):
                report.sections.append(
                    (
                        f"syncer #{index} log, last {LOG_TAIL_LINES} lines ({syncer.log_path})",
                        syncer.tail(),
                    )
                )
    return report


def _delete_quietly(rest: RestClient, gvr: Any, ns: str, name: str) -> None:
    with contextlib.suppress(errors.ApiError):
        rest.delete(gvr, ns, name)


@pytest.fixture
def e2e_cleanup(up_rest: RestClient, down_rest: RestClient, unique_name: str) -> Iterator[None]:
    """Remove configs and the test's labelled objects from both sides after the test."""
    yield
    for gvr in (helpers.SYNCER_CONFIGS, helpers.EDGE_SYNC_CONFIGS):
        with contextlib.suppress(errors.ApiError):
            items, _ = up_rest.list(gvr)
            for item in items:
                _delete_quietly(up_rest, gvr, "", item["metadata"]["name"])
    selector = f"{helpers.TEST_LABEL}={unique_name}"
    for rest in (up_rest, down_rest):
        for gvr in helpers.LABELLED_CLUSTER_RESOURCES:
            with contextlib.suppress(errors.ApiError):
                items, _ = rest.list(gvr, label_selector=selector)
                for item in items:
                    _delete_quietly(rest, gvr, "", item["metadata"]["name"])


@pytest.fixture
def syncer_cli(
    request: pytest.FixtureRequest,
    upstream: Any,
    downstream: Any,
    unique_name: str,
    tmp_path: Path,
    syncer_crds: None,
    e2e_cleanup: None,
) -> Iterator[Callable[..., SyncerProcess]]:
    """Start ``syncpipe run`` subprocesses: ``syncer_cli("--plugin-opt", "x.y=z", name=...)``."""
    started: list[SyncerProcess] = []
    request.node.stash[_SYNCERS] = started

    def check_alive() -> None:
        for syncer in started:
            syncer.check_alive()

    helpers.liveness_checks.append(check_alive)

    def start(
        *extra: str,
        name: str | None = None,
        argv: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> SyncerProcess:
        """``syncpipe run`` between the test planes with ``extra`` flags; or exactly ``argv``
        (the syncer's arguments after ``python -m syncpipe``) with ``env`` added."""
        if argv is not None:
            args = [sys.executable, "-m", "syncpipe", *argv]
            syncer = SyncerProcess(args, tmp_path / f"syncer-{len(started)}.log", env=env)
            started.append(syncer)
            return syncer
        args = helpers.run_args(
            upstream, downstream, "--syncer-name", name or unique_name, "-v", *extra
        )
        syncer = SyncerProcess(args, tmp_path / f"syncer-{len(started)}.log", env=env)
        started.append(syncer)
        return syncer

    yield start
    helpers.liveness_checks.remove(check_alive)
    problems = []
    for index, syncer in enumerate(started):
        if not syncer.killed and not syncer.alive():
            problems.append(f"syncer #{index} exited by itself with {syncer.proc.returncode}")
        syncer.stop()
        problems.extend(f"syncer #{index} {p}" for p in syncer.problems)
    if problems:
        tails = "\n\n".join(f"syncer #{i} log tail:\n{s.tail()}" for i, s in enumerate(started))
        pytest.fail("; ".join(problems) + "\n" + tails, pytrace=False)


@pytest.fixture
def wait_syncer_up() -> Callable[[SyncerProcess], None]:
    """Wait until a syncer logged that its initial sync is done (or fail if it died)."""

    def wait(syncer: SyncerProcess, timeout: float = helpers.SYNC_TIMEOUT) -> None:
        def up() -> bool:
            if not syncer.alive():
                raise AssertionError(
                    f"syncer exited with {syncer.proc.returncode}:\n{syncer.tail()}"
                )
            return "initial sync done" in syncer.log_text()

        wait_for(
            up, timeout=timeout, interval=0.2, message="syncer never finished its initial sync"
        )

    return wait
