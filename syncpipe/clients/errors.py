"""Translate API server answers into syncpipe's error classes, in one place.

Only ``kind: Status`` bodies are kept (their ``message``/``reason``/``details``); other bodies are
truncated so a misbehaving proxy cannot flood the logs.
"""

from __future__ import annotations

from typing import Any

import orjson

from syncpipe import errors

_MAX_TEXT = 300  # characters of a non-Status body kept in an error message

_BY_STATUS: dict[int, type[errors.ApiError]] = {
    401: errors.ApiUnauthorized,
    403: errors.ApiForbidden,
    404: errors.ApiNotFound,
    410: errors.ApiResourceExpired,
    422: errors.ApiInvalid,
    429: errors.ApiTooManyRequests,
}


def parse_status_body(raw: bytes | str | None) -> dict[str, Any]:
    """The ``Status`` object in an error body, or ``{}`` when the body is something else."""
    if not raw:
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) and body.get("kind") == "Status" else {}


def error_for(
    *,
    status: int,
    body: bytes | str | None,
    method: str,
    path: str,
    retry_after: str | None = None,
) -> errors.ApiError:
    """The syncpipe error for an HTTP error answer to ``method path``."""
    parsed = parse_status_body(body)
    reason = str(parsed.get("reason") or "")
    if parsed:
        message = str(parsed.get("message") or reason or status)
    else:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
        message = text[:_MAX_TEXT] or f"HTTP {status}"
    details = parsed.get("details") if isinstance(parsed.get("details"), dict) else None
    full = f"{method} {path}: {status} {reason}: {message}".replace(":  :", ":")
    cls: type[errors.ApiError]
    if status == 409:
        cls = errors.ApiAlreadyExists if reason == "AlreadyExists" else errors.ApiConflict
    elif status >= 500:
        cls = errors.ApiServerError
    else:
        cls = _BY_STATUS.get(status, errors.ApiError)
    if cls is errors.ApiTooManyRequests:
        delay: float | None = None
        if retry_after:
            try:
                delay = float(retry_after)
            except ValueError:
                delay = None
        return errors.ApiTooManyRequests(
            full, retry_after=delay, status=status, reason=reason, details=details
        )
    return cls(full, status=status, reason=reason, details=details)
