"""pytest fixtures for tests against real control planes (loaded via the ``pytest11`` entry point).

Session-scoped, because a cold start of the pair costs seconds and the API servers are shared
safely by giving every test its own namespaces (``unique_name``):

- ``control_plane_assets``: the ``Assets`` (binaries), for tests that start their own
  ``ControlPlane`` (e.g. to break it);
- ``control_planes``: the started ``ControlPlanePair``, stopped at the end of the session, also
  when tests failed or were interrupted;
- ``upstream``, ``downstream``: its two ``ControlPlane`` objects;
- ``upstream_client``, ``downstream_client``: official-client ``ApiClient``s as the admin;
- ``unique_name`` (per test): a short DNS-1123 label, unique per test, for namespaces;
- ``pipeline_harness`` (per test, no clusters): ``syncpipe.testing.PipelineHarness`` itself,
  to call with the plugins and options under test (see ``syncpipe.testing.harness``).

Tests using them are marked ``apiserver`` automatically, so ``-m "not apiserver"`` runs the rest.

If the binaries cannot be found or built, the tests using these fixtures fail with the reason;
they never skip, because a skipped integration suite looks green while proving nothing.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from syncpipe.devenv.assets import Assets
    from syncpipe.devenv.controlplane import ControlPlane
    from syncpipe.devenv.pair import ControlPlanePair
    from syncpipe.testing.harness import PipelineHarness

CONTROL_PLANE_FIXTURES = frozenset(
    {
        "control_plane_assets",
        "control_planes",
        "upstream",
        "downstream",
        "upstream_client",
        "downstream_client",
    }
)
_STARTUP_KEY = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker, so ``--strict-markers`` accepts it in any project using the plugin."""
    config.addinivalue_line(
        "markers", "apiserver: needs the real upstream/downstream control planes"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a control-plane fixture with ``apiserver``."""
    for item in items:
        if CONTROL_PLANE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.apiserver)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say where the control planes ran and how long they took to start."""
    summary = config.stash.get(_STARTUP_KEY, None)
    if summary is not None:
        terminalreporter.write_sep("-", "syncpipe control planes")
        terminalreporter.write_line(summary)


def _progress(config: pytest.Config) -> Callable[[str], None]:
    """Write straight to the terminal (a first build takes minutes; captured, it looks hung)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")

    def emit(message: str) -> None:
        if reporter is None:
            return
        suspended = (
            capture.global_and_fixture_disabled()
            if capture is not None
            else contextlib.nullcontext()
        )
        with suspended:
            reporter.write_line(f"syncpipe: {message}")

    return emit


@pytest.fixture(scope="session")
def control_plane_assets(request: pytest.FixtureRequest) -> Assets:
    """The binaries, found or built once; a test that needs them fails if they cannot be had."""
    from syncpipe.devenv import assets

    try:
        return assets.ensure_assets(progress=_progress(request.config))
    except assets.AssetsError as exc:
        pytest.fail(f"control-plane binaries unavailable: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def control_planes(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    control_plane_assets: Assets,
) -> Iterator[ControlPlanePair]:
    """Start upstream and downstream once per session; stop them at its end."""
    from syncpipe.devenv import controlplane, pair

    workdir = tmp_path_factory.mktemp("control-planes")
    started = time.monotonic()
    try:
        planes = pair.start_pair(assets=control_plane_assets, workdir=workdir)
    except controlplane.ControlPlaneError as exc:
        pytest.fail(str(exc), pytrace=False)
    request.config.stash[_STARTUP_KEY] = (
        f"upstream {planes.upstream.server}, downstream {planes.downstream.server}: ready in "
        f"{time.monotonic() - started:.1f}s; work dirs and logs under {workdir}"
    )
    try:
        yield planes
    finally:
        planes.stop()


@pytest.fixture(scope="session")
def upstream(control_planes: ControlPlanePair) -> ControlPlane:
    """The upstream (mailbox workspace) control plane."""
    return control_planes.upstream


@pytest.fixture(scope="session")
def downstream(control_planes: ControlPlanePair) -> ControlPlane:
    """The downstream (edge cluster) control plane."""
    return control_planes.downstream


@pytest.fixture(scope="session")
def upstream_client(upstream: ControlPlane) -> Iterator[ApiClient]:
    """An official-client ``ApiClient`` for the upstream, as the admin."""
    from syncpipe.testing import clusters

    api = clusters.api_client(upstream)
    try:
        yield api
    finally:
        api.close()  # type: ignore[no-untyped-call]


@pytest.fixture(scope="session")
def downstream_client(downstream: ControlPlane) -> Iterator[ApiClient]:
    """An official-client ``ApiClient`` for the downstream, as the admin."""
    from syncpipe.testing import clusters

    api = clusters.api_client(downstream)
    try:
        yield api
    finally:
        api.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A short lowercase DNS-1123 label, unique per test: the test's name plus a random tail.

    The name part makes leftovers on a kept control plane traceable to their test; the random
    part keeps reruns and parametrized cases apart.
    """
    base = re.sub(r"^test_?", "", request.node.name.lower())
    base = re.sub(r"[^a-z0-9]+", "-", base).strip("-")[:40].strip("-")
    if not base or not base[0].isalpha():
        base = f"t{base}"
    return f"{base}-{secrets.token_hex(3)}"


@pytest.fixture
def pipeline_harness() -> type[PipelineHarness]:
    """The offline harness class: ``pipeline_harness(plugins={"name": plugin})`` gives a
    harness running the real pipeline over manifests, without clusters."""
    from syncpipe.testing.harness import PipelineHarness

    return PipelineHarness
