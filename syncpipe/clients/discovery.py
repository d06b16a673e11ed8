"""API discovery: which resources a server serves, with kind, scope, verbs and status subresource.

One failing group (an aggregated API whose backend is down answers 503) must not hide the
others, so failures are collected per group version and reported beside the result.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Collection, Iterable
from typing import Any

import attrs

from syncpipe import errors
from syncpipe.clients.rest import RestClient
from syncpipe.model.resources import GroupVersionResource, ResourceInfo

log = logging.getLogger(__name__)

# Group versions asked at once (the connection pool holds more than this).
DISCOVERY_CONCURRENCY = 8

# Where an API server says whether it is ready to serve (its post-start hooks included).
READINESS_PATH = "/readyz"
# How long a readiness probe may take: a server that does not answer at once is not ready.
READINESS_TIMEOUT = 5.0


@attrs.frozen(kw_only=True)
class DiscoveryResult:
    """Everything served, the preferred version of each group, and group versions that failed."""

    resources: tuple[ResourceInfo, ...]
    preferred_versions: dict[str, str] = attrs.field(hash=False)
    failed: tuple[tuple[str, str], ...] = ()

    def by_gvr(self) -> dict[GroupVersionResource, ResourceInfo]:
        return {info.gvr: info for info in self.resources}

    def find(self, group: str, resource: str, version: str = "") -> ResourceInfo | None:
        """The resource at ``version``, or at the group's preferred version when none is given."""
        want = version or self.preferred_versions.get(group, "")
        for info in self.resources:
            gvr = info.gvr
            if gvr.group == group and gvr.resource == resource and gvr.version == want:
                return info
        return None

    def find_kind(self, group: str, kind: str, version: str = "") -> ResourceInfo | None:
        want = version or self.preferred_versions.get(group, "")
        for info in self.resources:
            if info.gvr.group == group and info.kind == kind and info.gvr.version == want:
                return info
        return None


def _group_versions(rest: RestClient) -> tuple[list[tuple[str, str]], dict[str, str]]:
    pairs: list[tuple[str, str]] = []
    preferred: dict[str, str] = {}
    core = rest.discovery("/api")
    for version in core.get("versions") or ():
        pairs.append(("", version))
    preferred[""] = "v1"
    groups = rest.discovery("/apis")
    for group in groups.get("groups") or ():
        name = group["name"]
        for version in group.get("versions") or ():
            pairs.append((name, version["version"]))
        pref = (group.get("preferredVersion") or {}).get("version")
        if pref:
            preferred[name] = pref
    return pairs, preferred


def _resources_of(
    group: str, version: str, resource_list: Iterable[dict[str, object]]
) -> list[ResourceInfo]:
    entries = list(resource_list)
    names = {str(e.get("name")) for e in entries}
    infos = []
    for entry in entries:
        name = str(entry.get("name"))
        if "/" in name:  # a subresource (deployments/status, deployments/scale): never synced
            continue
        raw_verbs = entry.get("verbs")
        verbs = [str(v) for v in raw_verbs] if isinstance(raw_verbs, list) else []
        raw_short = entry.get("shortNames")
        short_names = [str(s) for s in raw_short] if isinstance(raw_short, list) else []
        infos.append(
            ResourceInfo(
                gvr=GroupVersionResource(group, version, name),
                kind=str(entry.get("kind")),
                namespaced=bool(entry.get("namespaced")),
                status_subresource=f"{name}/status" in names,
                verbs=frozenset(verbs),
                short_names=frozenset(short_names),
            )
        )
    return infos


def server_ready(rest: RestClient) -> bool | None:
    """Whether ``rest``'s server says it is ready (``GET /readyz``); ``None`` when it does not
    say (the probe is forbidden, unauthorised or not served there).

    A kube-apiserver serves requests seconds before it is ready, and meanwhile its discovery
    is incomplete without a single error: ``/apis`` lists only the groups whose APIService
    registration already ran (measured on a restarted 1.20 server: 19 resources in 2 groups,
    ``apps`` missing, for 3 to 7 s). Such an answer must not replace a complete one.
    """
    try:
        rest.raw("GET", READINESS_PATH, timeout=READINESS_TIMEOUT)
    except (errors.ApiUnauthorized, errors.ApiForbidden, errors.ApiNotFound):
        return None
    except errors.ApiError:
        return False
    return True


def discover(rest: RestClient, *, groups: Collection[str] | None = None) -> DiscoveryResult:
    """Ask ``rest``'s server what it serves: in every group, or only in ``groups``.

    The group list (``/api``, ``/apis``: two requests) is always read whole, so the preferred
    version of every group is known; the resources are asked for (one request per group
    version) only in ``groups`` when it is given (``""`` is the core group).
    """
    pairs, preferred = _group_versions(rest)
    if groups is not None:
        pairs = [(group, version) for group, version in pairs if group in groups]
    resources: list[ResourceInfo] = []
    failed: list[tuple[str, str]] = []

    def fetch(pair: tuple[str, str]) -> Any:
        group, version = pair
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        try:
            return rest.discovery(path)
        except errors.ApiError as exc:
            log.warning("discovery of %s failed: %s", path, exc)
            return exc

    # One request per group version (dozens on a real cluster, each waiting for the server):
    # asked concurrently, this is what a syncer's start waits for.
    with concurrent.futures.ThreadPoolExecutor(
        max_workers=DISCOVERY_CONCURRENCY, thread_name_prefix="discovery"
    ) as pool:
        answers = list(pool.map(fetch, pairs))
    for (group, version), answer in zip(pairs, answers, strict=True):
        if isinstance(answer, errors.ApiError):
            failed.append((f"{group}/{version}" if group else version, str(answer)))
            continue
        resources.extend(_resources_of(group, version, answer.get("resources") or ()))
    return DiscoveryResult(
        resources=tuple(resources), preferred_versions=preferred, failed=tuple(failed)
    )
