"""Liveness, readiness and metrics over HTTP: what a kubelet's probes and Prometheus scrape.

``/healthz`` answers 200 while ``alive()`` says the process loop is still turning (a wedged
control loop should get the pod restarted), ``/readyz`` answers 200 once ``ready()`` says the
initial sync is done and 503 before, and ``/metrics`` serves the default Prometheus registry.

The standard library's ``ThreadingHTTPServer`` is enough: three fixed paths, tiny answers, a
probe every few seconds. A web framework would add a dependency and an event loop for nothing.
Each request runs on its own daemon thread, so a slow scrape never delays a probe.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import prometheus_client

log = logging.getLogger(__name__)

PLAIN_TEXT = "text/plain; charset=utf-8"


def parse_address(address: str) -> tuple[str, int]:
    """``"0.0.0.0:8080"`` → ``("0.0.0.0", 8080)``; ``"[::]:8080"`` and ``":8080"`` work too.

    An empty host means every interface (as Go's ``net.Listen`` reads ``":8080"``).
    """
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"health address {address!r} is not HOST:PORT")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ValueError(f"health address {address!r}: port out of range")
    host = host.removeprefix("[").removesuffix("]")
    return host or "0.0.0.0", port  # noqa: S104 - an explicit ":PORT" asks for every interface


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Restarting the syncer must not fail on a port in TIME_WAIT from the previous process.
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        ready: Callable[[], bool],
        alive: Callable[[], bool],
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6  # an IPv6 literal such as "::"
        super().__init__(address, _Handler)
        self.ready = ready
        self.alive = alive


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "syncpipe-health"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._answer_check(self.server.alive, "alive")
        elif path == "/readyz":
            self._answer_check(self.server.ready, "ready")
        elif path == "/metrics":
            body = prometheus_client.generate_latest(prometheus_client.REGISTRY)
            self._send(200, body, prometheus_client.CONTENT_TYPE_LATEST)
        else:
            self._send(404, b"not found\n", PLAIN_TEXT)

    def _answer_check(self, check: Callable[[], bool], what: str) -> None:
        try:
            ok = bool(check())
        except Exception:
            # A probe must get an answer, never a dropped connection: a broken check is "no".
            log.exception("health check %r raised", what)
            ok = False
        if ok:
            self._send(200, b"ok\n", PLAIN_TEXT)
        else:
            self._send(503, f"not {what}\n".encode(), PLAIN_TEXT)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # Probes arrive every few seconds: one line each on stderr would drown the syncer's logs.
        log.debug("health: " + format, *args)  # noqa: G003 - the stdlib hands us a %-format


class HealthServer:
    """``/healthz``, ``/readyz`` and ``/metrics`` on ``address`` (``HOST:PORT``; port 0 = any free).

    ``ready`` and ``alive`` are called on every probe, from the server's threads: they must be
    cheap and thread-safe (reading a ``threading.Event`` is both).
    """

    def __init__(
        self,
        address: str,
        ready: Callable[[], bool],
        alive: Callable[[], bool] = lambda: True,
    ) -> None:
        self.address = address
        self._bind = parse_address(address)
        self._ready = ready
        self._alive = alive
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one picked, when the address asked for port 0)."""
        if self._server is None:
            raise RuntimeError("the health server is not started")
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Bind and serve on a daemon thread; raises ``OSError`` if the address is taken."""
        if self._server is not None:
            return
        self._server = _Server(self._bind, ready=self._ready, alive=self._alive)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="health",
            daemon=True,
        )
        self._thread.start()
        log.info("serving /healthz, /readyz and /metrics on %s", self.address)

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
