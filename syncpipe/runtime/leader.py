"""Leader election on a ``coordination.k8s.io/v1`` Lease, so two replicas never write at once.

The Lease lives on the downstream side (the cluster the syncer runs in). A candidate takes the
Lease when it is free or when its holder has not renewed it for ``lease_duration`` — measured
on the candidate's own monotonic clock from the moment it last saw the Lease *change*, so clock
skew between machines does not matter (client-go's rule). The leader renews every
``retry_period``; when it cannot renew within ``renew_deadline`` it must stop writing: ``run``
returns and the process exits, to be restarted as a candidate. Updates carry the Lease's
resourceVersion, so two candidates racing for a free Lease cannot both win.
"""

from __future__ import annotations

import datetime
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from syncpipe import errors
from syncpipe.clients.rest import RestClient
from syncpipe.model.resources import GroupVersionResource

log = logging.getLogger(__name__)

LEASES = GroupVersionResource("coordination.k8s.io", "v1", "leases")
# client-go's defaults: a dead leader is replaced within ~15 s, a live one renews every 2 s
# and gives up after 10 s without a successful renewal.
LEASE_DURATION = 15.0
RENEW_DEADLINE = 10.0
RETRY_PERIOD = 2.0


def _micro_time() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_identity() -> str:
    return f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"


class LeaderElector:
    """Campaigns for one Lease; ``wait_until_leader`` blocks until this process holds it."""

    def __init__(
        self,
        rest: RestClient,
        *,
        namespace: str,
        name: str,
        identity: str | None = None,
        lease_duration: float = LEASE_DURATION,
        renew_deadline: float = RENEW_DEADLINE,
        retry_period: float = RETRY_PERIOD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rest = rest
        self.namespace = namespace
        self.name = name
        self.identity = identity or default_identity()
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self._clock = clock
        self._observed: dict[str, Any] = {}
        self._observed_at = 0.0
        self._stop = threading.Event()
        self.is_leader = threading.Event()
        self.lost = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def wait_until_leader(self) -> bool:
        """Try until the Lease is ours (True) or ``stop()`` was called (False)."""
        while not self._stop.is_set():
            if self._try_acquire_or_renew():
                self.is_leader.set()
                log.info(
                    "leader election: %s now holds lease %s/%s",
                    self.identity,
                    self.namespace,
                    self.name,
                )
                return True
            self._stop.wait(self.retry_period)
        return False

    def keep_renewing(self) -> None:
        """Renew until ``stop()``; sets ``lost`` when the renew deadline passes without success."""
        last_renewal = self._clock()
        while not self._stop.wait(self.retry_period):
            if self._try_acquire_or_renew():
                last_renewal = self._clock()
                continue
            if self._clock() - last_renewal > self.renew_deadline:
                log.error("leader election: lost lease %s/%s", self.namespace, self.name)
                self.is_leader.clear()
                self.lost.set()
                return

    def release(self) -> None:
        """Give the Lease up on a clean shutdown so a successor need not wait for it to expire."""
        if not self.is_leader.is_set():
            return
        try:
            lease = self.rest.get(LEASES, self.namespace, self.name)
            if (lease.get("spec") or {}).get("holderIdentity") == self.identity:
                lease["spec"] = {**lease["spec"], "holderIdentity": None, "leaseDurationSeconds": 1}
                self.rest.replace(LEASES, self.namespace, self.name, lease)
        except errors.ApiError as exc:
            log.info("leader election: could not release the lease: %s", exc)
        self.is_leader.clear()

    def _spec(self, acquire_time: str | None) -> dict[str, Any]:
        now = _micro_time()
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": int(self.lease_duration),
            "acquireTime": acquire_time or now,
            "renewTime": now,
        }

    def _try_acquire_or_renew(self) -> bool:
        try:
            lease = self.rest.get_or_none(LEASES, self.namespace, self.name)
            if lease is None:
                body = {
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace},
                    "spec": self._spec(None),
                }
                self.rest.create(LEASES, self.namespace, body)
                return True
            spec = lease.get("spec") or {}
            if spec != self._observed:
                self._observed = spec
                self._observed_at = self._clock()
            holder = spec.get("holderIdentity")
            if holder and holder != self.identity:
                duration = float(spec.get("leaseDurationSeconds") or self.lease_duration)
                if self._clock() - self._observed_at < duration:
                    return False  # held, and renewed recently as far as we can tell
            acquire = spec.get("acquireTime") if holder == self.identity else None
            lease["spec"] = self._spec(acquire)
            self.rest.replace(LEASES, self.namespace, self.name, lease)  # carries resourceVersion
            self._observed = lease["spec"]
            self._observed_at = self._clock()
            return True
        except (errors.ApiConflict, errors.ApiAlreadyExists):
            return False  # someone else wrote first
        except errors.ApiError as exc:
            log.warning("leader election: %s", exc)
            return False
