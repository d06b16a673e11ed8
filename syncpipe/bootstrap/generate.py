"""One syncer-gen run: upstream identity and RBAC, then the edge cluster's manifest.

In order: the configuration CRDs (installed when missing, so the syncer's first watch
succeeds); the current SyncerConfigs and EdgeSyncConfigs and upstream discovery, which decide
the RBAC rules on both sides; the identity (found again, or new); the upstream ServiceAccount,
ClusterRole, ClusterRoleBinding and token; the manifest. Every step is reported through
``report`` as it happens, in the original's words where it had some (reference §3.2).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import attrs

from syncpipe import errors
from syncpipe.bootstrap import manifest, rbac, upstream
from syncpipe.bootstrap.identity import SyncerIdentity
from syncpipe.bootstrap.kubeconfig import UpstreamEndpoint, render_kubeconfig
from syncpipe.bootstrap.upstream import Outcome
from syncpipe.clients import discovery
from syncpipe.clients.rest import RestClient
from syncpipe.config import configapi, syncerconfig
from syncpipe.config.selection import Selection
from syncpipe.config.settings import DEFAULT_MAX_NAMESPACED_WATCHES
from syncpipe.model.objects import meta, name_of

log = logging.getLogger(__name__)

CONFIG_RESOURCES = configapi.CONFIG_GVRS


def _resources(values: tuple[rbac.GroupResource, ...]) -> tuple[rbac.GroupResource, ...]:
    return tuple(sorted(set(values)))


@attrs.frozen(kw_only=True)
class Options:
    """What the user asked for (the CLI's flags, validated)."""

    name: str
    image: str
    upstream_namespace: str = "default"
    downstream_namespace: str = ""
    upstream_server: str = ""  # overrides the kubeconfig's server URL in the manifest
    namespace_mapping: str = ""
    # Passed to ``syncpipe run``; the rules are derived from the configs it picks only.
    syncer_config_selector: str = ""
    upsync_resources: tuple[rbac.GroupResource, ...] = attrs.field(default=(), converter=_resources)
    read_all: bool = False
    downstream_admin: bool = False
    replicas: int = 1
    leader_election: bool = False
    # As `syncpipe run --max-namespaced-watches`: resources selected in at most this many
    # named namespaces are read there only (a Role per namespace), not cluster-wide.
    max_namespaced_watches: int = DEFAULT_MAX_NAMESPACED_WATCHES
    timeout: float = 60.0  # for the token controller and CRD establishment


@attrs.frozen(kw_only=True)
class Result:
    """What the run made: the identity, both sides' rules, and the manifest text."""

    identity: SyncerIdentity
    upstream_rules: tuple[rbac.Rule, ...]
    upstream_namespace_rules: Mapping[str, tuple[rbac.Rule, ...]]
    downstream_rules: tuple[rbac.Rule, ...]
    manifest: str
    namespace: str


def endpoint_of(rest: RestClient, server_override: str = "") -> UpstreamEndpoint:
    """The server URL (path kept) and CA the caller's kubeconfig uses, for the syncer's own.

    The client library keeps an inline CA (``certificate-authority-data``) in a temporary file
    too, so reading ``ssl_ca_cert`` covers both forms.
    """
    config = rest.configuration
    ca_pem: bytes | None = None
    ca_file = getattr(config, "ssl_ca_cert", None)
    if ca_file:
        try:
            ca_pem = Path(str(ca_file)).read_bytes()
        except OSError as exc:
            raise errors.ConfigError([("--kubeconfig", f"cannot read the CA: {exc}")]) from exc
    return UpstreamEndpoint(
        server=server_override or str(config.host),
        ca_pem=ca_pem,
        insecure_skip_tls_verify=not bool(getattr(config, "verify_ssl", True)),
    )


def current_selection(
    rest: RestClient, report: Callable[[str], None], *, label_selector: str = ""
) -> Selection:
    """The merged selection of every config upstream now (those ``label_selector`` picks);
    malformed ones are skipped, loudly."""
    parsed: list[syncerconfig.AnyConfig] = []
    for gvr in CONFIG_RESOURCES:
        try:
            items, _ = rest.list(gvr, label_selector=label_selector)
        except errors.ApiNotFound:
            continue  # EdgeSyncConfig is optional
        for item in items:
            try:
                parsed.append(syncerconfig.parse_config(item, source=f"{item.get('kind')}"))
            except errors.ConfigError as exc:
                report(f"Warning: ignoring {item.get('kind')} {name_of(item)!r}: {exc}")
    return Selection.from_configs(parsed)


def _say(report: Callable[[str], None], outcome: Outcome, what: str, extra: str = "") -> None:
    verb = {
        Outcome.CREATED: "Created",
        Outcome.UPDATED: "Updated",
        Outcome.UNCHANGED: "Unchanged:",
    }[outcome]
    report(f"{verb} {what}{extra}")


def _identity(rest: RestClient, options: Options, report: Callable[[str], None]) -> SyncerIdentity:
    found = upstream.find_identities(rest, options.upstream_namespace, options.name)
    if not found:
        return SyncerIdentity.new(options.name)
    if len(found) > 1:
        others = ", ".join(i.id for i in found[1:])
        report(
            f"Warning: several identities exist for {options.name!r}; keeping the oldest, "
            f"{found[0].id}. Delete the others upstream when unused: {others}"
        )
    return found[0]


def generate(
    rest: RestClient, options: Options, *, report: Callable[[str], None] = log.info
) -> Result:
    """Do the upstream part and return the edge manifest (see the module docstring)."""
    endpoint = endpoint_of(rest, options.upstream_server)

    for name, outcome in upstream.ensure_crds(rest, timeout=options.timeout):
        _say(report, outcome, f'CRD "{name}"')
    outcome = upstream.ensure_default_edge_sync_config(rest, options.name)
    _say(report, outcome, f'EdgeSyncConfig "{options.name}" (empty: selects nothing)')
    selection = current_selection(rest, report, label_selector=options.syncer_config_selector)
    served = discovery.discover(rest).resources
    needs = rbac.needs_of(
        selection,
        served=served,
        extra_upsync=options.upsync_resources,
        max_namespaced_watches=options.max_namespaced_watches,
    )
    existing = upstream.existing_namespaces(rest, needs.scoped_namespaces)
    missing = sorted(set(needs.scoped_namespaces) - set(existing))
    if missing:
        report(
            f"Note: namespace(s) {', '.join(missing)} do not exist upstream yet, so the "
            "resources selected there are readable cluster-wide; run syncer-gen again once "
            "they exist to narrow that to a Role in each"
        )
        needs = needs.read_cluster_wide_unless_in(existing)
    for problem in needs.unresolved:
        report(f"Warning: {problem}")
    if needs.is_empty and not options.read_all:
        report(
            "Warning: no SyncerConfig or EdgeSyncConfig upstream selects anything yet, so the "
            "syncer is granted no access to workload resources. Create the configs and run "
            "syncer-gen again (the identity is kept), or use --read-all."
        )
    if needs.carries_objects and not options.downstream_admin:
        report(
            "Warning: ObjectCarriers are downsynced; the objects they carry may be of kinds no "
            "config names, which the derived downstream rules do not cover. Use "
            "--downstream-admin if they carry other kinds."
        )
    custom = upstream.custom_resources(rest)
    up_rules = rbac.upstream_rules(
        needs, served=served, custom_resources=custom, read_all=options.read_all
    )
    namespace_rules = rbac.upstream_namespace_rules(
        needs, served=served, custom_resources=custom, read_all=options.read_all
    )
    down_rules = rbac.downstream_rules(needs, admin=options.downstream_admin)

    identity = _identity(rest, options, report)
    ns = options.upstream_namespace
    if upstream.ensure_namespace(rest, ns) is Outcome.CREATED:
        report(f'Created namespace "{ns}"')
    outcome, account = upstream.ensure_service_account(rest, identity, ns)
    _say(report, outcome, f'service account "{ns}/{identity.id}"')
    outcome = upstream.ensure_cluster_role(rest, identity, up_rules)
    _say(report, outcome, f'cluster role "{identity.id}"', _rules_listing(up_rules))
    outcome = upstream.ensure_cluster_role_binding(rest, identity, ns)
    _say(
        report,
        outcome,
        f'cluster role binding "{identity.id}" (service account "{ns}/{identity.id}" '
        f'→ cluster role "{identity.id}")',
    )
    for role_ns, rules in namespace_rules.items():
        outcome = upstream.ensure_cluster_role(rest, identity, rules, namespace=role_ns)
        _say(report, outcome, f'role "{role_ns}/{identity.id}"', _rules_listing(rules))
        outcome = upstream.ensure_cluster_role_binding(rest, identity, ns, role_namespace=role_ns)
        _say(report, outcome, f'role binding "{role_ns}/{identity.id}"')
    for stale in upstream.remove_stale_roles(rest, identity, keep=tuple(namespace_rules)):
        report(f'Deleted: role and role binding "{stale}/{identity.id}" (no longer selected)')
    outcome, token = upstream.ensure_token(
        rest,
        identity,
        ns,
        service_account_uid=str(meta(account).get("uid", "")),
        timeout=options.timeout,
    )
    _say(report, outcome, f'token secret "{ns}/{upstream.token_secret_name(identity)}"')

    kubeconfig = render_kubeconfig(endpoint, user=identity.id, token=token, namespace=ns)
    spec = manifest.EdgeManifest(
        identity=identity,
        image=options.image,
        upstream_kubeconfig=kubeconfig,
        rules=down_rules,
        namespace=options.downstream_namespace,
        replicas=options.replicas,
        leader_election=options.leader_election,
        namespace_mapping=options.namespace_mapping,
        max_namespaced_watches=options.max_namespaced_watches,
        syncer_config_selector=options.syncer_config_selector,
    )
    return Result(
        identity=identity,
        upstream_rules=up_rules,
        upstream_namespace_rules=namespace_rules,
        downstream_rules=down_rules,
        manifest=manifest.render(spec),
        namespace=spec.target_namespace,
    )


def _rules_listing(rules: tuple[rbac.Rule, ...]) -> str:
    lines = "".join(f"\n  {i}. {rule}\n     why: {rule.reason}" for i, rule in enumerate(rules, 1))
    return f" with these rules:{lines}"
