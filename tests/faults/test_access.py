"""Access faults: an upstream the syncer cannot reach or is not let into, RBAC revoked mid-run,
credentials and Secret data kept out of logs and Events, TLS verification.
"""

from __future__ import annotations

import base64
import secrets
import time

from syncpipe import errors
from syncpipe.runtime.syncer import SYNCER_CONFIGS
from syncpipe.testing import wait_for
from tests.faults import helpers as h
from tests.faults.proxy import TcpProxy

OBSERVE_SECONDS = 20.0  # how long a syncer with broken access is watched before it is fixed
MAX_ATTEMPTS = 15  # attempts logged within OBSERVE_SECONDS: more is a hot loop
MIN_ATTEMPTS = 3  # fewer means it gave up (or never said so)
CONVERGE_TIMEOUT = 90.0


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _legacy_token(up, ns: str, name: str) -> tuple[str, str]:
    """A ServiceAccount token Secret (filled by the token controller) of a cluster-admin SA.

    Returns (secret name, token). The API server checks such a token against the Secret's
    current ``data.token``, so editing the Secret turns the token's 401s on and off.
    """
    up.create(
        h.SERVICE_ACCOUNTS,
        ns,
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
    )
    secret_name = f"{name}-token"
    up.create(
        h.SECRETS,
        ns,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": {
                "name": secret_name,
                "annotations": {"kubernetes.io/service-account.name": name},
            },
        },
    )
    secret = wait_for(
        lambda: (s := up.get(h.SECRETS, ns, secret_name)).get("data", {}).get("token") and s,
        timeout=30,
        message="the token controller did not fill the token Secret",
    )
    up.create(
        h.CLUSTER_ROLE_BINDINGS,
        "",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{ns}-{name}"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}],
        },
    )
    return secret_name, base64.b64decode(secret["data"]["token"]).decode()


def _status_with_token(plane, token: str) -> int:
    try:
        return plane.api(token=token).request("GET", "/api").status
    except Exception:  # noqa: BLE001 - an unreachable server is "not yet" here
        return 0


# -- 4. upstream unreachable at start -------------------------------------------------------------

CASES = {
    # case: (namespace prefix downstream, words the error lines must contain)
    "closed-port": ("p-", ("cannot reach",)),
    "wrong-ca": ("t-", ("certificate",)),
    "bad-token": ("a-", ("401", "Unauthorized")),
}


