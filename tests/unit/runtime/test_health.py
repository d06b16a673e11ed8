"""The health server answers probes and scrapes on a real socket."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request

import prometheus_client
import pytest

from syncpipe.runtime.health import HealthServer, parse_address

EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - parsed, never bound


def fetch(server: HealthServer, path: str) -> tuple[int, str, str]:
    url = f"http://127.0.0.1:{server.port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


@pytest.fixture
def ready_flag():
    return threading.Event()


@pytest.fixture
def server(ready_flag):
    health = HealthServer("127.0.0.1:0", ready=ready_flag.is_set)
    health.start()
    yield health
    health.stop()


def test_healthz_is_ok_while_alive(server):
    status, content_type, body = fetch(server, "/healthz")
    assert (status, body) == (200, "ok\n")
    assert content_type.startswith("text/plain")


def test_readyz_follows_the_ready_callable(server, ready_flag):
    assert fetch(server, "/readyz")[0] == 503
    ready_flag.set()
    assert fetch(server, "/readyz")[:1] == (200,)
    ready_flag.clear()
    assert fetch(server, "/readyz")[0] == 503


def test_healthz_fails_when_the_loop_is_not_alive():
    alive = threading.Event()
    health = HealthServer("127.0.0.1:0", ready=lambda: True, alive=alive.is_set)
    health.start()
    try:
        assert fetch(health, "/healthz")[0] == 503
        alive.set()
        assert fetch(health, "/healthz")[0] == 200
    finally:
        health.stop()


def test_a_check_that_raises_answers_503_instead_of_dropping_the_probe():
    def broken() -> bool:
        raise RuntimeError("boom")

    health = HealthServer("127.0.0.1:0", ready=broken)
    health.start()
    try:
        assert fetch(health, "/readyz")[0] == 503
    finally:
        health.stop()


def test_metrics_serves_the_default_prometheus_registry(server):
    counter = prometheus_client.Counter(
        "syncpipe_test_health_probe_total", "A counter only this test registers."
    )
    try:
        counter.inc(3)
        status, content_type, body = fetch(server, "/metrics")
        assert status == 200
        assert content_type == prometheus_client.CONTENT_TYPE_LATEST
        assert "syncpipe_test_health_probe_total 3.0" in body
    finally:
        prometheus_client.REGISTRY.unregister(counter)


def test_unknown_paths_are_404(server):
    assert fetch(server, "/nope")[0] == 404


def test_port_zero_picks_a_free_port_and_stop_releases_it(ready_flag):
    first = HealthServer("127.0.0.1:0", ready=ready_flag.is_set)
    first.start()
    port = first.port
    assert port > 0
    first.stop()
    first.stop()  # twice is fine
    again = HealthServer(f"127.0.0.1:{port}", ready=ready_flag.is_set)
    again.start()
    try:
        assert again.port == port
        assert fetch(again, "/healthz")[0] == 200
    finally:
        again.stop()


def test_port_is_unknown_before_start():
    with pytest.raises(RuntimeError):
        _ = HealthServer("127.0.0.1:0", ready=lambda: True).port


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("0.0.0.0:8080", (EVERY_INTERFACE, 8080)),
        (":8080", (EVERY_INTERFACE, 8080)),
        ("[::]:9000", ("::", 9000)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_parse_address(address, expected):
    assert parse_address(address) == expected


@pytest.mark.parametrize("address", ["8080", "host:", "host:http", "h:70000"])
def test_parse_address_rejects_garbage(address):
    with pytest.raises(ValueError, match="health address"):
        parse_address(address)
