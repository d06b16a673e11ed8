"""The kubeconfig the syncer uses to reach the mailbox workspace (stored in the edge cluster).

The server URL is kept exactly as given, path included: a kcp workspace is addressed as
``https://host:6443/clusters/root:ws`` and the original cut that path off (reference §3.2
step 9, §5 item 12), which pointed the syncer at the wrong workspace. The CA is embedded as
``certificate-authority-data`` whether the caller's kubeconfig had it inline or in a file (the
original required it inline); when there is none, the system's trust store applies, as for any
publicly signed server.
"""

from __future__ import annotations

import base64
from typing import Any

import attrs
import yaml

CLUSTER = "upstream"
CONTEXT = "upstream"


@attrs.frozen(kw_only=True)
class UpstreamEndpoint:
    """Where and how the syncer reaches the mailbox: URL (path kept) and trust."""

    server: str = attrs.field()
    ca_pem: bytes | None = None
    insecure_skip_tls_verify: bool = False

    @server.validator
    def _check_server(self, _attribute: object, value: str) -> None:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"server URL {value!r} must start with https:// (or http://)")


def kubeconfig_dict(
    endpoint: UpstreamEndpoint, *, user: str, token: str, namespace: str
) -> dict[str, Any]:
    """A one-cluster, one-user kubeconfig for ``token``; ``namespace`` is the context's."""
    cluster: dict[str, Any] = {"server": endpoint.server}
    if endpoint.ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(endpoint.ca_pem).decode("ascii")
    if endpoint.insecure_skip_tls_verify:
        cluster["insecure-skip-tls-verify"] = True
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CLUSTER, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {
                "name": CONTEXT,
                "context": {"cluster": CLUSTER, "user": user, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT,
    }


def render_kubeconfig(endpoint: UpstreamEndpoint, *, user: str, token: str, namespace: str) -> str:
    """The kubeconfig as YAML text (deterministic: same inputs, same bytes)."""
    config = kubeconfig_dict(endpoint, user=user, token=token, namespace=namespace)
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
