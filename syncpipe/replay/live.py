"""``syncpipe plan``: what the syncer would do now, against live clusters, writing nothing.

Both sides are listed once — the collections ``syncpipe.replay.capture`` names, plus the
copies this syncer owns (by its ``syncpipe.io/owner`` label) of every other resource, which is
what the syncer's start-up janitor looks at to clean up copies of resources no longer
selected — and the lists become an in-memory snapshot with everything at ``t = 0``. The
replay engine then runs the pipeline on it; its writes go to the memory stores only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from syncpipe import errors
from syncpipe.clients.rest import RestClient
from syncpipe.model.events import Side
from syncpipe.model.objects import RawObject
from syncpipe.model.resources import ResourceInfo
from syncpipe.replay import capture, configs, redaction
from syncpipe.replay.snapshot import (
    SECRET_DATA_KEPT,
    SECRET_DATA_REDACTED,
    Header,
    Record,
    RecordedResource,
    RecordType,
    now_rfc3339,
)
from syncpipe.runtime.pipeline import owner_selector

# Resources never worth listing for owned copies: the syncer never writes them.
_NEVER_OWNED = frozenset({("", "events"), ("events.k8s.io", "events")})


def current_state(
    *,
    clients: Mapping[Side, RestClient],
    config_objects: Sequence[RawObject] | None,
    syncer_name: str,
    keep_secret_data: bool = False,
) -> tuple[Header, list[Record]]:
    """List both sides once: a snapshot header and its records, all at ``t = 0``."""
    redact = redaction.keep if keep_secret_data else redaction.Redactor().redact
    sides = {side: capture.describe_side(rest) for side, rest in clients.items()}
    served = {side: capture.served_of(info) for side, info in sides.items()}
    objects = config_objects
    if objects is None:
        objects = capture.configs_upstream(clients[Side.UPSTREAM], served[Side.UPSTREAM])
    wanted = capture.resources_to_capture(configs.selection_of(objects), served)
    selector = owner_selector(syncer_name)
    header_resources: list[RecordedResource] = []
    records: list[Record] = []

    def take(side: Side, info: ResourceInfo, label_selector: str = "") -> None:
        try:
            items, rv = clients[side].list(info.gvr, label_selector=label_selector)
        except (errors.ApiForbidden, errors.ApiNotFound):
            if label_selector:
                return  # not ours to read, or gone: the syncer's janitor skips it too
            raise
        header_resources.append(RecordedResource(side=side, info=info))
        records.extend(
            Record(t=0.0, side=side, type=RecordType.LIST, gvr=info.gvr, object=redact(item))
            for item in items
        )
        records.append(
            Record(t=0.0, side=side, type=RecordType.SYNCED, gvr=info.gvr, resource_version=rv)
        )

    for side, infos in wanted.items():
        taken = {(i.gvr.group, i.gvr.resource) for i in infos}
        for info in infos:
            take(side, info)
        for info in served[side].resources:
            group_resource = (info.gvr.group, info.gvr.resource)
            if group_resource in taken or group_resource in _NEVER_OWNED:
                continue
            if not (info.listable and info.watchable) or group_resource in capture.CONFIG_RESOURCES:
                continue
            if served[side].by_group_resource(*group_resource) != info:
                continue  # one version of each resource is enough
            taken.add(group_resource)
            take(side, info, selector)
    header = Header(
        recorded_at=now_rfc3339(),
        sides=sides,
        resources=header_resources,
        syncer_configs=list(config_objects or ()),
        secret_data=SECRET_DATA_KEPT if keep_secret_data else SECRET_DATA_REDACTED,
    )
    return header, records
