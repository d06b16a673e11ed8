"""The one exception hierarchy of syncpipe.

Retry decisions are made by type, in one place (the controller's error handler), never by
message text: ``RetryableError`` and the transient ``Api*`` errors are requeued with backoff,
``TerminalError`` and ``ApiInvalid`` are reported and forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class SyncpipeError(Exception):
    """Base of every error syncpipe raises on purpose."""


class ConfigError(SyncpipeError):
    """A SyncerConfig, EdgeSyncConfig or setting is malformed.

    ``problems`` holds ``(json_path, message)`` pairs, so every problem is reported with its place.
    """

    def __init__(self, problems: Iterable[tuple[str, str]], *, source: str = "") -> None:
        self.problems = tuple(problems)
        self.source = source
        lines = [f"{message} @ {path}" for path, message in self.problems]
        prefix = f"{source}: " if source else ""
        super().__init__(prefix + ("; ".join(lines) or "invalid configuration"))


class PluginError(SyncpipeError):
    """A plugin misbehaved; ``plugin`` names it, ``distribution`` the package that installed it
    (``name version``) where known."""

    def __init__(self, message: str, *, plugin: str, distribution: str = "") -> None:
        self.plugin = plugin
        self.distribution = distribution
        installed = f" ({distribution})" if distribution else ""
        super().__init__(f"plugin {plugin!r}{installed}: {message}")


class PluginLoadError(PluginError):
    """An entry point failed to import, to configure, or does not match the hook specifications."""


class PluginOptionError(PluginError):
    """A ``--plugin-opt`` names an unknown plugin or key, or its value does not parse."""


class ObjectHookError(PluginError):
    """A per-object hook raised or answered in the wrong shape: the object is rejected.

    It is reported (Event, ``ObjectsRejected``, ``syncpipe_object_rejected``) and tried again at
    the object's next change or resync, never in a loop. ``subject`` is the object's key, or the
    resource for hooks asked once per resource.
    """

    def __init__(self, message: str, *, plugin: str, hook: str, subject: object) -> None:
        self.hook = hook
        self.subject = subject
        super().__init__(f"{hook} failed on {subject}: {message}", plugin=plugin)


class TransformError(ObjectHookError):
    """A transform raised or returned something other than an object."""

    def __init__(self, message: str, *, plugin: str, transform: str, key: object) -> None:
        self.transform = transform
        self.key = key
        super().__init__(message, plugin=plugin, hook=f"transform {transform!r}", subject=key)


class ApiError(SyncpipeError):
    """An error answer from an API server, translated in ``syncpipe.clients.errors``."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        reason: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.reason = reason
        self.details = details or {}
        super().__init__(message)


class ApiUnauthorized(ApiError):
    """401: the credentials were not accepted."""


class ApiForbidden(ApiError):
    """403: RBAC does not allow the request."""


class ApiNotFound(ApiError):
    """404: the object, or the resource itself, is not there."""


class ApiAlreadyExists(ApiError):
    """409 AlreadyExists: a create found a namesake."""


class ApiConflict(ApiError):
    """409 Conflict: a precondition (resourceVersion, UID) no longer holds."""


class ApiResourceExpired(ApiError):
    """410 Gone: a watch or list resourceVersion is too old; relist."""


class ApiInvalid(ApiError):
    """422: the object was rejected by validation."""


class ApiTooManyRequests(ApiError):
    """429: throttled; ``retry_after`` seconds when the server said so."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class ApiServerError(ApiError):
    """5xx: the server failed; retry."""


class ApiUnreachable(ApiError):
    """No answer at all: connection refused, TLS failure, timeout."""


class RetryableError(SyncpipeError):
    """Try again later; ``delay`` is a hint in seconds."""

    def __init__(self, message: str, *, delay: float | None = None) -> None:
        self.delay = delay
        super().__init__(message)


class TerminalError(SyncpipeError):
    """Never requeued: reported as a condition/Event and forgotten until the object changes."""


class OwnershipConflict(TerminalError):
    """A same-named object exists on the target side that this syncer did not create."""


class DeletionRefused(TerminalError):
    """The deletion circuit breaker held back deletions inferred from a suspicious view."""


class SelectionConflict(TerminalError):
    """The same object is selected for downsync and for upsync."""


class BootstrapError(SyncpipeError):
    """``syncer-gen`` could not finish, e.g. no token controller filled the token Secret."""


class SnapshotFormatError(SyncpipeError):
    """An unreadable snapshot, or one of an unsupported format version."""
