"""Which work an event makes: the decisions the live syncer and the replay engine share.

Every source or target event used to queue a reconcile (and every target event a status
check). Most of those find nothing to do: the watch echo of a status write, a controller
bumping ``.status`` on a copy, a server-side ``managedFields`` update. The cache tells these
apart when it applies a change (``Event.content_changed`` and ``Event.status_changed``, from
comparing the compact forms of the two versions), so the handlers decide for free.

Level-triggered correctness is kept: events without that knowledge (adds, relists, resyncs,
deletes) always queue the reconcile, so a periodic resync still re-checks every copy.
"""

from __future__ import annotations

from collections.abc import Iterable

from syncpipe.config.mergedselection import Selection
from syncpipe.model.events import Direction, Event, EventType
from syncpipe.model.resources import ResourceInfo

# Resources whose ``.status`` is each API server's own bookkeeping about serving them, not a
# report from the edge: a downstream CRD's conditions, accepted names and stored versions
# describe the downstream server. Written upstream they would overwrite what the upstream's
# controllers keep there (a denatured CRD's accepted names differ outright), which makes the
# upstream server stop serving the resource or tear down its storage and every watch on it,
# and the upstream controllers write theirs back: a fight. The original returns them; syncpipe
# does not.
SERVER_OWNED_STATUS = frozenset(
    {"customresourcedefinitions.apiextensions.k8s.io", "apiservices.apiregistration.k8s.io"}
)


def needs_reconcile(direction: Direction, event: Event) -> bool:
    """Whether a source event, or an event on an owned copy, can change what ``direction``
    has to write (True for events that do not say what changed).

    Downsync never carries ``.status`` (status flows the other way): a source whose only
    change is its status — typically the echo of status return's own write — or a copy whose
    status its controllers updated needs no look. Upsync carries status, and an upsynced
    copy's status is written by the syncer, so there a status change counts.
    """
    if event.type is not EventType.MODIFIED or event.content_changed is None:
        return True
    if event.content_changed:
        return True
    return direction is Direction.UP and event.status_changed is not False


def target_needs_status_return(event: Event) -> bool:
    """Whether a downstream copy's event may have a status to return upstream.

    A copy without ``.status`` (a ConfigMap, a just-created Deployment) has none to return:
    status return never wipes the upstream status for lack of one.
    """
    if event.type is EventType.DELETED or event.obj is None:
        return False
    if event.type is EventType.MODIFIED and event.status_changed is not None:
        return event.status_changed
    return "status" in event.obj


def copies_return_status(direction: Direction, info: ResourceInfo, *, enabled: bool) -> bool:
    """Whether events of copies of ``info`` (the target resource of ``direction``) may queue
    status return: downsynced copies, with status return on, of a resource whose status is
    not its server's own."""
    return (
        enabled
        and direction is Direction.DOWN
        and info.gvr.group_resource not in SERVER_OWNED_STATUS
    )


# The syncer's own needs read every object of these from their source watches (a CRD event
# triggers rediscovery), so a config's label selector never narrows what their server sends.
UNFILTERED_SOURCES = frozenset({"customresourcedefinitions.apiextensions.k8s.io"})


def source_label_selector(selection: Selection, direction: Direction, info: ResourceInfo) -> str:
    """The ``labelSelector`` of the source watch of ``info`` for ``direction`` (``""``: all).

    The API server filters where the configs' entries for the resource agree on one label
    selector (``Selection.source_label_selector``); an object that stops matching leaves the
    watch as a deletion, which deletes its copy like any deselected object's.
    """
    if info.gvr.group_resource in UNFILTERED_SOURCES:
        return ""
    return selection.source_label_selector(direction, info)


def source_namespaces(
    selection: Selection, direction: Direction, info: ResourceInfo, *, max_namespaced_watches: int
) -> tuple[str, ...]:
    """The namespaces to list and watch ``info`` in one by one (``()``: cluster-wide).

    Only for downsync, whose source is the mailbox that every edge's syncer shares: there a
    cluster-wide watch of a resource sends each syncer every edge's objects. The edge's own
    cluster (upsync's source) is watched cluster-wide. Above ``max_namespaced_watches``
    namespaces (0: never) one cluster-wide watch costs the server less than many.
    """
    if direction is not Direction.DOWN or info.gvr.group_resource in UNFILTERED_SOURCES:
        return ()
    if not info.watchable:
        return ()  # polled: one list of the collection per interval
    namespaces = selection.source_namespaces(direction, info)
    if not namespaces or len(namespaces) > max_namespaced_watches:
        return ()
    return namespaces


def upstream_namespace_scope(
    selection: Selection,
    namespace_info: ResourceInfo,
    copied: Iterable[str],
    *,
    max_namespaced_watches: int,
) -> frozenset[str] | None:
    """The upstream Namespaces to watch by name (``None``: all of them, one watch).

    The syncer needs to know about the namespaces the selection names for downsync (objects
    in them, or their Namespace objects) and the upstream Namespaces of the Namespace copies
    it owns (``copied``, from their locators, consumed only without a wildcard: a copy whose
    namespace was deselected is deleted once its upstream Namespace is gone, which the
    syncer must still see). With a namespace wildcard, or more than
    ``max_namespaced_watches`` names (0: never), one cluster-wide watch, as for the
    resources (``source_namespaces``). An empty set: nothing to watch.
    """
    named = selection.named_namespaces(Direction.DOWN, namespace_info)
    if named is None:
        return None
    wanted = frozenset(named).union(copied)
    if len(wanted) > max_namespaced_watches:
        return None
    return wanted
