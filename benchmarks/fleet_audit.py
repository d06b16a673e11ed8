"""Who asked an API server for what: its audit log, per syncer, for ``fleet.py``.

Why not ``/metrics``: Kubernetes 1.20's ``apiserver_request_total`` has no client label, so the
controller managers' and the API server's own traffic (lease renewals, priority-and-fairness
config checks every few seconds) had to be subtracted as a baseline rate, which left more
noise than a converged syncer's few requests; and discovery (``/api``, ``/apis``, every group
version) is not counted there at all, although it was most of a syncer's requests at rest.

Here every syncer gets its own ServiceAccount (``fleet-syncers/<edge>``), and each API server
audits only that namespace's ServiceAccounts (``POLICY``), as JSON lines on its standard output
(``--audit-log-path=-``), which ``syncpipe.devenv`` appends to ``logs/kube-apiserver.log``.
Every request is one ``RequestReceived`` event; a watch also has its ``ResponseComplete``
event when it ends, so the watches open right now are the received ones not yet complete.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

AUDITED_NAMESPACE = "fleet-syncers"
POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "rules": [
        {
            "level": "Metadata",
            "userGroups": [f"system:serviceaccounts:{AUDITED_NAMESPACE}"],
            "verbs": ["watch"],
            "omitStages": ["ResponseStarted", "Panic"],
        },
        {
            "level": "Metadata",
            "userGroups": [f"system:serviceaccounts:{AUDITED_NAMESPACE}"],
            "omitStages": ["ResponseStarted", "ResponseComplete", "Panic"],
        },
        {"level": "None"},
    ],
}
USER_PREFIX = f"system:serviceaccount:{AUDITED_NAMESPACE}:"
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
DISCOVERY = "(discovery)"
NON_RESOURCE = "(non-resource)"
EVENT_START = b'{"kind":"Event"'

# (syncer, verb, resource[/subresource] or DISCOVERY/NON_RESOURCE) -> requests
Counts = dict[tuple[str, str, str], int]


def apiserver_args(policy_file: pathlib.Path) -> list[str]:
    return [f"--audit-policy-file={policy_file}", "--audit-log-path=-", "--audit-log-format=json"]


def _resource(event: Mapping[str, Any]) -> str:
    ref = event.get("objectRef") or {}
    resource = ref.get("resource", "")
    if not resource:
        uri = str(event.get("requestURI", ""))
        return DISCOVERY if uri.startswith(("/api", "/apis")) else NON_RESOURCE
    subresource = ref.get("subresource", "")
    return f"{resource}/{subresource}" if subresource else str(resource)


@dataclass(frozen=True)
class Snapshot:
    """Requests so far and watches open, at ``at`` (monotonic seconds)."""

    at: float
    requests: Counts
    watches: dict[tuple[str, str], int]  # (syncer, resource) -> open watches


@dataclass
class AuditLog:
    """One API server's audit events, read incrementally from the file it appends them to."""

    path: pathlib.Path
    _offset: int = 0
    _requests: Counts = field(default_factory=dict)
    _open: dict[str, tuple[str, str]] = field(default_factory=dict)  # auditID -> watch

    def snapshot(self, at: float) -> Snapshot:
        self._read()
        watches: dict[tuple[str, str], int] = {}
        for key in self._open.values():
            watches[key] = watches.get(key, 0) + 1
        return Snapshot(at=at, requests=dict(self._requests), watches=watches)

    def _read(self) -> None:
        with self.path.open("rb") as log:
            log.seek(self._offset)
            data = log.read()
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next read
        self._offset += end
        for line in data[:end].splitlines():
            if line.startswith(EVENT_START):
                self._count(orjson.loads(line))

    def _count(self, event: Mapping[str, Any]) -> None:
        user = str((event.get("user") or {}).get("username", ""))
        if not user.startswith(USER_PREFIX):
            return
        syncer, verb, resource = user[len(USER_PREFIX) :], str(event["verb"]), _resource(event)
        if event["stage"] == "RequestReceived":
            key = (syncer, verb, resource)
            self._requests[key] = self._requests.get(key, 0) + 1
            if verb == "watch":
                self._open[event["auditID"]] = (syncer, resource)
        elif event["stage"] == "ResponseComplete":
            self._open.pop(event["auditID"], None)


def served_between(before: Snapshot, after: Snapshot) -> Counts:
    keys = set(before.requests) | set(after.requests)
    served = {k: after.requests.get(k, 0) - before.requests.get(k, 0) for k in keys}
    return {k: v for k, v in served.items() if v}


def by_verb(counts: Mapping[tuple[str, str, str], float], scale: float = 1.0) -> dict[str, float]:
    """Totals per verb (times ``scale``), rounded to two places."""
    totals: dict[str, float] = {}
    for (_, verb, _), value in counts.items():
        totals[verb] = totals.get(verb, 0.0) + value * scale
    return {verb: round(value, 2) for verb, value in sorted(totals.items())}


def by_request(
    counts: Mapping[tuple[str, str, str], float], scale: float = 1.0
) -> dict[str, float]:
    """``"verb resource"`` totals (times ``scale``), rounded to two places."""
    totals: dict[str, float] = {}
    for (_, verb, resource), value in counts.items():
        key = f"{verb} {resource}"
        totals[key] = totals.get(key, 0.0) + value * scale
    return {key: round(value, 2) for key, value in sorted(totals.items())}


def by_syncer(counts: Mapping[tuple[str, str, str], float]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for (syncer, _, _), value in counts.items():
        totals[syncer] = totals.get(syncer, 0.0) + value
    return totals


def writes(counts: Mapping[tuple[str, str, str], float]) -> int:
    return int(sum(value for (_, verb, _), value in counts.items() if verb in WRITE_VERBS))
