"""The generic carrier: any object stored upstream, inert, inside an ``ObjectCarrier``.

A mailbox workspace must not hold some objects live (a ClusterRole would grant, a webhook
configuration would intercept, a CRD would serve). Wrapped as ``spec.object`` of an
``ObjectCarrier`` (namespaced) or ``ClusterObjectCarrier`` (group ``carrier.syncpipe.io``) they
are plain data there. Going down the carrier is unwrapped into the live object; status return
then writes the live object's ``.status`` into the carrier's ``.status`` (the carrier is the
upstream source object of the copy). A namespaced carried object without a namespace lives in
the carrier's namespace.

``wrap`` builds a carrier for a user or a tool; ``unwrap(wrap(x)) == x``.
"""

from __future__ import annotations

from typing import Any

from syncpipe.hooks import hookimpl
from syncpipe.hooks.context import SyncContext
from syncpipe.hooks.transforms import Phase, Transform
from syncpipe.model.objects import RawObject, meta, with_metadata

GROUP = "carrier.syncpipe.io"
API_VERSION = f"{GROUP}/v1alpha1"
NAMESPACED_KIND = "ObjectCarrier"
CLUSTER_KIND = "ClusterObjectCarrier"


def is_carrier(obj: RawObject) -> bool:
    return obj.get("apiVersion") == API_VERSION and obj.get("kind") in (
        NAMESPACED_KIND,
        CLUSTER_KIND,
    )


def wrap(obj: RawObject, *, name: str | None = None, namespace: str = "") -> RawObject:
    """A carrier holding ``obj`` (status left out: it flows back from downstream)."""
    inner = {k: v for k, v in obj.items() if k != "status"}
    carrier_meta: dict[str, Any] = {"name": name or str(meta(obj).get("name"))}
    if namespace:
        carrier_meta["namespace"] = namespace
    return {
        "apiVersion": API_VERSION,
        "kind": NAMESPACED_KIND if namespace else CLUSTER_KIND,
        "metadata": carrier_meta,
        "spec": {"object": inner},
    }


def unwrap(carrier: RawObject, _ctx: SyncContext | None = None) -> RawObject:
    """The carried object; a non-carrier passes through unchanged."""
    if not is_carrier(carrier):
        return carrier
    inner = (carrier.get("spec") or {}).get("object")
    if not isinstance(inner, dict):
        return carrier
    carrier_ns = meta(carrier).get("namespace")
    if carrier.get("kind") == NAMESPACED_KIND and carrier_ns and not meta(inner).get("namespace"):
        inner = with_metadata(inner, namespace=carrier_ns)
    return inner


@hookimpl
def syncpipe_register_transforms() -> list[Transform]:
    # Runs before renaturing by rules, so a carried object may itself be renamed by a rule.
    return [
        Transform(
            name="carrier",
            forward=unwrap,
            reverse=None,
            phase=Phase.STRIP,
            plugin="builtin.carrier",
        )
    ]
