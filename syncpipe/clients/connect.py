"""Turn kubeconfig files, contexts or the in-cluster ServiceAccount into a client configuration.

Resolution follows kubectl: an explicit ``--kubeconfig`` file, else ``$KUBECONFIG`` (a
colon-separated list, merged), else ``~/.kube/config``; ``--context`` picks a context, else the
current one. When no kubeconfig can be found and the process runs in a pod, the in-cluster
ServiceAccount is used (that is how the syncer reaches its own edge cluster).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import attrs
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from syncpipe import errors

log = logging.getLogger(__name__)

# Watches hold a connection each for minutes; writers need their own. urllib3 discards (and
# warns about) connections beyond the pool size, so the pool is sized for many watches.
CONNECTION_POOL_SIZE = 64


@attrs.frozen(kw_only=True)
class ClusterAccess:
    """How to reach one side: a kubeconfig (or none), a context, and TLS policy."""

    kubeconfig: str | None = None
    context: str | None = None
    allow_in_cluster: bool = False
    insecure_skip_tls_verify: bool = False
    label: str = "cluster"


def _in_cluster_available() -> bool:
    return (
        bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
        and Path("/var/run/secrets/kubernetes.io/serviceaccount/token").exists()
    )


def _default_kubeconfig_exists() -> bool:
    env = os.environ.get("KUBECONFIG")
    if env:
        return any(Path(p).expanduser().exists() for p in env.split(os.pathsep) if p)
    return Path("~/.kube/config").expanduser().exists()


def load_configuration(access: ClusterAccess) -> k8s_client.Configuration:
    """A client ``Configuration`` for ``access``; raises ``ConfigError`` with a clear reason."""
    cfg = k8s_client.Configuration()
    named = f" {access.kubeconfig}" if access.kubeconfig else ""
    if access.kubeconfig and not Path(access.kubeconfig).expanduser().exists():
        raise errors.ConfigError([(access.label, f"kubeconfig{named} does not exist")])
    try:
        if access.kubeconfig or _default_kubeconfig_exists():
            k8s_config.load_kube_config(
                config_file=access.kubeconfig,
                context=access.context,
                client_configuration=cfg,
                persist_config=False,
            )
        elif access.allow_in_cluster and _in_cluster_available():
            k8s_config.load_incluster_config(client_configuration=cfg)
        else:
            raise errors.ConfigError(
                [(access.label, "no kubeconfig given, none found, and not running in a pod")]
            )
    except k8s_config.ConfigException as exc:
        raise errors.ConfigError([(access.label, f"cannot load kubeconfig{named}: {exc}")]) from exc
    except FileNotFoundError as exc:
        raise errors.ConfigError([(access.label, f"kubeconfig not found: {exc}")]) from exc
    if access.insecure_skip_tls_verify:
        log.warning(
            "TLS verification is OFF for the %s side: the server's identity is not checked",
            access.label,
        )
        cfg.verify_ssl = False
    cfg.connection_pool_maxsize = CONNECTION_POOL_SIZE
    return cfg