def test_upstream_unreachable_at_start_is_reported_retried_with_backoff_and_recovers(
    planes, up, down, unique_name, tmp_path, syncer_procs, recovery
):
    """Three syncers start against an upstream they cannot use: nothing listens on the port, the
    server's certificate is not signed by the kubeconfig's CA, the token is rejected (401).
    Each logs what is wrong (naming the upstream side), retries with capped backoff, stays not
    ready, and leaves the copies an earlier healthy run made alone; once the access is fixed
    (a listener on the port, the right server behind the proxy, the token valid again), each
    converges without a restart. The three run at once, each with its own syncer name and
    namespace prefix downstream (several edge clusters of one mailbox)."""
    ns = unique_name
    up.create(h.NS, "", h.namespace(ns))
    h.create_many(up, h.CM, [h.configmap(ns, f"cm-{i}", {"i": str(i)}) for i in range(5)])
    up.create(SYNCER_CONFIGS, "", h.syncer_config(ns, [ns], [h.resource_entry("", "configmaps")]))
    admin = {
        "upstream_kubeconfig": planes.upstream.admin_kubeconfig,
        "downstream_kubeconfig": planes.downstream.admin_kubeconfig,
    }
    name = {case: f"{case}-{ns}" for case in CASES}
    down_ns = {case: f"{prefix}{ns}" for case, (prefix, _) in CASES.items()}

    def problems(case: str) -> list[str]:
        return h.configmap_problems(up, down, name[case], ns, down_ns=down_ns[case])

    # An earlier healthy run of each syncer made the copies.
    healthy = [
        syncer_procs.start(
            name[case], **admin, extra=["--namespace-mapping", f"prefix:{CASES[case][0]}"]
        )
        for case in CASES
    ]
    for case in CASES:
        h.wait_converged(lambda case=case: problems(case), timeout=60)
    for proc in healthy:
        assert proc.stop() == 0
    copies = {case: h.uids(h.owned(down, h.CM, down_ns[case], name[case])) for case in CASES}

    # Broken access.
    upstream_address = ("127.0.0.1", planes.upstream.apiserver_port)
    closed_port = h.free_port()
    wrong_server = TcpProxy(("127.0.0.1", planes.downstream.apiserver_port)).start()
    port_listener: TcpProxy | None = None
    auth_ns = f"{ns}-auth"
    up.create(h.NS, "", h.namespace(auth_ns))
    secret_name, token = _legacy_token(up, auth_ns, "syncer")
    good = up.get(h.SECRETS, auth_ns, secret_name)["data"]["token"]
    up.merge_patch(h.SECRETS, auth_ns, secret_name, {"data": {"token": _b64("revoked")}})
    wait_for(lambda: _status_with_token(planes.upstream, token) == 401, timeout=30)
    kubeconfig = {
        "closed-port": h.write_kubeconfig(
            tmp_path / "closed-port.kubeconfig",
            server=f"https://127.0.0.1:{closed_port}",
            ca_pem=planes.upstream.ca_pem,
            token=planes.upstream.admin_token,
        ),
        "wrong-ca": h.write_kubeconfig(
            tmp_path / "wrong-ca.kubeconfig",
            server=wrong_server.url,  # the downstream's server, its certificate from another CA
            ca_pem=planes.upstream.ca_pem,
            token=planes.upstream.admin_token,
        ),
        "bad-token": h.write_kubeconfig(
            tmp_path / "bad-token.kubeconfig",
            server=planes.upstream.server,
            ca_pem=planes.upstream.ca_pem,
            token=token,
        ),
    }
    health = {case: h.free_port() for case in CASES}
    procs = {
        case: syncer_procs.start(
            name[case],
            upstream_kubeconfig=kubeconfig[case],
            downstream_kubeconfig=planes.downstream.admin_kubeconfig,
            extra=[
                "--namespace-mapping",
                f"prefix:{CASES[case][0]}",
                "--health-address",
                f"127.0.0.1:{health[case]}",
            ],
        )
        for case in CASES
    }
    try:
        up.create(h.CM, ns, h.configmap(ns, "late", {"made": "while unreachable"}))
        for case in CASES:
            wait_for(
                lambda case=case: h.http_status(f"http://127.0.0.1:{health[case]}/healthz") == 200,
                timeout=30,
                message=f"{case}: the health server did not come up",
            )
        failures: list[str] = []
        deadline = min(p.started for p in procs.values()) + OBSERVE_SECONDS
        while time.monotonic() < deadline:
            for case in CASES:
                status = h.http_status(f"http://127.0.0.1:{health[case]}/readyz")
                if status != 503:
                    failures.append(f"{case}: /readyz answered {status} while unreachable")
            time.sleep(1.0)
        for case, (_, words) in CASES.items():
            proc = procs[case]
            assert proc.alive(), f"{case}: the syncer exited: {proc.log()[-2000:]}"
            lines = proc.log().splitlines()
            attempts = [ln for ln in lines if "control loop" in ln and any(w in ln for w in words)]
            if not MIN_ATTEMPTS <= len(attempts) <= MAX_ATTEMPTS:
                failures.append(
                    f"{case}: {len(attempts)} logged attempts in {OBSERVE_SECONDS:.0f}s "
                    f"(expected {MIN_ATTEMPTS}..{MAX_ATTEMPTS}): {lines[-5:]}"
                )
            problem_lines = [ln for ln in lines if any(w in ln for w in words)]
            if not problem_lines:
                failures.append(f"{case}: no log line names the problem {words}: {lines[-5:]}")
            elif not any("upstream" in ln.lower() for ln in problem_lines):
                failures.append(f"{case}: the error lines do not name the side: {problem_lines[0]}")
            if h.uids(h.owned(down, h.CM, down_ns[case], name[case])) != copies[case]:
                failures.append(f"{case}: copies of the healthy run were deleted or replaced")

        # Fix the access, each in its own way; the syncers are not restarted.
        healed_at: dict[str, float] = {}
        port_listener = TcpProxy(upstream_address, port=closed_port).start()
        healed_at["closed-port"] = time.monotonic()
        wrong_server.retarget(upstream_address)
        healed_at["wrong-ca"] = time.monotonic()
        up.merge_patch(h.SECRETS, auth_ns, secret_name, {"data": {"token": good}})
        healed_at["bad-token"] = time.monotonic()
        converged_at: dict[str, float] = {}
        deadline = time.monotonic() + CONVERGE_TIMEOUT
        while len(converged_at) < len(CASES) and time.monotonic() < deadline:
            for case in CASES:
                if case not in converged_at and not problems(case):
                    converged_at[case] = time.monotonic()
            time.sleep(0.25)
        assert set(converged_at) == set(CASES), (
            f"not converged: {[(c, problems(c)[:3]) for c in CASES if c not in converged_at]}"
        )
        for case in CASES:
            recovery.record(
                f"upstream unusable at start: {case} (fixed → converged)",
                converged_at[case] - healed_at[case],
                unusable_s=round(healed_at[case] - procs[case].started, 1),
            )
            wait_for(
                lambda case=case: h.http_status(f"http://127.0.0.1:{health[case]}/readyz") == 200,
                timeout=30,
                message=f"{case}: not ready after the access was fixed",
            )
            after = h.uids(h.owned(down, h.CM, down_ns[case], name[case]))
            assert {n: after.get(n) for n in copies[case]} == copies[case]
        assert not failures, "\n".join(failures)
    finally:
        wrong_server.stop()
        if port_listener is not None:
            port_listener.stop()


