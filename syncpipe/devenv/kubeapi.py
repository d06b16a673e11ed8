"""The few API calls a local control plane needs about itself, over plain HTTPS.

This is deliberately not the official client: ``syncpipe.devenv`` is imported by the CLI, and
the import contracts allow the ``kubernetes`` package only in ``syncpipe.clients`` (and keep the
CLI's startup fast). Readiness probes, creating a namespace or ServiceAccount and the
TokenRequest call are a handful of JSON requests; urllib3 with the control plane's CA does them
with full TLS verification.

Also writes kubeconfig files, the format every Kubernetes client reads.
"""

from __future__ import annotations

import base64
import json
import ssl
from pathlib import Path
from typing import Any

import attrs
import urllib3
import yaml


@attrs.frozen(kw_only=True)
class Response:
    """Status and decoded body of one request (``body`` is ``{"raw": text}`` if not JSON)."""

    status: int
    body: dict[str, Any]


class KubeApi:
    """A bearer-token HTTPS client for one API server, verifying its certificate."""

    def __init__(self, *, server: str, ca_pem: bytes, token: str) -> None:
        self.server = server.rstrip("/")
        self._token = token
        context = ssl.create_default_context(cadata=ca_pem.decode())
        self._pool = urllib3.PoolManager(
            ssl_context=context,
            # A stalled server must not hang a readiness probe; retries are the caller's loop.
            timeout=urllib3.Timeout(connect=2.0, read=10.0),
            retries=False,
            maxsize=4,
        )

    @classmethod
    def from_kubeconfig(cls, path: Path) -> KubeApi:
        """A client for the current context of a kubeconfig written by ``kubeconfig`` below."""
        config = yaml.safe_load(path.read_text())
        context = next(c for c in config["contexts"] if c["name"] == config["current-context"])
        cluster = next(c for c in config["clusters"] if c["name"] == context["context"]["cluster"])
        user = next(u for u in config["users"] if u["name"] == context["context"]["user"])
        return cls(
            server=cluster["cluster"]["server"],
            ca_pem=base64.b64decode(cluster["cluster"]["certificate-authority-data"]),
            token=user["user"]["token"],
        )

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Response:
        """Send one request; connection errors propagate as ``urllib3.exceptions.HTTPError``."""
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        payload = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            payload = json.dumps(body).encode()
        answer = self._pool.request(method, self.server + path, body=payload, headers=headers)
        text = answer.data.decode(errors="replace")
        try:
            decoded = json.loads(text)
        except ValueError:
            decoded = None
        return Response(
            status=answer.status,
            body=decoded if isinstance(decoded, dict) else {"raw": text},
        )

    def create(self, path: str, body: dict[str, Any]) -> Response:
        """POST ``body``; an ``AlreadyExists`` (409) answer counts as success."""
        answer = self.request("POST", path, body)
        if answer.status not in {200, 201, 409}:
            raise ApiCallFailed(f"POST {path}", answer)
        return answer

    def close(self) -> None:
        """Drop pooled connections."""
        self._pool.clear()


class ApiCallFailed(RuntimeError):
    """A control-plane setup call got an unexpected answer."""

    def __init__(self, what: str, answer: Response) -> None:
        self.answer = answer
        message = answer.body.get("message") or answer.body.get("raw", "")
        super().__init__(f"{what}: HTTP {answer.status}: {str(message)[:500]}")


def kubeconfig(*, name: str, server: str, ca_pem: bytes, token: str) -> dict[str, Any]:
    """A one-cluster, one-user kubeconfig with the CA inline, as kubectl would write it."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": name,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                },
            }
        ],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "preferences": {},
    }


def write_kubeconfig(path: Path, config: dict[str, Any]) -> Path:
    """Write a kubeconfig readable by its owner only (it holds a bearer token)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
