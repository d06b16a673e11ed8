"""Fixtures of the fault suite: a dedicated control-plane pair per test module.

The faults kill API servers and etcd and partition the network, so they never touch the
session's shared pair (``upstream``/``downstream``): each module gets its own pair, started with
the module's ``APISERVER_ARGS``/``WATCH_CACHE_SIZES`` if it defines them, with the syncer CRDs
installed, and stopped (every process by its pid) at the module's end. The next module's pair
is started in the background while a module runs (one ahead at most).

- ``planes``: the module's ``ControlPlanePair``;
- ``up``/``down``: admin ``RestClient``s for it (the test's own reads and writes);
- ``clean_configs`` (autouse): every SyncerConfig is deleted after each test (all syncers merge
  all configs, so a leftover would select objects for the next test's syncer);
- ``syncer_procs``: ``syncpipe run`` subprocesses, stopped at teardown;
- ``recovery``: the session's recovery-time report (printed in the terminal summary and merged
  into ``/tmp/syncpipe-fault-recovery.json``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from syncpipe import errors
from syncpipe.config import crds
from syncpipe.devenv import controlplane, pair
from syncpipe.testing import wait_for
from tests.faults import helpers

_REPORT = pytest.StashKey[helpers.RecoveryReport]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is a fault test on real control planes, and slow."""
    for item in items:
        if "/tests/faults/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.faults)
            item.add_marker(pytest.mark.apiserver)
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    report = config.stash.get(_REPORT, None)
    if report is not None and report.lines:
        terminalreporter.write_sep("-", "syncpipe fault recovery times")
        for line in report.lines:
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"(also in {report.path})")


@pytest.fixture(scope="session")
def recovery(request: pytest.FixtureRequest) -> helpers.RecoveryReport:
    report = helpers.RecoveryReport()
    request.config.stash[_REPORT] = report
    return report


def install_syncer_crds(rest: Any) -> None:
    for manifest in crds.all_crd_manifests():
        with contextlib.suppress(errors.ApiAlreadyExists):
            rest.create(helpers.CRD, "", manifest)

    def established() -> bool:
        for manifest in crds.all_crd_manifests():
            obj = rest.get(helpers.CRD, "", manifest["metadata"]["name"])
            conds = (obj.get("status") or {}).get("conditions") or ()
            if not any(c["type"] == "Established" and c["status"] == "True" for c in conds):
                return False
        return True

    wait_for(established, timeout=30, message="syncer CRDs not established")


def _start(module: Any, workdir: Any, assets: Any) -> pair.ControlPlanePair:
    return pair.start_pair(
        assets=assets,
        workdir=workdir,
        apiserver_args=tuple(getattr(module, "APISERVER_ARGS", ())),
        watch_cache_sizes=tuple(getattr(module, "WATCH_CACHE_SIZES", ())),
    )


# While one module runs, the next module's pair starts in the background (a cold start is ~10 s
# of mostly waiting): only ever one pair ahead, so at most two pairs exist at a time.
_AHEAD = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="next-pair")
_STARTING: dict[str, concurrent.futures.Future[pair.ControlPlanePair]] = {}


def _next_module(request: pytest.FixtureRequest) -> Any:
    """The next selected module after this one whose tests use ``planes`` (or None)."""
    current = request.module
    seen_current = False
    for item in request.session.items:
        module = getattr(item, "module", None)
        if module is current:
            seen_current = True
        elif seen_current and "planes" in getattr(item, "fixturenames", ()):
            return module
    return None


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop pairs started ahead for modules that never ran (e.g. after ``-x``)."""
    for future in _STARTING.values():
        with contextlib.suppress(Exception):
            future.result().stop()
    _STARTING.clear()
    _AHEAD.shutdown(wait=True)


@pytest.fixture(scope="module")
def planes(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    control_plane_assets: Any,
) -> Iterator[pair.ControlPlanePair]:
    """This module's own upstream/downstream pair (never the session's shared one)."""
    module = request.module
    future = _STARTING.pop(module.__name__, None)
    following = _next_module(request)
    if following is not None and following.__name__ not in _STARTING:
        workdir = tmp_path_factory.mktemp(f"faults-{following.__name__.rsplit('.', 1)[-1]}")
        _STARTING[following.__name__] = _AHEAD.submit(
            _start, following, workdir, control_plane_assets
        )
    try:
        if future is not None:
            started = future.result()
        else:
            workdir = tmp_path_factory.mktemp(f"faults-{module.__name__.rsplit('.', 1)[-1]}")
            started = _start(module, workdir, control_plane_assets)
    except controlplane.ControlPlaneError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        rest = helpers.rest_for(started.upstream)
        try:
            install_syncer_crds(rest)
        finally:
            rest.close()
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def up(planes: pair.ControlPlanePair) -> Iterator[Any]:
    rest = helpers.rest_for(planes.upstream)
    yield rest
    rest.close()


@pytest.fixture(scope="module")
def down(planes: pair.ControlPlanePair) -> Iterator[Any]:
    rest = helpers.rest_for(planes.downstream)
    yield rest
    rest.close()


@pytest.fixture(autouse=True)
def clean_configs(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "up" in request.fixturenames:
        rest = request.getfixturevalue("up")
        with contextlib.suppress(errors.ApiError):
            helpers.delete_all_syncer_configs(rest)


@pytest.fixture
def syncer_procs(tmp_path: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    runner = helpers.SyncerProcesses(tmp_path)
    yield runner
    runner.stop_all()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        for proc in runner.procs:
            tail = "\n".join(proc.log().splitlines()[-40:])
            print(f"--- last lines of {proc.log_path} ---\n{tail}")  # noqa: T201


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