# -- 9. RBAC revoked mid-run ----------------------------------------------------------------------

BASE_RULES = [
    {"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*"], "verbs": ["get"]},
    {
        "apiGroups": ["edge.kubestellar.io"],
        "resources": ["syncerconfigs", "edgesyncconfigs"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": ["edge.kubestellar.io"],
        "resources": ["syncerconfigs/status"],
        "verbs": ["get", "update", "patch"],
    },
    {
        "apiGroups": ["apiextensions.k8s.io"],
        "resources": ["customresourcedefinitions"],
        "verbs": ["get", "list", "watch"],
    },
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch", "update"]},
]
DATA_RULES = [
    {
        "apiGroups": [""],
        "resources": ["configmaps", "namespaces"],
        "verbs": ["get", "list", "watch"],
    },
]
RBAC_CONFIGMAPS = 100
REVOKED_SECONDS = 30.0


def _cluster_role(name: str, rules: list) -> dict:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": rules,
    }


def _binding(name: str, ns: str, sa: str) -> dict:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}],
    }


def test_rbac_revoked_mid_run_deletes_nothing_reports_and_restoring_causes_no_churn(
    planes, up, down, unique_name, tmp_path, recovery
):
    """A syncer with a least-privilege upstream identity loses its read access to the
    ConfigMaps (binding deleted; its watches are cut so it must ask again): for 30 s it deletes
    nothing downstream and says so (Ready condition or readiness); the binding restored, it
    catches up (a ConfigMap made meanwhile arrives) and rewrites nothing else."""
    ns = name = unique_name
    up.create(h.NS, "", h.namespace(ns))
    names = [f"cm-{i:03d}" for i in range(RBAC_CONFIGMAPS)]
    h.create_many(up, h.CM, [h.configmap(ns, n, {"i": n}) for n in names])
    up.create(SYNCER_CONFIGS, "", h.syncer_config(name, [ns], [h.resource_entry("", "configmaps")]))
    token = planes.upstream.service_account_token(f"{ns}-id", "syncer")
    base, data = f"{ns}-base", f"{ns}-data"
    up.create(h.CLUSTER_ROLES, "", _cluster_role(base, BASE_RULES))
    up.create(h.CLUSTER_ROLES, "", _cluster_role(data, DATA_RULES))
    up.create(h.CLUSTER_ROLE_BINDINGS, "", _binding(base, f"{ns}-id", "syncer"))
    up.create(h.CLUSTER_ROLE_BINDINGS, "", _binding(data, f"{ns}-id", "syncer"))
    proxy = TcpProxy(("127.0.0.1", planes.upstream.apiserver_port)).start()
    try:
        kubeconfig = h.write_kubeconfig(
            tmp_path / "restricted.kubeconfig",
            server=proxy.url,
            ca_pem=planes.upstream.ca_pem,
            token=token,
        )
        syncer = h.make_syncer(
            planes.upstream, planes.downstream, name, upstream_kubeconfig=kubeconfig
        )
        with h.running(syncer):
            h.wait_converged(lambda: h.configmap_problems(up, down, name, ns), timeout=60)
            wait_for(syncer.ready.is_set, timeout=30)
            wait_for(
                lambda: (h.ready_condition(up, name) or {}).get("status") == "True", timeout=30
            )
            before = h.owned(down, h.CM, ns, name)
            informer = h.upstream_informer(syncer, "configmaps")

            up.delete(h.CLUSTER_ROLE_BINDINGS, "", data)
            wait_for(
                lambda: _forbidden(planes.upstream, token, ns),
                timeout=30,
                message="the binding's removal did not take effect",
            )
            proxy.reset()  # open watches end (as at their timeout): the syncer must ask again
            revoked_at = time.monotonic()
            up.create(h.CM, ns, h.configmap(ns, "made-while-revoked", {"v": "1"}))
            deletes = syncer.downstream.requests_by_verb.get("delete", 0)
            reported: list[str] = []
            while time.monotonic() - revoked_at < REVOKED_SECONDS:
                current = h.owned(down, h.CM, ns, name)
                assert h.uids(current) == h.uids(before), "copies deleted while access was revoked"
                assert syncer.downstream.requests_by_verb.get("delete", 0) == deletes
                condition = h.ready_condition(up, name) or {}
                if (
                    condition.get("status") == "False"
                    and "forbidden" in str(condition.get("message", "")).lower()
                ):
                    reported.append(f"condition: {condition.get('message')}")
                if not syncer.ready.is_set():
                    reported.append("readiness: not ready")
                time.sleep(1.0)
            last_error = informer.reflector.last_error if informer is not None else None
            writes_before_restore = h.writes(syncer)

            up.create(h.CLUSTER_ROLE_BINDINGS, "", _binding(data, f"{ns}-id", "syncer"))
            wait_for(lambda: not _forbidden(planes.upstream, token, ns), timeout=30)
            restored_at = time.monotonic()
            converged_at = h.wait_converged(
                lambda: h.configmap_problems(up, down, name, ns), timeout=CONVERGE_TIMEOUT
            )
            recovery.record(
                "RBAC restored → caught up",
                converged_at - restored_at,
                objects=RBAC_CONFIGMAPS,
                revoked_s=round(restored_at - revoked_at, 1),
            )
            time.sleep(3.0)  # anything a relist would rewrite has been written by now
            writes_after = h.writes(syncer) - writes_before_restore
            after = h.owned(down, h.CM, ns, name)
    finally:
        proxy.stop()
    assert isinstance(last_error, errors.ApiForbidden), f"watch error was {last_error!r}"
    assert writes_after == 1, f"{writes_after} writes after the restore (expected 1 create)"
    assert h.versions({n: after[n] for n in before}) == h.versions(before), "copies rewritten"
    assert reported, (
        "neither the SyncerConfig's Ready condition nor readiness reported the revoked access "
        f"during {REVOKED_SECONDS:.0f}s (last condition: {h.ready_condition(up, name)})"
    )


