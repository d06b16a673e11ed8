"""A loopback TCP forwarder that can be partitioned: the network fault of the fault suite.

``TcpProxy(("127.0.0.1", apiserver_port))`` listens on ``127.0.0.1:<port>`` and forwards every
connection byte for byte to the target. TLS goes through untouched (the client talks TLS with
the API server itself), and the control planes' serving certificates are issued for the IP
``127.0.0.1``, so a kubeconfig pointing at the proxy still verifies the server.

- ``partition()``: every live connection is reset (RST, so clients fail at once instead of
  waiting for a timeout) and new connections are accepted and reset immediately, until
- ``heal()``: new connections are forwarded again.
- ``reset()``: live connections are reset, new ones forwarded (e.g. to end a watch now);
- ``retarget(address)``: new connections go elsewhere (e.g. from a server whose certificate the
  client's CA did not sign to the right one); live ones are reset.

Everything runs on daemon threads of this process; ``stop()`` closes the listener and every
connection and joins the threads. Counters (``accepted``, ``refused``, ``forwarded``) let tests
see what the client tried.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
from types import TracebackType
from typing import Self

Address = tuple[str, int]

_BUFFER = 64 * 1024


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` with an RST (SO_LINGER 0) rather than a FIN: the peer fails at once."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class _Pair:
    """One forwarded connection: client socket ↔ upstream socket, pumped by one thread."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self._closed = threading.Event()
        self.thread = threading.Thread(target=self._pump, name="proxy-pump", daemon=True)

    def _pump(self) -> None:
        peer = {self.client: self.upstream, self.upstream: self.client}
        with selectors.DefaultSelector() as sel:
            for sock in peer:
                sock.setblocking(False)
                sel.register(sock, selectors.EVENT_READ)
            while not self._closed.is_set():
                try:
                    ready = sel.select(timeout=0.2)
                except (OSError, ValueError):
                    break
                for key, _ in ready:
                    src = key.fileobj
                    assert isinstance(src, socket.socket)
                    try:
                        data = src.recv(_BUFFER)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        self.close()
                        return
                    try:
                        peer[src].setblocking(True)
                        peer[src].sendall(data)
                        peer[src].setblocking(False)
                    except OSError:
                        self.close()
                        return
        self.close()

    def close(self, *, reset: bool = False) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        for sock in (self.client, self.upstream):
            if reset:
                _reset(sock)
            else:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()


class TcpProxy:
    """Forward ``127.0.0.1:port`` → ``target``; ``partition()``/``heal()`` cut and restore it."""

    def __init__(self, target: Address, *, port: int = 0, host: str = "127.0.0.1") -> None:
        self._target = target
        self._lock = threading.Lock()
        self._pairs: list[_Pair] = []
        self._partitioned = False
        self._stopping = threading.Event()
        self.accepted = 0  # connections accepted (forwarded or reset)
        self.refused = 0  # connections reset because of a partition or an unreachable target
        self.forwarded = 0  # connections forwarded to the target
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, port))
        self._listener.listen(128)
        self._listener.settimeout(0.2)
        self.host = host
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, name="proxy-accept", daemon=True)

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def partitioned(self) -> bool:
        return self._partitioned

    def start(self) -> Self:
        self._thread.start()
        return self

    def live_connections(self) -> int:
        with self._lock:
            self._pairs = [p for p in self._pairs if not p.closed]
            return len(self._pairs)

    def partition(self) -> None:
        """Reset every live connection and refuse new ones until ``heal()``."""
        with self._lock:
            self._partitioned = True
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            pair.close(reset=True)

    def heal(self) -> None:
        """Forward new connections again."""
        with self._lock:
            self._partitioned = False

    def reset(self) -> None:
        """Reset every live connection (clients reconnect at once: nothing is refused)."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            pair.close(reset=True)

    def retarget(self, target: Address) -> None:
        """Send new connections to ``target``; live connections are reset."""
        with self._lock:
            self._target = target
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            pair.close(reset=True)

    def stop(self) -> None:
        """Close the listener and every connection; join the threads."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            pair.close(reset=True)
        for pair in pairs:
            pair.thread.join(timeout=2.0)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._lock:
                self.accepted += 1
                partitioned = self._partitioned
                target = self._target
            if partitioned:
                with self._lock:
                    self.refused += 1
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(target, timeout=5.0)
                upstream.settimeout(None)
            except OSError:
                with self._lock:
                    self.refused += 1
                _reset(client)
                continue
            pair = _Pair(client, upstream)
            with self._lock:
                if self._partitioned or self._stopping.is_set():
                    self.refused += 1
                    pair.close(reset=True)
                    continue
                self.forwarded += 1
                self._pairs.append(pair)
            pair.thread.start()
