"""Raw REST access on plain dicts: the hot path never builds client model objects.

The official client turns 1,000 listed objects into typed models at ~25k objects/s but raw
JSON parses at ~200k/s with orjson, so this module uses the client only for what it is good
at (kubeconfig, TLS, auth, the urllib3 pool) and sends and reads JSON itself.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import orjson
import urllib3
from kubernetes import client as k8s_client

import syncpipe
from syncpipe import errors
from syncpipe.clients import errors as client_errors
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import GroupVersionResource

log = logging.getLogger(__name__)

JSON = "application/json"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"

# A request that has not answered in this long is treated as a dead connection.
REQUEST_TIMEOUT = urllib3.Timeout(connect=10.0, read=60.0)
# How long a bearer token read from the configuration is reused before asking it again.
AUTH_REFRESH = 60.0
# Page size for lists: large enough to be cheap, small enough to bound one response's memory.
LIST_PAGE_SIZE = 500


def collection_path(gvr: GroupVersionResource, namespace: str = "") -> str:
    """``/api/v1/namespaces/ns/configmaps`` or ``/apis/apps/v1/deployments``."""
    base = f"/apis/{gvr.group}/{gvr.version}" if gvr.group else f"/api/{gvr.version}"
    if namespace:
        base += f"/namespaces/{quote(namespace, safe='')}"
    return f"{base}/{gvr.resource}"


def object_path(gvr: GroupVersionResource, namespace: str, name: str, subresource: str = "") -> str:
    path = f"{collection_path(gvr, namespace)}/{quote(name, safe='')}"
    return f"{path}/{subresource}" if subresource else path


class Throttle(Protocol):
    """A client-side rate limit (``--qps``/``--burst``): the part of it this client uses."""

    def wait(self) -> float:
        """Block until the next request may be sent; return the seconds waited."""
        ...


# A wait for the client-side rate limit this long is worth an INFO line (client-go logs
# "Waited for ... due to client-side throttling" from the same length on).
THROTTLE_LOG_AFTER = 1.0


class RestClient:
    """One API server: JSON requests with the kubeconfig's TLS and credentials."""

    def __init__(
        self,
        configuration: k8s_client.Configuration,
        *,
        label: str = "",
        throttle: Throttle | None = None,
    ) -> None:
        self.configuration = configuration
        self.label = label
        self.throttle = throttle
        self._api_client = k8s_client.ApiClient(configuration)
        self._pool: urllib3.PoolManager = self._api_client.rest_client.pool_manager
        self.host = str(configuration.host).rstrip("/")
        # The connection pool of the API server, looked up once: going through the pool
        # manager parses the URL and normalises a pool key on every request (~10 % of a
        # request's CPU). Not through a proxy, whose pool may want absolute URLs.
        self._server_pool: urllib3.HTTPConnectionPool | None = None
        self._base_path = ""
        if not isinstance(self._pool, urllib3.ProxyManager):
            parsed = urllib3.util.parse_url(self.host)
            self._server_pool = self._pool.connection_from_url(self.host)
            self._base_path = (parsed.path or "").rstrip("/")
        self._user_agent = f"syncpipe/{syncpipe.__version__}"
        self._lock = threading.Lock()
        self.requests_by_verb: dict[str, int] = {}
        # Every write names syncpipe as its field manager, so managedFields tell our changes
        # from another writer's (and a fight can name the other writer).
        self.field_manager = "syncpipe"
        self._auth_value: str | None = None
        self._auth_expires = 0.0

    def close(self) -> None:
        self._pool.clear()

    def _authorization(self) -> str | None:
        """The bearer header, re-read from the configuration at most every ``AUTH_REFRESH``.

        ``auth_settings()`` runs the client's token refresh hook (exec plugins, rotated
        ServiceAccount tokens), which costs ~80 µs; per request that was a tenth of the syncer's
        CPU. A 401 forces a fresh read (``_forget_authorization``).
        """
        now = time.monotonic()
        with self._lock:
            if now < self._auth_expires:
                return self._auth_value
        auth = self.configuration.auth_settings().get("BearerToken")
        value = str(auth["value"]) if auth and auth.get("value") else None
        with self._lock:
            self._auth_value = value
            self._auth_expires = now + AUTH_REFRESH
        return value

    def _forget_authorization(self) -> None:
        with self._lock:
            self._auth_expires = 0.0

    def _headers(self, content_type: str | None) -> dict[str, str]:
        headers = {"Accept": JSON, "User-Agent": self._user_agent}
        if content_type:
            headers["Content-Type"] = content_type
        authorization = self._authorization()
        if authorization:
            headers["Authorization"] = authorization
        return headers

    def _manager(self) -> dict[str, str]:
        return {"fieldManager": self.field_manager}

    def _count(self, verb: str) -> None:
        with self._lock:
            self.requests_by_verb[verb] = self.requests_by_verb.get(verb, 0) + 1

    def raw(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str | None = None,
        timeout: urllib3.Timeout | float | None = None,
        stream: bool = False,
    ) -> urllib3.BaseHTTPResponse:
        """Send one request; raise the translated error for a non-2xx answer."""
        if self.throttle is not None:
            waited = self.throttle.wait()
            if waited >= THROTTLE_LOG_AFTER:
                log.info(
                    "waited %.1fs for the client-side rate limit (--qps/--burst) before %s %s "
                    "on the %s server",
                    waited,
                    method,
                    path,
                    self.label or "API",
                )
        target = path
        if query:
            target += "?" + urlencode({k: v for k, v in query.items() if v not in (None, "")})
        payload = None if body is None else orjson.dumps(body)
        if payload is not None and content_type is None:
            content_type = JSON
        opener: urllib3.PoolManager | urllib3.HTTPConnectionPool
        if self._server_pool is not None:
            opener, url = self._server_pool, self._base_path + target
        else:
            opener, url = self._pool, self.host + target
        try:
            response = opener.urlopen(
                method,
                url,
                body=payload,
                headers=self._headers(content_type),
                timeout=timeout or REQUEST_TIMEOUT,
                preload_content=False,
                retries=False,
                redirect=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise errors.ApiUnreachable(
                f"{method} {self.host}{path}: cannot reach the {self.label or 'API'} server: {exc}"
            ) from exc
        if response.status >= 400:
            data = response.read()
            response.release_conn()
            if response.status == 401:
                self._forget_authorization()
            raise client_errors.error_for(
                status=response.status,
                body=data,
                method=method,
                path=f"{path} on the {self.label or 'API'} server {self.host}",
                retry_after=response.headers.get("Retry-After"),
            )
        if not stream:
            response.read(cache_content=True)  # .data serves it afterwards
            response.release_conn()
        return response

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON answer (``None`` for an empty body)."""
        response = self.raw(method, path, query=query, body=body, content_type=content_type)
        data = response.data
        return orjson.loads(data) if data else None

    def discovery(self, path: str) -> Any:
        """One discovery document (``/api``, ``/apis``, ``/apis/<group>/<version>``), counted
        as ``discovery`` in ``requests_by_verb``."""
        self._count("discovery")
        return self.request("GET", path)

    # -- object verbs -------------------------------------------------------------------------

    def get(self, gvr: GroupVersionResource, namespace: str, name: str) -> RawObject:
        self._count("get")
        result: RawObject = self.request("GET", object_path(gvr, namespace, name))
        return result

    def get_or_none(self, gvr: GroupVersionResource, namespace: str, name: str) -> RawObject | None:
        try:
            return self.get(gvr, namespace, name)
        except errors.ApiNotFound:
            return None

    def list(
        self,
        gvr: GroupVersionResource,
        namespace: str = "",
        *,
        resource_version: str = "",
        label_selector: str = "",
        field_selector: str = "",
    ) -> tuple[list[RawObject], str]:
        """Every object of the collection (paginated) and the list's resourceVersion.

        ``kind`` and ``apiVersion`` are filled on every item: list items omit them, and the
        pipeline needs complete objects.
        """
        self._count("list")
        items: list[RawObject] = []
        token = ""
        list_rv = ""
        while True:
            query: dict[str, Any] = {"limit": LIST_PAGE_SIZE, "continue": token}
            if label_selector:
                query["labelSelector"] = label_selector
            if field_selector:
                query["fieldSelector"] = field_selector
            if resource_version and not token:
                query["resourceVersion"] = resource_version
            page = self.request("GET", collection_path(gvr, namespace), query=query)
            kind = str(page.get("kind", "")).removesuffix("List")
            api_version = page.get("apiVersion", gvr.api_version)
            for item in page.get("items") or ():
                item.setdefault("kind", kind)
                item.setdefault("apiVersion", api_version)
                items.append(item)
            meta = page.get("metadata") or {}
            list_rv = meta.get("resourceVersion", list_rv)
            token = meta.get("continue") or ""
            if not token:
                return items, str(list_rv)

    def any_exists(self, gvr: GroupVersionResource, *, label_selector: str = "") -> bool:
        """Whether the collection holds at least one (matching) object: a list of one item."""
        self._count("list")
        query: dict[str, Any] = {"limit": 1}
        if label_selector:
            query["labelSelector"] = label_selector
        page = self.request("GET", collection_path(gvr, ""), query=query)
        return bool(page.get("items"))

    def create(self, gvr: GroupVersionResource, namespace: str, body: RawObject) -> RawObject:
        self._count("create")
        result: RawObject = self.request(
            "POST", collection_path(gvr, namespace), body=body, query=self._manager()
        )
        return result

    def replace(
        self,
        gvr: GroupVersionResource,
        namespace: str,
        name: str,
        body: RawObject,
        subresource: str = "",
    ) -> RawObject:
        self._count("update")
        path = object_path(gvr, namespace, name, subresource)
        result: RawObject = self.request("PUT", path, body=body, query=self._manager())
        return result

    def json_patch(
        self,
        gvr: GroupVersionResource,
        namespace: str,
        name: str,
        ops: Sequence[dict[str, Any]],
        subresource: str = "",
    ) -> RawObject:
        self._count("patch")
        path = object_path(gvr, namespace, name, subresource)
        result: RawObject = self.request(
            "PATCH", path, body=list(ops), content_type=JSON_PATCH, query=self._manager()
        )
        return result

    def merge_patch(
        self,
        gvr: GroupVersionResource,
        namespace: str,
        name: str,
        patch: RawObject,
        subresource: str = "",
    ) -> RawObject:
        self._count("patch")
        path = object_path(gvr, namespace, name, subresource)
        result: RawObject = self.request(
            "PATCH", path, body=patch, content_type=MERGE_PATCH, query=self._manager()
        )
        return result

    def delete(
        self, gvr: GroupVersionResource, namespace: str, name: str, *, uid: str = ""
    ) -> None:
        """Delete, with a UID precondition when ``uid`` is given (never a newer namesake)."""
        self._count("delete")
        body: dict[str, Any] = {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "propagationPolicy": "Background",
        }
        if uid:
            body["preconditions"] = {"uid": uid}
        self.request("DELETE", object_path(gvr, namespace, name), body=body)

    def watch(
        self,
        gvr: GroupVersionResource,
        namespace: str = "",
        *,
        resource_version: str,
        timeout_seconds: int,
        allow_bookmarks: bool = True,
        label_selector: str = "",
        field_selector: str = "",
    ) -> WatchStream:
        """Open a watch; iterate the returned stream for ``(type, object)`` pairs."""
        self._count("watch")
        query = {
            "fieldSelector": field_selector,
            "watch": "1",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true" if allow_bookmarks else "",
            "timeoutSeconds": str(timeout_seconds),
            "labelSelector": label_selector,
        }
        # The read timeout outlives the server-side timeout so a silent dead connection is
        # detected, while an idle healthy watch is ended by the server first.
        timeout = urllib3.Timeout(connect=10.0, read=timeout_seconds + 30.0)
        response = self.raw(
            "GET", collection_path(gvr, namespace), query=query, timeout=timeout, stream=True
        )
        return WatchStream(response, what=f"{self.label} {gvr}")


class WatchStream:
    """The events of one watch request, as ``(type, object)`` pairs; ``close()`` from any thread."""

    def __init__(self, response: urllib3.BaseHTTPResponse, *, what: str) -> None:
        self._response = response
        self._what = what
        self._closed = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        shutdown = getattr(self._response, "shutdown", None)
        try:
            if shutdown is not None:
                shutdown()  # unblocks a reader in another thread
        except (OSError, ValueError, urllib3.exceptions.HTTPError):
            pass  # already finished or not connected: nothing to unblock
        with contextlib.suppress(OSError, ValueError, urllib3.exceptions.HTTPError):
            self._response.release_conn()

    def __iter__(self) -> Iterator[tuple[str, RawObject]]:
        buffer = b""
        try:
            for chunk in self._response.stream(64 * 1024, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield self._decode(line)
            if buffer.strip():
                yield self._decode(buffer)
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            if self._closed:
                return
            raise errors.ApiUnreachable(f"watch of {self._what} broke: {exc}") from exc
        finally:
            self._closed = True
            with contextlib.suppress(OSError, ValueError, urllib3.exceptions.HTTPError):
                self._response.release_conn()

    def _decode(self, line: bytes) -> tuple[str, RawObject]:
        event = orjson.loads(line)
        kind = str(event.get("type", ""))
        obj = event.get("object") or {}
        if kind == "ERROR":
            code = int(obj.get("code") or 500)
            raise client_errors.error_for(
                status=code, body=orjson.dumps(obj), method="WATCH", path=self._what
            )
        return kind, obj