def _forbidden(plane, token: str, ns: str) -> bool:
    status = plane.api(token=token).request("GET", f"/api/v1/namespaces/{ns}/configmaps").status
    return status == 403


# -- 10. secrets never logged -------------------------------------------------------------------


def test_tokens_and_secret_data_never_appear_in_logs_events_or_conditions(
    planes, up, down, unique_name, syncer_procs
):
    """``syncpipe run -vvv`` syncs a Secret (created, then changed), one more Secret is refused
    downstream (quota), and a namesake conflict is reported: neither side's token nor any
    Secret value (plain or base64) appears in the process output, in any Event of either
    cluster, or in the SyncerConfig's status. (The downstream Secret itself holds the value,
    of course.)"""
    ns = name = unique_name
    other = f"{ns}-b"
    values = [f"s3cr3t-{secrets.token_hex(8)}" for _ in range(3)]

    def secret(sname: str, value: str) -> dict:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": sname},
            "type": "Opaque",
            "data": {"password": _b64(value)},
        }

    for n in (ns, other):
        up.create(h.NS, "", h.namespace(n))
        down.create(h.NS, "", h.namespace(n))
    up.create(h.SECRETS, ns, secret("app", values[0]))
    # Downstream: a quota that will leave no room for one more Secret in ``ns`` (quota
    # admission answers before the existence check, so the namesake lives in ``other``) ...
    wait_for(
        lambda: any(
            s.get("type") == "kubernetes.io/service-account-token"
            for s in h.by_name(down, h.SECRETS, ns).values()
        ),
        timeout=30,
        message="no default token Secret downstream",
    )
    used = len(h.by_name(down, h.SECRETS, ns))
    down.create(
        h.QUOTAS,
        ns,
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "secrets"},
            "spec": {"hard": {"count/secrets": str(used + 1)}},
        },
    )
    wait_for(lambda: down.get(h.QUOTAS, ns, "secrets").get("status", {}).get("used"), timeout=30)
    # ... and a namesake Secret that the syncer did not make.
    up.create(h.SECRETS, other, secret("conflict", values[1]))
    down.create(h.SECRETS, other, secret("conflict", "not-ours"))
    up.create(
        SYNCER_CONFIGS,
        "",
        h.syncer_config(
            name,
            [ns, other],
            [h.resource_entry("", "secrets"), h.resource_entry("", "configmaps")],
        ),
    )
    proc = syncer_procs.start(
        name,
        upstream_kubeconfig=planes.upstream.admin_kubeconfig,
        downstream_kubeconfig=planes.downstream.admin_kubeconfig,
        extra=["-vvv"],
    )
    wait_for(lambda: h.owned(down, h.SECRETS, ns, name).get("app"), timeout=60)
    up.create(h.SECRETS, ns, secret("over-quota", values[2]))
    changed = f"s3cr3t-{secrets.token_hex(8)}"
    values.append(changed)
    up.merge_patch(h.SECRETS, ns, "app", {"data": {"password": _b64(changed)}})
    wait_for(
        lambda: h.owned(down, h.SECRETS, ns, name)["app"]["data"]["password"] == _b64(changed),
        timeout=30,
    )
    wait_for(lambda: h.events_in(up, ns, "SyncDenied"), timeout=60, message="no quota Event")
    wait_for(
        lambda: h.events_in(up, other, "SyncConflict"), timeout=60, message="no conflict Event"
    )
    time.sleep(2.0)  # a heartbeat or two with the problems in the condition
    assert proc.stop() == 0
    texts = {"syncer output": proc.log()}
    for side, rest in (("upstream", up), ("downstream", down)):
        events, _ = rest.list(h.EVENTS)
        texts[f"{side} events"] = "\n".join(str(e) for e in events)
    texts["SyncerConfig status"] = str(up.get(SYNCER_CONFIGS, "", name).get("status"))
    assert "exceeded quota" in texts["upstream events"]  # the problems were reported ...
    needles = {
        "upstream token": planes.upstream.admin_token,
        "downstream token": planes.downstream.admin_token,
    }
    for i, value in enumerate(values):
        needles[f"secret value {i}"] = value
        needles[f"secret value {i} (base64)"] = _b64(value)
    leaks = [
        f"{needle} in {where}"
        for where, text in texts.items()
        for needle, secret_text in needles.items()
        if secret_text in text
    ]
    assert not leaks, leaks  # ... without what must stay secret
    assert len(texts["syncer output"].splitlines()) > 50, "-vvv should have said a lot"


