"""The RBAC rules a syncer needs, on each side, derived from what it is configured to sync.

The original gave the syncer ``*`` on ``*`` in the mailbox workspace and cluster-admin in the
edge cluster (reference §3.2, §5 item 12). syncer-gen here grants what the SyncerConfigs and
EdgeSyncConfigs present upstream when it runs (plus ``--upsync-resource`` flags) ask for, and
nothing else; every rule carries the reason it exists, which syncer-gen prints and stores on the
ClusterRole (annotation ``syncpipe.io/rule-reasons``).

**Upstream** (the mailbox workspace), in this order:

1. ``get`` on the discovery paths ``/api``, ``/api/*``, ``/apis``, ``/apis/*``: the syncer
   learns what is served and re-reads it to follow new CRDs. (Kubernetes grants this to every
   authenticated user through ``system:discovery``; kcp workspaces do not necessarily.)
2. ``get``/``list``/``watch`` on ``syncerconfigs`` and ``edgesyncconfigs``: every config is
   merged into the selection.
3. ``get``/``update``/``patch`` on ``syncerconfigs/status``: the heartbeat
   (``lastSyncerHeartbeatTime``) and the ``Ready`` condition. The configs themselves are never
   written.
4. ``get``/``list``/``watch`` on ``customresourcedefinitions``: always, because the syncer
   follows CRDs (a resource a config names may be served only later) and downsyncs CRDs that a
   config selects; and on ``apiservices``, whose availability changes what is served too.
5. ``get``/``list``/``watch`` on ``namespaces``: Namespace objects are downsynced along with
   their contents.
6. ``create`` on ``events``: an object that cannot be synced gets an Event saying why, where
   users look (``kubectl describe``). Events are never read, updated or deleted.
7. **Downsync read**: ``get``/``list``/``watch`` on each resource the configs select, one rule
   per API group; a ``"*"`` resource grants every resource of its group. A resource the
   configs select only in a few named namespaces (at most ``--max-namespaced-watches``, as
   ``syncpipe run`` takes it) is watched in each of them, and read (with rules 8) through a
   **Role in each namespace** instead: the mailbox's other namespaces, other edges' workloads,
   stay out of the token's reach. A namespace no config names any more loses its Role on the
   next run; one that does not exist yet cannot hold a Role, so its resources are read
   cluster-wide until syncer-gen runs again. Every other resource is watched cluster-wide,
   so these are cluster rules.
8. **Status return**: ``update``/``patch`` on ``<resource>/status`` of the downsynced
   resources, nothing else of theirs. A custom resource served *without* a status subresource
   has its ``.status`` written through the object itself, so for those (and only those)
   ``patch`` on the resource is granted.
9. **Upsync**: ``get``/``list``/``watch``/``create``/``update``/``patch``/``delete`` on the
   resources the upsync rules name, plus ``update``/``patch`` on their ``/status``; and
   ``create`` on ``namespaces``, because an upsynced object's namespace may not exist upstream
   yet (the syncer creates it bare and never adopts an existing one).

**Secrets** upstream are readable only when a config selects them for downsync (the core
group's ``secrets``, or ``"*"`` in the core group, which selects them too) and writable only
when an upsync rule names them. A token to the mailbox cannot read the mailbox's other
credentials otherwise.

**``--read-all``**: rules 7 and 8 come from the configs present when syncer-gen runs, so a
config added later that selects a new resource is refused (403) until syncer-gen is run again
(and its manifest re-applied). ``--read-all`` trades that for wider access: read on every
resource of every group except Secrets, and ``update``/``patch`` on every ``*/status``. RBAC has
no "all but" rules, so "every group" is the groups served now (``resources: ["*"]`` each, so a
new CRD in a known group is covered, one in a new group is not) and the core group's resources
listed one by one without ``secrets``.

**Downstream** (the edge cluster) the syncer creates, updates and deletes the downsynced copies
and reads what it upsyncs:

1. ``get`` on the discovery paths, as upstream.
2. every verb on ``namespaces``: a downsynced object's namespace is created when missing and a
   downsynced Namespace deleted when its upstream original is.
3. ``create`` on ``events``: upsync problems are reported on the downstream object.
   ``get``/``list``/``watch`` on ``customresourcedefinitions`` and ``apiservices``: the syncer
   follows what is served (a downsynced CRD is served only once established).
4. **Downsync write**: ``get``/``list``/``watch``/``create``/``update``/``patch``/``delete`` on
   each downsynced resource, one rule per group. Never ``/status``: copies are written without
   status, which the edge cluster's own controllers own.
5. **Renaturing**: every verb on the live (downstream) resource of each EdgeSyncConfig
   conversion, resolved by kind through upstream discovery.
6. **Upsync read**: ``get``/``list``/``watch`` on the upsynced resources.

Objects wrapped in ObjectCarriers (group ``carrier.syncpipe.io``) may be of any kind, which no
config names: syncer-gen warns when carriers are downsynced, and ``--downstream-admin`` is the
way to let the syncer write whatever they carry (carried RBAC objects need it anyway: creating
a ClusterRole takes every permission it grants).

``--downstream-admin`` grants every verb on every resource instead, as the original did: use it
when the configs will change after syncer-gen runs and re-applying the manifest is not an option.
With derived rules, a resource selected later is refused downstream until the manifest is
regenerated and re-applied, and copies of a resource that stops being selected can only be
cleaned up while the old rules are still in place. A namespace the syncer created only to hold
copies is deleted when it is empty, which the syncer checks by listing every resource in it;
where it may not list one, it counts the namespace as not empty and leaves it (safe, not tidy).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs

from syncpipe.config import configapi, names
from syncpipe.config.names import WILDCARD
from syncpipe.config.selection import Selection
from syncpipe.model.events import Direction
from syncpipe.model.resources import APISERVICE_GVR, ResourceInfo

READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete")
EVERY_VERB = (*READ, *WRITE)
STATUS_WRITE = ("update", "patch")
DISCOVERY_URLS = ("/api", "/api/*", "/apis", "/apis/*")

CONFIG_GROUP = configapi.GROUP
CARRIER_GROUP = "carrier.syncpipe.io"
CRD_GROUP = "apiextensions.k8s.io"
REASONS_ANNOTATION = "syncpipe.io/rule-reasons"


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen(order=True)
class GroupResource:
    """A resource of an API group, version-free as RBAC names it; ``resource`` may be ``"*"``."""

    group: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> GroupResource:
        """``apps/deployments``; the core group as ``/configmaps``, ``core/configmaps`` or
        ``configmaps``. Raises ``ValueError`` saying what is wrong."""
        group, sep, resource = text.rpartition("/")
        if not sep:
            group = ""
        if group == "core":
            group = ""
        problem = names.group_problem(group) or names.resource_problem(resource)
        if problem:
            raise ValueError(
                f"{text!r}: {problem} (expected GROUP/RESOURCE, e.g. apps/deployments)"
            )
        return cls(group, resource)

    def __str__(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource


NAMESPACES = GroupResource("", "namespaces")


@attrs.frozen(kw_only=True)
class Rule:
    """One PolicyRule and why it is granted."""

    reason: str
    verbs: tuple[str, ...] = attrs.field(converter=_strings)
    api_groups: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    resources: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    resource_names: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    non_resource_urls: tuple[str, ...] = attrs.field(default=(), converter=_strings)

    def to_dict(self) -> dict[str, Any]:
        """The PolicyRule as the API server stores it (empty fields left out)."""
        if self.non_resource_urls:
            return {"nonResourceURLs": list(self.non_resource_urls), "verbs": list(self.verbs)}
        rule: dict[str, Any] = {
            "apiGroups": list(self.api_groups),
            "resources": list(self.resources),
        }
        if self.resource_names:
            rule["resourceNames"] = list(self.resource_names)
        rule["verbs"] = list(self.verbs)
        return rule

    def __str__(self) -> str:
        if self.non_resource_urls:
            what = " ".join(self.non_resource_urls)
        else:
            groups = ",".join(g or '""' for g in self.api_groups)
            what = f"{groups}: {' '.join(self.resources)}"
            if self.resource_names:
                what += f" named {' '.join(self.resource_names)}"
        return f"{'/'.join(self.verbs)} on {what}"


def _frozen_needs(
    value: Mapping[GroupResource, Iterable[str]],
) -> Mapping[GroupResource, frozenset[str]]:
    return MappingProxyType({k: frozenset(v) for k, v in sorted(value.items())})


def _frozen_namespaces(
    value: Mapping[GroupResource, Iterable[str]],
) -> Mapping[GroupResource, tuple[str, ...]]:
    return MappingProxyType({k: tuple(sorted(v)) for k, v in sorted(value.items())})


@attrs.frozen(kw_only=True)
class SyncNeeds:
    """The resources the syncer downsyncs and upsyncs, each with the reasons (config refs)."""

    downsync: Mapping[GroupResource, frozenset[str]] = attrs.field(
        factory=dict, converter=_frozen_needs
    )
    upsync: Mapping[GroupResource, frozenset[str]] = attrs.field(
        factory=dict, converter=_frozen_needs
    )
    # Downstream identities of EdgeSyncConfig conversions: written downstream only.
    renatured: Mapping[GroupResource, frozenset[str]] = attrs.field(
        factory=dict, converter=_frozen_needs
    )
    # Entries that name a kind no served resource has (EdgeSyncConfig entries are by kind).
    unresolved: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    # Downsynced resources the syncer watches namespace by namespace (the selection names at
    # most ``max_namespaced_watches`` namespaces for them): read in these namespaces only.
    downsync_namespaces: Mapping[GroupResource, tuple[str, ...]] = attrs.field(
        factory=dict, converter=_frozen_namespaces
    )

    def namespaced_downsync(self, namespace: str) -> dict[GroupResource, frozenset[str]]:
        """The downsynced resources read in ``namespace`` only, with their reasons."""
        return {
            gr: self.downsync[gr]
            for gr, namespaces in self.downsync_namespaces.items()
            if namespace in namespaces
        }

    @property
    def cluster_downsync(self) -> dict[GroupResource, frozenset[str]]:
        """The downsynced resources read cluster-wide, with their reasons."""
        return {gr: why for gr, why in self.downsync.items() if gr not in self.downsync_namespaces}

    def read_cluster_wide_unless_in(self, existing: Iterable[str]) -> SyncNeeds:
        """These needs with every resource read cluster-wide whose namespaces do not all
        exist: a Role can only be made in an existing namespace, and creating namespaces in
        the mailbox is not syncer-gen's to do (the workload's owner does, later)."""
        present = set(existing)
        return attrs.evolve(
            self,
            downsync_namespaces={
                gr: nss for gr, nss in self.downsync_namespaces.items() if set(nss) <= present
            },
        )

    @property
    def scoped_namespaces(self) -> tuple[str, ...]:
        """Every namespace some downsynced resource is read in only."""
        return tuple(sorted({ns for nss in self.downsync_namespaces.values() for ns in nss}))

    @property
    def is_empty(self) -> bool:
        return not (self.downsync or self.upsync or self.renatured)

    @property
    def carries_objects(self) -> bool:
        """Whether ObjectCarriers are downsynced: their contents may be of any kind."""
        return any(gr.group == CARRIER_GROUP for gr in self.downsync)

    @property
    def reads_secrets(self) -> bool:
        """Whether downsync selects Secrets (by name, or by ``"*"`` in the core group)."""
        return any(gr.group == "" and gr.resource in ("secrets", WILDCARD) for gr in self.downsync)


def needs_of(
    selection: Selection,
    *,
    served: Sequence[ResourceInfo],
    extra_upsync: Iterable[GroupResource] = (),
    max_namespaced_watches: int = 0,
) -> SyncNeeds:
    """What ``selection`` asks the syncer to touch; kinds are resolved with ``served``.

    ``served`` is the upstream's discovery. Resources are taken from the rules as named, also
    when not served (yet): RBAC may name resources that do not exist, and a CRD installed
    later is then covered. Kinds (EdgeSyncConfig entries) can only be granted once discovery
    knows their resource; the others are reported in ``unresolved``.
    """
    by_kind: dict[tuple[str, str], str] = {}
    for info in served:
        by_kind.setdefault((info.gvr.group, info.kind), info.gvr.resource)
    found: dict[Direction, dict[GroupResource, set[str]]] = {Direction.DOWN: {}, Direction.UP: {}}
    unresolved: list[str] = []
    for direction in (Direction.DOWN, Direction.UP):
        for rule in selection.rules_for(direction):
            resource = rule.resource
            if rule.kind:
                resource = by_kind.get((rule.group, rule.kind), "")
                if not resource:
                    group = rule.group or "core"
                    unresolved.append(
                        f"{rule.reason}: kind {rule.kind} of group {group} is not served "
                        f"upstream, so no {direction.value}sync access was granted for it"
                    )
                    continue
            found[direction].setdefault(GroupResource(rule.group, resource), set()).add(rule.reason)
    for extra in extra_upsync:
        found[Direction.UP].setdefault(extra, set()).add("--upsync-resource")
    renatured: dict[GroupResource, set[str]] = {}
    for conversion in selection.conversions:
        live = conversion.conversion.downstream
        resource = by_kind.get((live.group, live.kind), "")
        if not resource:
            unresolved.append(
                f"{conversion.reason}: conversion to kind {live.kind} of group "
                f"{live.group or 'core'} cannot be resolved (not served upstream), so no "
                "downstream access was granted for it"
            )
            continue
        renatured.setdefault(GroupResource(live.group, resource), set()).add(conversion.reason)
    return SyncNeeds(
        downsync=found[Direction.DOWN],
        upsync=found[Direction.UP],
        renatured=renatured,
        unresolved=sorted(set(unresolved)),
        downsync_namespaces=_downsync_namespaces(
            selection, found[Direction.DOWN], by_kind, max_namespaced_watches
        ),
    )


def _downsync_namespaces(
    selection: Selection,
    downsync: Mapping[GroupResource, Iterable[str]],
    by_kind: Mapping[tuple[str, str], str],
    max_namespaced_watches: int,
) -> dict[GroupResource, tuple[str, ...]]:
    """The downsynced resources the syncer watches per namespace, as the runtime decides
    (``Selection.source_namespaces``): every rule that may select one of its objects names
    its namespace, and there are at most ``max_namespaced_watches`` of them. A ``"*"``
    resource collects the namespaces of every rule of its group."""
    if max_namespaced_watches <= 0:
        return {}
    rules = selection.rules_for(Direction.DOWN)
    scoped: dict[GroupResource, tuple[str, ...]] = {}
    for gr in downsync:
        if gr == NAMESPACES or gr.group == CRD_GROUP:
            continue  # watched cluster-wide for the syncer's own needs
        namespaces: set[str] = set()
        for rule in rules:
            if rule.group != gr.group:
                continue
            resource = rule.resource or by_kind.get((rule.group, rule.kind), "")
            if GroupResource(rule.group, resource) == NAMESPACES:
                continue  # Namespace objects have a rule of their own
            if resource != gr.resource and WILDCARD not in (resource, gr.resource):
                continue
            if rule.namespace in ("", WILDCARD):
                namespaces = set()
                break
            namespaces.add(rule.namespace)
        if namespaces and len(namespaces) <= max_namespaced_watches:
            scoped[gr] = tuple(sorted(namespaces))
    return scoped


def _by_group(
    needs: Mapping[GroupResource, frozenset[str]],
) -> list[tuple[str, tuple[str, ...], frozenset[str]]]:
    """``(group, resources, reasons)`` per group; a ``"*"`` resource stands for the group."""
    groups: dict[str, tuple[set[str], set[str]]] = {}
    for gr, reasons in needs.items():
        resources, why = groups.setdefault(gr.group, (set(), set()))
        resources.add(gr.resource)
        why.update(reasons)
    result = []
    for group in sorted(groups):
        resources, why = groups[group]
        chosen = (WILDCARD,) if WILDCARD in resources else tuple(sorted(resources))
        result.append((group, chosen, frozenset(why)))
    return result


def _except_namespaces(
    needs: Mapping[GroupResource, frozenset[str]],
) -> dict[GroupResource, frozenset[str]]:
    """``needs`` without Namespace objects, which a dedicated rule covers on each side."""
    return {gr: why for gr, why in needs.items() if gr != NAMESPACES}


def _because(what: str, reasons: Iterable[str]) -> str:
    return f"{what} ({', '.join(sorted(reasons))})"


def _events_rule(reason: str) -> Rule:
    return Rule(reason=reason, verbs=("create",), api_groups=("",), resources=("events",))


def _discovery_rule() -> Rule:
    return Rule(
        reason="discovery: which resources are served (re-read to follow new CRDs)",
        verbs=("get",),
        non_resource_urls=DISCOVERY_URLS,
    )


def _apiservices_rule() -> Rule:
    return Rule(
        reason="the syncer follows APIServices (aggregated APIs coming and going)",
        verbs=READ,
        api_groups=(APISERVICE_GVR.group,),
        resources=(APISERVICE_GVR.resource,),
    )


def _crds_rule(reason: str) -> Rule:
    return Rule(
        reason=reason,
        verbs=READ,
        api_groups=(CRD_GROUP,),
        resources=("customresourcedefinitions",),
    )


def upstream_rules(
    needs: SyncNeeds,
    *,
    served: Sequence[ResourceInfo],
    custom_resources: Iterable[GroupResource] = (),
    read_all: bool = False,
) -> tuple[Rule, ...]:
    """The ClusterRole rules for the syncer's token to the mailbox workspace (see module doc).

    ``served`` is the upstream's discovery; ``custom_resources`` are the resources served by
    CRDs there (only those can have a ``.status`` without a ``/status`` subresource).
    """
    rules = [
        _discovery_rule(),
        Rule(
            reason="configuration: every SyncerConfig and EdgeSyncConfig is merged",
            verbs=READ,
            api_groups=(CONFIG_GROUP,),
            resources=tuple(sorted(gvr.resource for gvr in configapi.CONFIG_GVRS)),
        ),
        Rule(
            reason="heartbeat and Ready condition on SyncerConfigs (status only)",
            verbs=("get", *STATUS_WRITE),
            api_groups=(CONFIG_GROUP,),
            resources=("syncerconfigs/status",),
        ),
        _crds_rule("the syncer follows CRDs (resources served later; CRDs selected for downsync)"),
        _apiservices_rule(),
        Rule(
            reason="Namespace objects are downsynced with their contents",
            verbs=READ,
            api_groups=("",),
            resources=("namespaces",),
        ),
        _events_rule("objects that cannot be synced are reported as Events on them"),
    ]
    if read_all:
        rules.extend(_read_all_rules(needs, served))
        rules.extend(_status_through_object_rules({}, served, custom_resources, read_all=True))
    else:
        rules.extend(_downsync_rules(needs.cluster_downsync, served, custom_resources))
    upsync = _by_group(needs.upsync)
    for group, resources, reasons in upsync:
        rules.append(
            Rule(
                reason=_because("upsync: create, update and delete copies", reasons),
                verbs=EVERY_VERB,
                api_groups=(group,),
                resources=resources,
            )
        )
        rules.append(
            Rule(
                reason=_because("upsync: status of the copies", reasons),
                verbs=STATUS_WRITE,
                api_groups=(group,),
                resources=tuple(f"{r}/status" for r in resources),
            )
        )
    if upsync:
        rules.append(
            Rule(
                reason="upsync: create an upsynced object's namespace when it does not exist",
                verbs=("create",),
                api_groups=("",),
                resources=("namespaces",),
            )
        )
    return tuple(rules)


def _downsync_rules(
    downsync: Mapping[GroupResource, frozenset[str]],
    served: Sequence[ResourceInfo],
    custom_resources: Iterable[GroupResource],
) -> list[Rule]:
    """Read the downsynced resources; write their ``.status`` (status return)."""
    rules = []
    for group, resources, reasons in _by_group(_except_namespaces(downsync)):
        rules.append(
            Rule(
                reason=_because("downsync: read", reasons),
                verbs=READ,
                api_groups=(group,),
                resources=resources,
            )
        )
    for group, resources, reasons in _by_group(downsync):
        rules.append(
            Rule(
                reason=_because("status return: write .status only", reasons),
                verbs=STATUS_WRITE,
                api_groups=(group,),
                resources=tuple(f"{r}/status" for r in resources),
            )
        )
    rules.extend(_status_through_object_rules(downsync, served, custom_resources, read_all=False))
    return rules


def upstream_namespace_rules(
    needs: SyncNeeds,
    *,
    served: Sequence[ResourceInfo],
    custom_resources: Iterable[GroupResource] = (),
    read_all: bool = False,
) -> dict[str, tuple[Rule, ...]]:
    """Per namespace, the Role rules for the downsynced resources read there only.

    The syncer lists and watches a resource in each named namespace when the selection names
    few (``syncpipe run --max-namespaced-watches``), so the token needs no cluster-wide read
    of it: the other edges' objects in the mailbox stay out of its reach. ``--read-all``
    grants everything cluster-wide instead.
    """
    if read_all:
        return {}
    custom = tuple(custom_resources)
    return {
        ns: tuple(_downsync_rules(needs.namespaced_downsync(ns), served, custom))
        for ns in needs.scoped_namespaces
    }


def _read_all_rules(needs: SyncNeeds, served: Sequence[ResourceInfo]) -> list[Rule]:
    core = {info.gvr.resource for info in served if info.gvr.group == ""}
    if not needs.reads_secrets:
        core.discard("secrets")
    other_groups = sorted({info.gvr.group for info in served if info.gvr.group})
    rules = [
        Rule(
            reason="--read-all: every core resource"
            + ("" if needs.reads_secrets else " except secrets"),
            verbs=READ,
            api_groups=("",),
            resources=sorted(core),
        )
    ]
    if other_groups:
        rules.append(
            Rule(
                reason="--read-all: every resource of every group served now",
                verbs=READ,
                api_groups=other_groups,
                resources=(WILDCARD,),
            )
        )
    rules.append(
        Rule(
            reason="--read-all: status return for any resource (write .status only)",
            verbs=STATUS_WRITE,
            api_groups=(WILDCARD,),
            resources=("*/status",),
        )
    )
    return rules


def _status_through_object_rules(
    downsync: Mapping[GroupResource, frozenset[str]],
    served: Sequence[ResourceInfo],
    custom_resources: Iterable[GroupResource],
    read_all: bool,
) -> list[Rule]:
    """``patch`` on custom resources whose ``.status`` has no subresource to go through."""
    custom = set(custom_resources)
    without_status = {
        GroupResource(info.gvr.group, info.gvr.resource)
        for info in served
        if not info.status_subresource
        and GroupResource(info.gvr.group, info.gvr.resource) in custom
    }
    chosen: dict[GroupResource, set[str]] = {}
    for gr in sorted(without_status):
        if read_all:
            chosen.setdefault(gr, set()).add("--read-all")
            continue
        for wanted in (gr, GroupResource(gr.group, WILDCARD)):
            if wanted in downsync:
                chosen.setdefault(gr, set()).update(downsync[wanted])
    return [
        Rule(
            reason=_because("status return: custom resources without a /status subresource", why),
            verbs=("patch",),
            api_groups=(group,),
            resources=resources,
        )
        for group, resources, why in _by_group({gr: frozenset(why) for gr, why in chosen.items()})
    ]


def downstream_rules(needs: SyncNeeds, *, admin: bool = False) -> tuple[Rule, ...]:
    """The ClusterRole rules for the syncer's ServiceAccount in the edge cluster."""
    if admin:
        return (
            Rule(
                reason="--downstream-admin: every verb on every resource",
                verbs=(WILDCARD,),
                api_groups=(WILDCARD,),
                resources=(WILDCARD,),
            ),
            Rule(
                reason="--downstream-admin: every non-resource URL (discovery, health)",
                verbs=("get",),
                non_resource_urls=(WILDCARD,),
            ),
        )
    rules = [
        _discovery_rule(),
        Rule(
            reason="namespaces of downsynced objects are created, downsynced Namespaces deleted",
            verbs=EVERY_VERB,
            api_groups=("",),
            resources=("namespaces",),
        ),
        _events_rule("upsync problems are reported as Events on the downstream objects"),
        _crds_rule("the syncer follows CRDs (resources served later)"),
        _apiservices_rule(),
    ]
    for group, resources, reasons in _by_group(_except_namespaces(needs.downsync)):
        rules.append(
            Rule(
                reason=_because("downsync: create, update and delete copies", reasons),
                verbs=EVERY_VERB,
                api_groups=(group,),
                resources=resources,
            )
        )
    for group, resources, reasons in _by_group(needs.renatured):
        rules.append(
            Rule(
                reason=_because("renaturing: create, update and delete live copies", reasons),
                verbs=EVERY_VERB,
                api_groups=(group,),
                resources=resources,
            )
        )
    for group, resources, reasons in _by_group(needs.upsync):
        rules.append(
            Rule(
                reason=_because("upsync: read the objects to upsync", reasons),
                verbs=READ,
                api_groups=(group,),
                resources=resources,
            )
        )
    return tuple(rules)


def rule_dicts(rules: Iterable[Rule]) -> list[dict[str, Any]]:
    """The rules as a ClusterRole's ``rules``."""
    return [rule.to_dict() for rule in rules]


def reasons_text(rules: Sequence[Rule]) -> str:
    """One line per rule, numbered as in ``rules``: the ``syncpipe.io/rule-reasons`` value."""
    return "".join(f"{i}. {rule.reason}\n" for i, rule in enumerate(rules, start=1))


def leader_election_rules(lease_name: str) -> tuple[Rule, ...]:
    """A namespaced Role's rules for the syncer's Lease (in the syncer's own namespace).

    ``create`` cannot be limited to a name (the object does not exist yet to be named), so it
    is granted for Leases in that one namespace; reading and renewing only for this Lease.
    """
    return (
        Rule(
            reason="leader election: create the Lease when it does not exist yet",
            verbs=("create",),
            api_groups=("coordination.k8s.io",),
            resources=("leases",),
        ),
        Rule(
            reason="leader election: read and renew the syncer's own Lease",
            verbs=("get", "update"),
            api_groups=("coordination.k8s.io",),
            resources=("leases",),
            resource_names=(lease_name,),
        ),
    )