# -- 11. TLS -----------------------------------------------------------------------------------


def test_tls_is_verified_by_default_and_skipping_it_is_loud(
    planes, up, down, unique_name, tmp_path, syncer_procs
):
    """A kubeconfig whose CA did not sign the server's certificate: refused by default; with
    ``--insecure-skip-tls-verify`` the syncer works but warns loudly for each side."""
    ns = name = unique_name
    up.create(h.NS, "", h.namespace(ns))
    up.create(h.CM, ns, h.configmap(ns, "a", {"v": "1"}))
    up.create(SYNCER_CONFIGS, "", h.syncer_config(name, [ns], [h.resource_entry("", "configmaps")]))
    wrong_ca = h.write_kubeconfig(
        tmp_path / "wrong-ca.kubeconfig",
        server=planes.upstream.server,
        ca_pem=planes.downstream.ca_pem,
        token=planes.upstream.admin_token,
    )
    verified = syncer_procs.start(
        f"{name}-v",
        upstream_kubeconfig=wrong_ca,
        downstream_kubeconfig=planes.downstream.admin_kubeconfig,
    )
    insecure = syncer_procs.start(
        name,
        upstream_kubeconfig=wrong_ca,
        downstream_kubeconfig=planes.downstream.admin_kubeconfig,
        extra=["--insecure-skip-tls-verify"],
    )
    h.wait_converged(lambda: h.configmap_problems(up, down, name, ns), timeout=60)
    wait_for(lambda: "certificate verify failed" in verified.log(), timeout=30)
    assert not h.owned(down, h.CM, ns, f"{name}-v")
    warnings = [
        ln
        for ln in insecure.log().splitlines()
        if ("WARNING" in ln or "ERROR" in ln) and "TLS verification is OFF" in ln
    ]
    assert any("upstream" in ln for ln in warnings), insecure.log()[-3000:]
    assert any("downstream" in ln for ln in warnings), insecure.log()[-3000:]
    assert "TLS verification is OFF" not in verified.log()
